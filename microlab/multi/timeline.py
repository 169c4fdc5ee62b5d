"""Tracks over time: where each track has a box, who gave it, and where its identity switches.

A track timeline is the multi-object view a CVAT user knows: one row per track, a bar where it
has a box.  Identity switches are flagged two ways:

* **suspected** (no truth needed): a frame where a track's box lies on another track's box of
  the frame before better than on its own (two objects that crossed and traded identities), or
  jumps farther than ``jump`` times its own size from one frame to the next;
* **measured** (with the truth): a frame where the true object a track covers (IoU >= 0.5)
  differs from the one it covered last.

>>> timeline = track_timeline(project.store.labels().values(), project.n_frames)
>>> timeline.suspected_switches          # [(frame, track, reason), ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from microlab.boxes import Detections, box_iou


@dataclass
class TrackTimeline:
    """Per track: its frames, the frames a person gave its box, and its flagged switches.

    Attributes:
        n_frames: clip length.
        frames: ``{track: sorted frames with a box}``.
        human: ``{track: frames where a person drew or checked its box}``.
        classes: ``{track: class id of its first box}``.
        suspected_switches: ``(frame, track, reason)`` found without the truth.
        measured_switches: ``(frame, track, from true id, to true id)``, with the truth.
    """

    n_frames: int
    frames: dict[int, list[int]] = field(default_factory=dict)
    human: dict[int, list[int]] = field(default_factory=dict)
    classes: dict[int, int] = field(default_factory=dict)
    suspected_switches: list[tuple[int, int, str]] = field(default_factory=list)
    measured_switches: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def tracks(self) -> list[int]:
        """Track ids, in order of first appearance."""
        return sorted(self.frames, key=lambda t: (self.frames[t][0], t))

    def coverage(self, track: int) -> float:
        """Share of the frames from the track's first to its last box that have its box."""
        seen = self.frames[track]
        return len(seen) / (seen[-1] - seen[0] + 1)


def _centre_size(xyxy: np.ndarray) -> tuple[np.ndarray, float]:
    return (xyxy[:2] + xyxy[2:]) / 2, float(np.sqrt(max((xyxy[2] - xyxy[0]) *
                                                        (xyxy[3] - xyxy[1]), 1.0)))


def track_timeline(per_frame: Sequence[Detections], *, human_frames: Iterable[int] = (),
                   truth: Sequence[Detections] | None = None, jump: float = 1.5,
                   iou: float = 0.5) -> TrackTimeline:
    """The timeline of every track in ``per_frame`` (one :class:`Detections` per frame, with
    ``track_ids``; boxes without a track are left out).

    Args:
        per_frame: every frame's boxes, in frame order.
        human_frames: frames a person labelled (their boxes are marked as human).
        truth: every frame's true boxes with true ids in ``track_ids`` (a MOT clip's), to
            measure switches.
        jump: a box moving more than this many times its size between consecutive frames is a
            suspected switch.
        iou: overlap for "lies on" (suspected) and "covers" (measured).
    """
    human = {int(f) for f in human_frames}
    out = TrackTimeline(len(per_frame))
    last_box: dict[int, tuple[int, np.ndarray]] = {}
    last_true: dict[int, int] = {}
    previous: Detections | None = None
    for f, det in enumerate(per_frame):
        for j, t in enumerate(det.track_ids):
            t = int(t)
            if t < 0:
                continue
            box = np.asarray(det.xyxy[j], float)
            out.frames.setdefault(t, []).append(f)
            out.classes.setdefault(t, int(det.class_ids[j]))
            if f in human:
                out.human.setdefault(t, []).append(f)
            if t in last_box and last_box[t][0] == f - 1 and previous is not None:
                own = last_box[t][1]
                own_iou = float(box_iou(box[None], own[None])[0, 0])
                others = previous.track_ids != t
                swapped = False
                if others.any():
                    overlap = box_iou(box[None], previous.xyxy[others])[0]
                    best = int(np.argmax(overlap))
                    if overlap[best] >= iou and overlap[best] > own_iou:
                        other = int(previous.track_ids[others][best])
                        out.suspected_switches.append(
                            (f, t, f"lies on track {other}'s box of frame {f - 1}"))
                        swapped = True
                (c0, s0), (c1, _) = _centre_size(own), _centre_size(box)
                if not swapped and float(np.linalg.norm(c1 - c0)) > jump * s0:
                    out.suspected_switches.append(
                        (f, t, f"jumps {float(np.linalg.norm(c1 - c0)) / s0:.1f}x its size"))
            last_box[t] = (f, box)
            if truth is not None and len(truth[f]):
                overlap = box_iou(box[None], truth[f].xyxy)[0]
                k = int(np.argmax(overlap))
                if overlap[k] >= iou:
                    true_id = int(truth[f].track_ids[k])
                    if t in last_true and last_true[t] != true_id:
                        out.measured_switches.append((f, t, last_true[t], true_id))
                    last_true[t] = true_id
        previous = det
    for frames in (*out.frames.values(), *out.human.values()):
        frames.sort()
    return out


__all__ = ["TrackTimeline", "track_timeline"]
