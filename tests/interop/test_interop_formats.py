"""Round trips of every label format: export -> import -> the same labels.

Per format, what survives is the table in each module's docstring; ``KEEPS`` below is that
table in code, so a format that starts dropping something fails here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.errors import FormatError
from microlab.interop import (
    ClipInfo,
    LabelSet,
    get_format,
    label_box,
    labels_from_project,
    load_labels,
    save_labels,
)
from microlab.interop.labels import link_tracks
from microlab.project import Project, import_into

from .helpers import FORMATS, OUT_NAMES, assert_same_labels, human_labels, rows

#: What each format carries besides boxes and absent frames.
KEEPS = {
    #            classes, unlabelled frames, several boxes, human vs machine, exact source, score
    "coco":        (True, True, True, True, True, True),
    "yolo":        (True, True, True, False, False, False),
    "voc":         (True, True, True, True, True, True),
    "cvat_video":  (True, True, True, True, True, True),
    "mot":         (True, True, True, True, False, True),
    "labelstudio": (True, True, True, True, False, True),
    "otb":         (False, False, False, False, False, False),
}
SPARSE_FORMATS = [f for f in FORMATS if KEEPS[f][1]]


def round_trip(project: Project, fmt: str, tmp_path: Path,
               **export_options) -> tuple[Project, LabelSet]:
    """Export ``project`` as ``fmt`` and import the result into a new project."""
    out = project.export(fmt, tmp_path / OUT_NAMES[fmt], **export_options)
    frames = project.frames.path
    new, summary = import_into(tmp_path / "copy.mlab", frames, fmt, out)
    assert summary.frames == len(human_labels(new).frames)
    return new, human_labels(new)


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("fmt", FORMATS)
def test_real_sequence_round_trips(real_project: Project, fmt: str, tmp_path: Path) -> None:
    want = human_labels(real_project)
    assert len(want.frames) == 289
    assert want.absent_frames == [170, 171, 172, 173, 174]
    new, got = round_trip(real_project, fmt, tmp_path)
    with new:
        assert_same_labels(got, want, classes=KEEPS[fmt][0])
        assert new.action_totals()["actions"] == 0, "imported labels cost no human action"


@pytest.mark.parametrize("fmt", FORMATS)
def test_demo_clip_round_trips(demo_project: Project, fmt: str, tmp_path: Path) -> None:
    want = human_labels(demo_project)
    assert len(want.absent_frames) == 14
    new, got = round_trip(demo_project, fmt, tmp_path)
    with new:
        assert_same_labels(got, want, classes=KEEPS[fmt][0])


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_sparse_labels_two_classes_round_trip(mixed_project: Project, fmt: str,
                                              tmp_path: Path) -> None:
    """Unlabelled frames stay unlabelled, absent frames absent, both classes and box counts kept."""
    want = human_labels(mixed_project)
    assert want.absent_frames == [6, 9, 12, 24, 27, 30]
    assert len(want.frames[3]) == 2
    new, got = round_trip(mixed_project, fmt, tmp_path)
    with new:
        assert new.classes == ["object", "distractor"]
        assert_same_labels(got, want)
        assert new.store.iteration == 0
        assert not any(new.store.machine_boxes(f) for f in range(40))


def test_otb_keeps_one_box_per_frame_and_says_so(mixed_project: Project, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"one box per frame.*\[3\]"):
        out = mixed_project.export("otb", tmp_path / "gt.txt")
    assert len(out.read_text().splitlines()) == 40


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_machine_labels_above_threshold(mixed_project: Project, fmt: str, tmp_path: Path) -> None:
    """``verified_only=False`` adds confident machine boxes; formats keep source and score as they
    can."""
    _, _, _, kind, source, score = KEEPS[fmt]
    out = mixed_project.export(fmt, tmp_path / OUT_NAMES[fmt], verified_only=False, min_score=0.5)
    want = labels_from_project(mixed_project, verified_only=False, min_score=0.5)
    machine_frames = [4, 13, 16, 19, 22, 31, 34, 37]
    machine = [f for f in sorted(want.frames) if rows(want, f) and rows(want, f)[0].is_machine]
    assert machine == machine_frames
    assert all(b.score >= 0.5 for f in machine_frames for b in rows(want, f))
    got = load_labels(fmt, out, ClipInfo.from_frames(mixed_project.frames))
    assert_same_labels(got, want)
    for frame in want.frames:
        pairs = zip(sorted(rows(got, frame), key=lambda b: b.xyxy),
                    sorted(rows(want, frame), key=lambda b: b.xyxy))
        for mine, theirs in pairs:
            if kind:
                assert mine.is_machine == theirs.is_machine, f"frame {frame}: {mine} vs {theirs}"
            if source:
                assert mine.source == theirs.source, f"frame {frame}"
            if score and theirs.is_machine:
                assert mine.score == pytest.approx(theirs.score, abs=1e-6), f"frame {frame}"
    if source:  # the accepted machine box keeps its origin and score
        assert rows(got, 1)[0].source == "accepted"
        assert rows(got, 1)[0].score == pytest.approx(0.9)


@pytest.mark.parametrize("fmt", [f for f in SPARSE_FORMATS if KEEPS[f][3]])
def test_machine_labels_import_as_predictions(mixed_project: Project, fmt: str,
                                              tmp_path: Path) -> None:
    """Imported machine boxes are predictions (unverified frames), not human labels."""
    out = mixed_project.export(fmt, tmp_path / OUT_NAMES[fmt], verified_only=False)
    new, summary = import_into(tmp_path / "copy.mlab", mixed_project.frames.path, fmt, out)
    with new:
        assert summary.machine_boxes == 9
        assert new.human_frames() == sorted(human_labels(mixed_project).frames)
        label = new.label(4)
        assert not label.verified
        assert sorted(b.score for b in label.boxes) == pytest.approx([0.6, 0.9])


def test_import_keeps_existing_human_labels(mixed_project: Project, demo_project: Project,
                                            tmp_path: Path) -> None:
    out = demo_project.export("coco", tmp_path / "full.json")
    new, _ = import_into(tmp_path / "p.mlab", mixed_project.frames.path, "coco",
                         mixed_project.export("coco", tmp_path / "sparse.json"))
    with new:
        before = human_labels(new)
        summary = new.import_labels("coco", out)
        assert summary.skipped_frames == tuple(sorted(before.frames))
        after = human_labels(new)
        for frame in before.frames:
            assert [b.xyxy for b in rows(after, frame)] == [b.xyxy for b in rows(before, frame)]
        assert len(after.frames) == 40


def test_video_frames_are_named_like_cvat(make_video, tmp_path: Path) -> None:
    video = make_video("clip.mp4", n=6, size=(64, 48))
    with Project.open(tmp_path / "v.mlab", video=video) as project:
        project.draw_box(2, (4, 5, 30, 40))
        project.mark_absent(4)
        out = project.export("coco", tmp_path / "v.json")
        assert "frame_000002.jpg" in out.read_text()
        new, _ = import_into(tmp_path / "w.mlab", video, "coco", out)
        with new:
            assert_same_labels(human_labels(new), human_labels(project))


def test_cli_import_then_export(demo_sequence, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from microlab.interop.cli import main

    seq = demo_sequence.path
    project = tmp_path / "cli.mlab"
    assert main(["import", str(project), "--frames", str(seq), "--format", "otb",
                 str(seq / "groundtruth.txt")]) == 0
    assert "marked absent" in capsys.readouterr().out
    assert main(["export", str(project), "--format", "cvat", str(tmp_path / "a.xml")]) == 0
    assert main(["export", str(project), "--format", "cocoo", str(tmp_path / "a.json")]) == 1
    assert "did you mean 'coco'" in capsys.readouterr().err
    with Project.open(project) as opened:
        clip = ClipInfo.from_frames(opened.frames)
        assert_same_labels(load_labels("cvat_video", tmp_path / "a.xml", clip),
                           human_labels(opened))


def test_format_names_and_aliases() -> None:
    assert get_format("CVAT").name == "cvat_video"
    assert get_format("label-studio").name == "labelstudio"
    with pytest.raises(FormatError, match="did you mean 'yolo'"):
        get_format("yollo")


def test_tracks_link_boxes_of_one_class_across_frames() -> None:
    clip = ClipInfo(4, (100, 100), tuple(f"{i}.jpg" for i in range(4)))
    a, b = (10, 10, 20, 20), (70, 70, 90, 90)
    labels = LabelSet.from_boxes(clip, ["object", "other"], {
        0: [label_box(a), label_box(b)],
        1: [],
        2: [label_box((72, 71, 92, 91)), label_box((11, 12, 21, 22)), label_box(a, 1)],
    })
    ids = link_tracks(labels)
    assert ids[(0, 0)] == ids[(2, 1)]
    assert ids[(0, 1)] == ids[(2, 0)]
    assert len(set(ids.values())) == 3


def test_saving_needs_no_project(tmp_path: Path) -> None:
    clip = ClipInfo(3, (50, 40), ("a.png", "b.png", "c.png"), name="tiny")
    labels = LabelSet.from_boxes(clip, ["cat"], {0: [label_box((1, 2, 30.5, 20), 0)], 2: []})
    for fmt in FORMATS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = save_labels(labels, fmt, tmp_path / OUT_NAMES[fmt])
        back = load_labels(fmt, out, clip)
        if fmt == "otb":
            assert back.absent_frames == [1, 2]
        else:
            assert_same_labels(back, labels, classes=KEEPS[fmt][0])
    assert np.isnan(np.loadtxt(tmp_path / "groundtruth.txt", delimiter=",")[1]).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_exporting_again_replaces_the_earlier_export(demo_project: Project, mixed_project: Project,
                                                     fmt: str, tmp_path: Path) -> None:
    out = tmp_path / OUT_NAMES[fmt]
    demo_project.export(fmt, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # OTB: one box per frame
        mixed_project.export(fmt, out)
    got = load_labels(fmt, out, ClipInfo.from_frames(mixed_project.frames))
    if KEEPS[fmt][1]:
        assert_same_labels(got, human_labels(mixed_project))
    else:
        assert len(got.frames) == 40



def test_cvat_for_images_files_are_read_too(tmp_path: Path) -> None:
    clip = ClipInfo(3, (64, 48), ("a.jpg", "b.jpg", "c.jpg"))
    xml = tmp_path / "images.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n<annotations><version>1.1</version>\n'
        '<meta><task><labels><label><name>cat</name></label></labels></task></meta>\n'
        '<image id="0" name="a.jpg" width="64" height="48">\n'
        '  <box label="cat" xtl="1" ytl="2" xbr="30.5" ybr="40" occluded="0"/></image>\n'
        '<image id="2" name="c.jpg" width="64" height="48"/>\n'
        "</annotations>\n"
    )
    got = load_labels("cvat", xml, clip)
    assert got.classes == ["cat"]
    assert got.frames == {0: label_box((1.0, 2.0, 30.5, 40.0), 0), 2: Detections.empty()}
    xml.write_text(xml.read_text().replace('name="c.jpg"', 'name="zebra.jpg"'))
    with pytest.raises(FormatError,
                       match=r'images\.xml line 6, <image id="2" name="zebra\.jpg".*not a frame'):
        load_labels("cvat", xml, clip)
