"""Malformed label files: a clear error naming the line or element, and the project untouched."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from microlab.errors import AnnotationError, FormatError, MicrolabError
from microlab.project import Project, import_into, import_project
from microlab.store import Store

from .helpers import OUT_NAMES


def _edit_text(relative: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def edit(out: Path) -> None:
        file = out / relative if relative else out
        text = file.read_text()
        assert old in text, f"{old!r} not in {file}"
        file.write_text(text.replace(old, new, count))
    return edit


def _edit_json(change: Callable[[object], None]) -> Callable[[Path], None]:
    def edit(out: Path) -> None:
        doc = json.loads(out.read_text())
        change(doc)
        out.write_text(json.dumps(doc, indent=1))
    return edit


def _set(path: tuple, value: object) -> Callable[[object], None]:
    def change(doc) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value
    return change


def _truncate(out: Path) -> None:
    text = out.read_text()
    out.write_text(text[: len(text) // 2])


# (format, how to break the export of the two-class project, what the message must say)
CASES = [
    ("coco", _truncate, r"labels\.json line \d+, column \d+: not valid JSON"),
    ("coco", _edit_json(_set(("annotations", 1, "bbox"), [1, 2, 3])),
     r"annotations\[1\] \(id 2\): 'bbox' must be \[x, y, width, height\]"),
    ("coco", _edit_json(_set(("images", 0, "file_name"), "elsewhere/zzz.jpg")),
     r"images\[0\]: image 'elsewhere/zzz.jpg' is not a frame of this clip .*00001\.jpg"),
    ("coco", _edit_json(_set(("annotations", 0, "category_id"), 7)),
     r"annotations\[0\] \(id 1\): category_id 7 is not in 'categories'"),
    ("coco", _edit_json(_set(("annotations", 2, "bbox"), [100, 80, 60, 60])),
     r"annotations\[2\] \(id 3\): box .* lies outside the 128x96 image"),
    ("yolo", _edit_text("labels/train/00004.txt", "0 ", "0 0.5 0.5 "),
     r"00004\.txt line 1: expected 'class cx cy w h'"),
    ("yolo", _edit_text("labels/train/00001.txt", "0.", "12."),
     r"00001\.txt line 1: .*fractions of the image"),
    ("yolo", _edit_text("labels/train/00004.txt", "0 ", "x "),
     r"00004\.txt line 1: not a class number"),
    ("yolo", _edit_text("data.yaml", "names:", "names: [unclosed"),
     r"data\.yaml line \d+: not valid YAML"),
    ("voc", _edit_text("Annotations/00004.xml", "</annotation>", ""),
     r"00004\.xml line \d+, column \d+: not well-formed XML"),
    ("voc", _edit_text("Annotations/00004.xml", "xmax>", "xmx>", 2),
     r"00004\.xml line 2[0-9], <bndbox>: expected a <xmax> element inside"),
    ("voc", _edit_text("Annotations/00004.xml", "<ymin>", "<ymin>ten"),
     r"00004\.xml line \d+, <ymin>: ymin must be a number"),
    ("voc", _edit_text("Annotations/00004.xml", "<?xml version='1.0' encoding='utf-8'?>",
                       "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x 'y'>]>"), r"declares a DTD"),
    ("cvat_video", _edit_text("", 'frame="3"', 'frame="400"'),
     r'annotations\.xml line \d+, <box frame="400".*frame 400 is outside this clip'),
    ("cvat_video", _edit_text("", 'outside="0"', 'outside="maybe"'),
     r"annotations\.xml line \d+, <box .*attribute 'outside' must be a 0 or 1, but got 'maybe'"),
    ("cvat_video", _edit_text("", 'label="distractor"', 'label="dog"'),
     r"line \d+, <track id=\"\d+\" label=\"dog\".*not declared in <meta>"),
    ("cvat_video", _edit_text("", 'xbr="', 'xbr="wide'),
     r"line \d+, <box .*attribute 'xbr' must be a number"),
    ("mot", _edit_text("gt/gt.txt", "\n", "\n4,1,abc,2,3,4,1,1,1\n"),
     r"gt\.txt line 2: not a number"),
    ("mot", _edit_text("gt/gt.txt", "1,", "0,"),
     r"gt\.txt line 1: frame 0 is outside this clip, whose frames are numbered 1\.\.40"),
    ("mot", _edit_text("gt/gt.txt", "\n", "\n1,2,3\n"),
     r"gt\.txt line 2: expected frame,id,x,y,w,h"),
    ("mot", _edit_text("gt/labelled_frames.txt", "1-2", "1-x"),
     r"labelled_frames\.txt: expected frame ranges"),
    ("labelstudio", _truncate, r"tasks\.json line \d+, column \d+: not valid JSON"),
    ("labelstudio", _edit_json(_set((3, "annotations", 0, "result", 0, "value", "x"), "left")),
     (r"task\[3\] \(id 4\)\.annotations\[0\]\.result\[0\]: 'value' needs numeric x, y, "
      r"width and height")),
    ("labelstudio", _edit_json(_set((3, "annotations", 0, "result", 0, "value", "rotation"), 30)),
     r"task\[3\] \(id 4\)\.annotations\[0\]\.result\[0\]: rotated rectangles cannot be imported"),
    ("labelstudio", _edit_json(_set((0, "data"), {"image": "nowhere.png"})),
     r"task\[0\] \(id 1\): image 'nowhere.png' is not a frame of this clip"),
    ("otb", _edit_text("", "\n", "\n1,2,3\n"),
     r"groundtruth\.txt line 2: expected 4 numbers x,y,w,h, but got 3"),
    ("otb", _edit_text("", "\n", "\nnan,nan,nan,nan\n"),
     r"groundtruth\.txt has 41 boxes but the clip has 40 frames"),
    ("otb", _edit_text("", ",", ",-", 3),
     r"groundtruth\.txt line 1: width and height must be positive"),
]


def snapshot(project: Project) -> tuple:
    """Everything an import could change: labels, actions, machine boxes, classes."""
    labels = {f: (lab.verified, [(b.xyxy, b.class_id, b.source) for b in lab.boxes])
              for f, lab in project.labels().items()}
    machine = [project.store.machine_boxes(f) for f in range(project.n_frames)]
    return labels, len(project.actions()), machine, project.store.meta["classes"]


@pytest.fixture
def target(mixed_project: Project, tmp_path: Path):
    """A project of the same clip with some human work, to import broken files into."""
    with Project.open(tmp_path / "target.mlab", video=mixed_project.frames.path,
                      classes=("object", "distractor")) as project:
        project.draw_box(2, (10, 10, 40, 60))
        project.mark_absent(5)
        yield project


@pytest.mark.parametrize(("fmt", "breaker", "message"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_malformed_file_is_rejected_and_nothing_changes(
    mixed_project: Project, demo_project: Project, target: Project, tmp_path: Path,
    fmt: str, breaker: Callable[[Path], None], message: str,
) -> None:
    source = demo_project if fmt == "otb" else mixed_project
    out = source.export(fmt, tmp_path / OUT_NAMES[fmt])
    breaker(out)
    before = snapshot(target)
    with pytest.raises(FormatError) as caught:
        target.import_labels(fmt, out)
    assert re.search(message, str(caught.value)), str(caught.value)
    assert snapshot(target) == before
    # Creating a project from a broken file leaves no project behind.
    new_path = tmp_path / "new.mlab"
    with pytest.raises(FormatError):
        import_project(new_path, source.frames.path, fmt, out)
    assert not new_path.exists()


def test_a_failure_midway_rolls_back_the_whole_file(
    mixed_project: Project, target: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = mixed_project.export("coco", tmp_path / "labels.json", verified_only=False)
    before = snapshot(target)
    calls = []
    real_apply = Store.apply_actions

    def failing_apply(self, frame, operations):
        calls.append(frame)
        if len(calls) == 4:
            raise OSError("disk full (simulated)")
        return real_apply(self, frame, operations)

    monkeypatch.setattr(Store, "apply_actions", failing_apply)
    with pytest.raises(OSError, match="simulated"):
        target.import_labels("coco", out)
    assert len(calls) == 4
    assert snapshot(target) == before
    monkeypatch.undo()
    summary = target.import_labels("coco", out)  # and the store still works afterwards
    assert summary.skipped_frames == ()  # frames 2 and 5 are not in the export
    assert target.label(0).verified


def test_unknown_classes_name_the_project_classes(mixed_project: Project, demo_project: Project,
                                                  tmp_path: Path) -> None:
    out = mixed_project.export("voc", tmp_path / "voc")
    with Project.open(tmp_path / "one.mlab", video=demo_project.frames.path) as project:
        before = snapshot(project)
        with pytest.raises(AnnotationError,
                           match=r"classes \['distractor'\] .*its classes are \['object'\]"):
            project.import_labels("voc", out)
        assert snapshot(project) == before


def test_labels_of_another_clip_are_refused(real_sequence_dir: Path, demo_project: Project,
                                            tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"has 289 boxes but the clip has 40 frames"):
        demo_project.import_labels("otb", real_sequence_dir / "groundtruth.txt")
    out = demo_project.export("coco", tmp_path / "demo.json")
    with pytest.raises(FormatError,
                       match=r"images\[0\]: image '00001.jpg' is 128x96 "
                             r"but the clip's frames are 1280x720"):
        import_project(tmp_path / "x.mlab", real_sequence_dir, "coco", out)


@pytest.mark.parametrize("fmt", ["coco", "yolo", "mot"])
def test_missing_paths_say_what_is_expected(fmt: str, demo_project: Project,
                                            tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="does not exist"):
        demo_project.import_labels(fmt, tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    if fmt != "coco":
        with pytest.raises(FormatError, match=r"no YOLO label files|not a MOT sequence folder"):
            demo_project.import_labels(fmt, tmp_path / "empty")


def test_cli_reports_errors_and_exits_1(demo_project: Project, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from microlab.interop.cli import main

    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,3,4\nnot,a,box,here\n")
    code = main(["import", str(tmp_path / "p.mlab"), "--frames", str(demo_project.frames.path),
                 "--format", "otb", str(bad)])
    assert code == 1
    err = capsys.readouterr().err
    assert "bad.txt line 2: not a number" in err
    assert not (tmp_path / "p.mlab").exists()
    assert main(["import", str(tmp_path / "p.mlab"), "--format", "otb", str(bad)]) == 1
    assert "does not exist yet" in capsys.readouterr().err
    assert issubclass(FormatError, MicrolabError)


def test_import_into_existing_project_without_frames(demo_project: Project, tmp_path: Path) -> None:
    out = demo_project.export("mot", tmp_path / "mot")
    Project.open(tmp_path / "p.mlab", video=demo_project.frames.path).close()
    project, summary = import_into(tmp_path / "p.mlab", None, "mot", out)
    with project:
        assert summary.frames == 40
        assert summary.absent_frames == 14
