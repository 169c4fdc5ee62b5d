"""The format registry: built-in names, unknown names, a format of one's own, taken names."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from microlab.errors import FormatError
from microlab.interop import (
    FORMATS,
    ClipInfo,
    LabelSet,
    get_format,
    label_box,
    list_formats,
    load_labels,
    register_format,
    save_labels,
)
from microlab.interop.coco import load_coco, save_coco
from microlab.project import Project, import_into

from .helpers import REGISTERED as BUILT_IN
from .helpers import assert_same_labels, human_labels


@pytest.fixture
def restore_formats() -> Iterator[None]:
    """Registrations made by a test are undone after it."""
    saved = dict(FORMATS)
    yield
    FORMATS.clear()
    FORMATS.update(saved)


# ---------------------------------------------------------------------- a format of one's own
def save_boxes_csv(labels: LabelSet, path: str | Path, *, n_frames: int | None = None) -> Path:
    """``frame,x0,y0,x1,y1`` per box; ``frame,,,,`` for an absent frame; a comment on top."""
    path = Path(path)
    with path.open("w", newline="") as f:
        f.write(f"# {n_frames} frames\n")
        writer = csv.writer(f)
        for frame, boxes in labels.sorted_frames():
            writer.writerows([frame, *box] for box in boxes.xyxy.tolist())
            if not len(boxes):
                writer.writerow([frame, "", "", "", ""])
    return path


def load_boxes_csv(path: Path, clip: ClipInfo) -> LabelSet:
    boxes: dict[int, list] = {}
    with path.open(newline="") as f:
        for row in csv.reader(line for line in f if not line.startswith("#")):
            frame = boxes.setdefault(int(row[0]), [])
            if row[1]:
                frame.append(label_box([float(v) for v in row[1:]]))
    return LabelSet.from_boxes(clip, [], boxes)


def _register_boxes_csv(**options: object):
    return register_format(
        "boxes_csv", save=save_boxes_csv, load=load_boxes_csv, aliases=("csv_boxes",),
        description="one frame,x0,y0,x1,y1 line per box (one file)",
        clip_options=lambda frames: {"n_frames": len(frames)}, **options,
    )


# ---------------------------------------------------------------------- the built-in formats
def test_built_in_formats_are_listed_in_order() -> None:
    assert list_formats() == list(BUILT_IN)
    assert all(get_format(name).name == name for name in BUILT_IN)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("COCO", "coco"), ("pascal-voc", "voc"), ("cvat", "cvat_video"),
     ("Label Studio", "labelstudio"), ("ultralytics", "yolo"), ("motchallenge", "mot"),
     ("groundtruth", "otb")],
)
def test_aliases_and_spellings(name: str, expected: str) -> None:
    assert get_format(name).name == expected


def test_a_spec_passes_through() -> None:
    spec = get_format("coco")
    assert get_format(spec) is spec
    assert spec.save is save_coco
    assert spec.load is load_coco


def test_unknown_name_suggests_the_closest_and_lists_the_known() -> None:
    known = ", ".join(BUILT_IN)
    with pytest.raises(FormatError) as info:
        get_format("cocoo")
    assert str(info.value) == (
        f"unknown label format 'cocoo'; did you mean 'coco'? known formats: {known}"
    )
    with pytest.raises(FormatError) as info:
        get_format("xyz")
    assert "did you mean" not in str(info.value)
    assert known in str(info.value)


def test_missing_path_names_file_or_folder(tmp_path: Path) -> None:
    clip = ClipInfo(1, (10, 10), ("a.jpg",))
    with pytest.raises(FormatError, match=r"label folder .* does not exist"):
        load_labels("yolo", tmp_path / "nothing", clip)
    with pytest.raises(FormatError, match=r"label file .* does not exist"):
        load_labels("coco", tmp_path / "nothing.json", clip)


# ---------------------------------------------------------------------- registering
@pytest.mark.usefixtures("restore_formats")
def test_a_registered_format_round_trips_a_project(demo_project: Project, tmp_path: Path) -> None:
    spec = _register_boxes_csv()
    assert list_formats() == [*BUILT_IN, "boxes_csv"]
    assert get_format("CSV-boxes") is spec
    out = demo_project.export("boxes_csv", tmp_path / "boxes.csv")
    assert out.read_text().startswith(f"# {demo_project.n_frames} frames\n")  # clip_options
    new, summary = import_into(tmp_path / "copy.mlab", demo_project.frames.path, "csv_boxes", out)
    with new:
        assert summary.frames == len(human_labels(demo_project).frames)
        assert_same_labels(human_labels(new), human_labels(demo_project), classes=False)


@pytest.mark.usefixtures("restore_formats")
def test_the_cli_uses_registered_formats(demo_project: Project, tmp_path: Path) -> None:
    from microlab.interop.cli import main

    _register_boxes_csv()
    out = save_boxes_csv(human_labels(demo_project), tmp_path / "boxes.csv")
    assert main(["import", str(tmp_path / "cli.mlab"), "--frames", str(demo_project.frames.path),
                 "--format", "boxes-csv", str(out)]) == 0
    with Project.open(tmp_path / "cli.mlab") as project:
        assert_same_labels(human_labels(project), human_labels(demo_project), classes=False)


@pytest.mark.usefixtures("restore_formats")
def test_a_taken_name_is_refused_unless_replaced() -> None:
    with pytest.raises(FormatError, match=r"'coco' is already registered .* replace=True"):
        register_format("coco", save=save_boxes_csv, load=load_boxes_csv, description="mine")
    assert get_format("coco").save is save_coco

    spec = register_format("coco", save=save_boxes_csv, load=load_boxes_csv, description="mine",
                           replace=True)
    assert get_format("coco") is spec
    assert list_formats() == list(BUILT_IN)  # a replaced format keeps its place
    with pytest.raises(FormatError, match="unknown label format 'coco_json'"):
        get_format("coco_json")  # the old aliases went with the old format


@pytest.mark.usefixtures("restore_formats")
def test_an_alias_of_another_format_is_refused_even_with_replace() -> None:
    with pytest.raises(FormatError, match="'ls' already names format 'labelstudio'"):
        register_format("mine", save=save_boxes_csv, load=load_boxes_csv, description="mine",
                        aliases=("ls",), replace=True)
    assert "mine" not in FORMATS


@pytest.mark.usefixtures("restore_formats")
def test_registered_functions_are_the_ones_called(tmp_path: Path) -> None:
    calls = []

    def save(labels: LabelSet, path: str | Path) -> Path:
        calls.append(("save", labels.n_boxes))
        return Path(path)

    def load(path: Path, clip: ClipInfo) -> LabelSet:
        calls.append(("load", path.name))
        return LabelSet(clip, [], {})

    register_format("spy", save=save, load=load, description="records its calls")
    clip = ClipInfo(1, (10, 10), ("a.jpg",))
    save_labels(LabelSet(clip, [], {0: label_box((1, 1, 5, 5))}), "spy", tmp_path / "x")
    (tmp_path / "x").touch()
    load_labels("SPY", tmp_path / "x", clip)
    assert calls == [("save", 1), ("load", "x")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"name": "My-Format"}, "lower case with underscores.*'my_format'", id="name"),
        pytest.param({"aliases": ("Mine",)}, "but got 'Mine'", id="alias"),
        pytest.param({"path_kind": "dir"}, "path_kind must be 'file' or 'folder'", id="path-kind"),
        pytest.param({"save": "save_mine"}, "save must be a function, but got str", id="save"),
    ],
)
@pytest.mark.usefixtures("restore_formats")
def test_malformed_registrations_are_refused(options: dict, message: str) -> None:
    arguments = {"name": "mine", "save": save_boxes_csv, "load": load_boxes_csv,
                 "description": "mine", **options}
    name = arguments.pop("name")
    with pytest.raises(FormatError, match=message):
        register_format(name, **arguments)
    assert list_formats() == list(BUILT_IN)
