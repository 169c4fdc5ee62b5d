"""Constants and comparisons shared by the label import/export tests."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from microlab.interop import LabelSet, labels_from_project
from microlab.project import Project

REAL_SEQUENCE = "uav123_group2_2"  # 289 frames of 1280x720, object absent in frames 170-174
DEMO_FRAMES, DEMO_SIZE = 40, (128, 96)  # the demo target is out of view in frames 6-12, 24-30
FORMATS = ("coco", "yolo", "voc", "cvat_video", "mot", "labelstudio", "otb")
#: Every built-in format, in registration order: the above plus those that hold tracks only
#: (no "absent" for a frame without objects: tests/interop/test_labelstudio_video.py).
REGISTERED = ("coco", "yolo", "voc", "cvat_video", "mot", "labelstudio", "labelstudio_video",
              "otb")
#: The name under which each format is exported (a file or a folder).
OUT_NAMES = {"coco": "labels.json", "yolo": "yolo", "voc": "voc", "cvat_video": "annotations.xml",
             "mot": "mot", "labelstudio": "tasks.json", "otb": "groundtruth.txt"}


class Row(NamedTuple):
    """One box of a LabelSet with its class name, for readable assertions."""

    xyxy: tuple[float, float, float, float]
    label: str | None
    source: str
    score: float | None
    is_machine: bool


def rows(labels: LabelSet, frame: int) -> list[Row]:
    """The boxes of ``frame`` as :class:`Row` tuples, in the label set's order."""
    det = labels.frames[frame]
    human = det.human_mask()
    return [
        Row(tuple(float(v) for v in xyxy), labels.class_name(c), s.value,
            None if math.isnan(score) else float(score), not h)
        for xyxy, c, s, score, h in zip(det.xyxy, det.class_ids, det.sources, det.scores, human)
    ]


def assert_same_labels(got: LabelSet, want: LabelSet, *, tolerance: float = 0.5,
                       classes: bool = True) -> None:
    """Same labelled frames, same absent frames, same boxes (as sets, within ``tolerance`` px)."""
    assert sorted(got.frames) == sorted(want.frames), "labelled frames differ"
    assert got.absent_frames == want.absent_frames, "absent frames differ"
    for frame in want.frames:
        mine = sorted(rows(got, frame), key=lambda b: b.xyxy)
        theirs = sorted(rows(want, frame), key=lambda b: b.xyxy)
        assert len(mine) == len(theirs), f"frame {frame}: {len(mine)} boxes, want {len(theirs)}"
        for a, b in zip(mine, theirs):
            err = np.abs(np.subtract(a.xyxy, b.xyxy)).max()
            assert err <= tolerance, f"frame {frame}: {a.xyxy} vs {b.xyxy} ({err:.3f} px off)"
            if classes:
                assert a.label == b.label, f"frame {frame}: class {a.label!r}, want {b.label!r}"


def human_labels(project: Project) -> LabelSet:
    return labels_from_project(project, verified_only=True)
