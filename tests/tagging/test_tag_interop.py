"""Per-frame tags in and out (microlab.tagging.interop): round trips of every format, the
errors a malformed file gets, and ``microlab export / import`` on a classify project.

The source projects are the demo tag clip tagged with its exact tags, after one step of the
fast nearest-colour fake model (so they hold machine tags with confidences too).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import nearest_colour_trainer

from microlab.cli import main
from microlab.datasets import demo_tag_clip
from microlab.errors import FormatError, SettingsError
from microlab.interop.labels import ClipInfo, video_frame_name
from microlab.tagging import TagClip, TagProject
from microlab.tagging.interop import (
    CSV_HEADER,
    TAG_FORMATS,
    FrameTags,
    TagSet,
    export_tags,
    get_tag_format,
    import_tags,
    labelstudio_tag_config,
    tags_from_project,
)

CLASSES = ("meadow", "beach", "harbour")  # the demo tag clip's places (seed 0)
OUT_NAMES = {"csv": "tags.csv", "json": "tags.json", "cvat": "tags.xml",
             "labelstudio": "tasks.json"}
TAGGED_LATER = 150  # a frame tagged after the first step (iteration 1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> TagClip:
    clip = demo_tag_clip(tmp_path_factory.mktemp("tags") / "demo")
    assert clip.classes == CLASSES
    return clip


def _project(path: Path, clip: TagClip, *, multi_label: bool) -> TagProject:
    return TagProject.open(path, video=clip.frames.path, classes=list(clip.classes),
                           multi_label=multi_label, trainer=nearest_colour_trainer)


@pytest.fixture(scope="module")
def single(clip: TagClip, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TagProject]:
    """One tag per frame: the first frames tagged, a step, one more tag and one accept."""
    project = _project(tmp_path_factory.mktemp("single") / "single.mlab", clip, multi_label=False)
    for f in project.initial_frames():
        project.tag(f, int(clip.tags[f]))
    project.step(progress=False)
    project.tag(TAGGED_LATER, int(clip.tags[TAGGED_LATER]))
    project.accept(TAGGED_LATER + 1)
    yield project
    project.close()


@pytest.fixture(scope="module")
def multi(clip: TagClip, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TagProject]:
    """Multi-label: the first frames with their place, one frame with two tags, one with none."""
    project = _project(tmp_path_factory.mktemp("multi") / "multi.mlab", clip, multi_label=True)
    for f in project.initial_frames():
        project.tag(f, [int(clip.tags[f])])
    project.tag(TAGGED_LATER, ["meadow", "harbour"])
    project.tag(TAGGED_LATER + 1, [])
    project.step(progress=False)
    yield project
    project.close()


@pytest.fixture
def target(clip: TagClip, tmp_path: Path) -> Iterator[TagProject]:
    """A new one-tag project of the clip with one tag (frame 10), to import into."""
    project = _project(tmp_path / "target.mlab", clip, multi_label=False)
    project.tag(10, "beach")
    yield project
    project.close()


def _rows(tags: TagSet) -> list[tuple[int, tuple[str, ...], str]]:
    return [(r.frame, r.tags, r.source) for r in tags.frames]


def _load(fmt: str, path: Path, project: TagProject) -> TagSet:
    return TAG_FORMATS[fmt].load(path, ClipInfo.from_frames(project.frames), project.classes,
                                 multi_label=project.multi_label)


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("include_machine", [True, False], ids=["with-machine", "human-only"])
@pytest.mark.parametrize("kind", ["single", "multi"])
@pytest.mark.parametrize("fmt", list(TAG_FORMATS))
def test_round_trip(fmt: str, kind: str, include_machine: bool, clip: TagClip,
                    request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source: TagProject = request.getfixturevalue(kind)
    want = tags_from_project(source, include_machine=include_machine)
    assert any(not r.human for r in want.frames) == include_machine
    assert {r.frame: r.tags for r in want.frames if r.human} == {
        f: tuple(CLASSES[c] for c in ids) for f, ids in source.human_tags().items()}
    if fmt == "cvat":
        # CVAT lists untouched images like images with no tag: a frame with none is lost.
        want = TagSet(want.clip, want.classes, want.multi_label,
                      tuple(r for r in want.frames if r.tags))
    machine = [r for r in want.frames if not r.human]
    out = export_tags(source, tmp_path / OUT_NAMES[fmt], fmt, include_machine=include_machine)

    got = _load(fmt, out, source)
    assert _rows(got) == _rows(want)
    assert [r.confidence for r in got.frames] == pytest.approx(
        [r.confidence for r in want.frames], abs=1e-6)

    with _project(tmp_path / "new.mlab", clip, multi_label=source.multi_label) as new:
        summary = import_tags(new, out, fmt)
        assert new.human_tags() == {f: t for f, t in source.human_tags().items()
                                    if fmt != "cvat" or t}
        assert summary.frames == len(new.human_tags())
        assert summary.machine_frames == len(machine)
        assert {r.kind for r in new.tag_log()} == {"import"}
        assert new.action_totals() == {"actions": 0, "frames_viewed": 0}


def test_export_options(single: TagProject, tmp_path: Path) -> None:
    labels = single.labels()
    machine = ~labels.human
    out = export_tags(single, tmp_path / "t.csv", "csv", min_confidence=0.99)
    got = _load("csv", out, single)
    kept = [r for r in got.frames if not r.human]
    assert len(kept) == int((labels.confidence[machine] >= 0.99).sum())
    assert all(r.confidence >= 0.99 for r in kept)
    assert len(got.human_tags()) == int(labels.human.sum())
    with pytest.raises(SettingsError, match=r"min_confidence must be in \[0, 1\]"):
        export_tags(single, tmp_path / "t.csv", "csv", min_confidence=90)


def test_csv_is_0_based_with_a_header(multi: TagProject, tmp_path: Path) -> None:
    lines = export_tags(multi, tmp_path / "t.csv", "csv").read_text().splitlines()
    assert lines[0] == ",".join(CSV_HEADER) == "frame,tags,confidence,source"
    assert len(lines) == 1 + multi.n_frames
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(multi.n_frames))
    assert f"{TAGGED_LATER},meadow;harbour,,human" in lines
    assert f"{TAGGED_LATER + 1},,,human" in lines
    machine = lines[1 + next(f for f in range(multi.n_frames) if f not in multi.human_tags())]
    _, _, confidence, source = machine.split(",")
    assert source == "machine"
    assert 0 <= float(confidence) <= 1


def test_cvat_for_images_document(single: TagProject, tmp_path: Path) -> None:
    root = ET.parse(export_tags(single, tmp_path / "t.xml", "cvat")).getroot()
    assert root.findtext("version") == "1.1"
    labels = root.findall("meta/task/labels/label")
    assert [label.findtext("name") for label in labels] == list(CLASSES)
    assert {label.findtext("type") for label in labels} == {"tag"}
    images = root.findall("image")
    assert [i.get("name") for i in images] == [p.name for p in single.frames.files]
    assert [i.get("id") for i in images] == [str(f) for f in range(single.n_frames)]
    assert {(i.get("width"), i.get("height")) for i in images} == {("320", "192")}
    human = images[TAGGED_LATER].findall("tag")
    assert [(t.get("label"), t.get("source"), t.find("attribute")) for t in human] == [
        (CLASSES[single.human_tags()[TAGGED_LATER][0]], "manual", None)]
    machine = next(i for i in images if int(i.get("id")) not in single.human_tags())
    [tag] = machine.findall("tag")
    assert tag.get("source") == "auto"
    assert tag.find("attribute").get("name") == "confidence"
    assert 0.0 <= float(tag.find("attribute").text) <= 1.0


def test_labelstudio_tasks_and_config(multi: TagProject, tmp_path: Path) -> None:
    tasks = json.loads(export_tags(multi, tmp_path / "t.json", "labelstudio").read_text())
    assert len(tasks) == multi.n_frames
    task = tasks[TAGGED_LATER]
    assert task["data"] == {"image": multi.frames.files[TAGGED_LATER].name,
                            "frame": TAGGED_LATER}
    [annotation] = task["annotations"]
    [region] = annotation["result"]
    assert {k: region[k] for k in ("from_name", "to_name", "type", "value")} == {
        "from_name": "tag", "to_name": "image", "type": "choices",
        "value": {"choices": ["meadow", "harbour"]}}
    assert tasks[TAGGED_LATER + 1]["annotations"][0]["result"] == []  # none of the classes
    predicted = next(t for t in tasks if "predictions" in t)
    assert 0.0 <= predicted["predictions"][0]["score"] <= 1.0
    config = ET.fromstring(labelstudio_tag_config(CLASSES, multi_label=True))
    choices = config.find("Choices")
    assert config.find("Image").attrib == {"name": "image", "value": "$image"}
    assert (choices.get("name"), choices.get("toName"), choices.get("choice")) == (
        "tag", "image", "multiple")
    assert [c.get("value") for c in choices] == list(CLASSES)
    assert 'choice="single"' in labelstudio_tag_config(CLASSES)


@pytest.mark.parametrize("fmt", list(TAG_FORMATS))
def test_video_frames_are_named_like_cvat(fmt: str, tmp_path: Path) -> None:
    clip = ClipInfo(5, (64, 48), tuple(video_frame_name(i) for i in range(5)))
    tags = TagSet(clip, ("a", "b"), False, (FrameTags(3, ("b",)),
                                            FrameTags(4, ("a",), "machine", 0.75)))
    out = TAG_FORMATS[fmt].save(tags, tmp_path / OUT_NAMES[fmt])
    if fmt != "csv":
        assert "frame_000003.jpg" in out.read_text()
    assert TAG_FORMATS[fmt].load(out, clip, ("a", "b")) == tags


# ---------------------------------------------------------------------- frames by name
@pytest.mark.parametrize(("fmt", "text"), [
    pytest.param("csv", "frame,tags\n2,meadow\n", id="csv-number"),
    pytest.param("csv", "frame,tags\n00003.jpg,meadow\n", id="csv-name"),
    pytest.param("csv", "frame,tags\nimg/00003.jpg,meadow\n", id="csv-path"),
    pytest.param("json", json.dumps({"frames": [{"image": "00003.jpg", "tags": ["meadow"]}]}),
                 id="json-image"),
    pytest.param("cvat", '<annotations><image id="2"><tag label="meadow"/></image></annotations>',
                 id="cvat-id-without-name"),
    pytest.param("labelstudio", json.dumps([{"data": {"image": "/data/local-files/?d=c/img/"
                                                               "00003.jpg"},
                                             "annotations": [{"result": [{
                                                 "type": "choices", "from_name": "choice",
                                                 "to_name": "img",
                                                 "value": {"choices": ["meadow"]}}]}]}]),
                 id="labelstudio-local-files-url"),
])
def test_frames_are_found_by_number_or_image_name(fmt: str, text: str, target: TagProject,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "in"
    path.write_text(text)
    summary = import_tags(target, path, fmt)
    assert summary.frames == 1
    assert target.human_tags() == {2: (0,), 10: (1,)}  # 00003.jpg is frame 2 (0-based)


def test_frames_a_person_tagged_keep_their_tags(target: TagProject, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("frame,tags,confidence,source\n10,meadow,,human\n11,meadow,,human\n"
                    "12,harbour,0.8,machine\n")
    summary = import_tags(target, path, "csv")
    assert (summary.frames, summary.machine_frames, summary.kept_frames) == (1, 1, (10,))
    assert target.human_tags() == {10: (1,), 11: (0,)}
    assert "kept the existing tags of 1 frames" in str(summary)


# ---------------------------------------------------------------------- malformed files
def _csv(*lines: str) -> str:
    return "frame,tags,confidence,source\n" + "".join(f"{line}\n" for line in lines)


def _json(*records: object) -> str:
    return json.dumps({"classes": list(CLASSES), "multi_label": False, "frames": list(records)})


def _cvat(*images: str) -> str:  # line 4 holds the first image
    return ('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
            + "\n".join(images) + "\n</annotations>\n")


def _image(frame: int, *tags: str, source: str = "manual") -> str:
    inner = "".join(f'<tag label="{t}" source="{source}"/>' for t in tags)
    name = f"{frame + 1:05d}.jpg"
    return f'<image id="{frame}" name="{name}" width="320" height="192">{inner}</image>'


def _task(frame: int, *choices: str, result: object = None) -> dict:
    region = {"type": "choices", "from_name": "tag", "to_name": "image",
              "value": {"choices": list(choices)}}
    return {"id": frame + 1, "data": {"image": f"{frame + 1:05d}.jpg", "frame": frame},
            "annotations": [{"result": [region] if result is None else result}]}


OK_ROW = "0,meadow,,human"
OK_RECORD = {"frame": 0, "tags": ["meadow"]}
UNKNOWN = r"unknown class 'forest'; the project's classes are \['meadow', 'beach', 'harbour'\]"
OUTSIDE = r"frame 300 is outside this clip, whose frames are numbered 0\.\.299"
SEVERAL = r"2 tags \['meadow', 'beach'\] on one frame, but this project takes exactly one tag"


@pytest.mark.parametrize(("fmt", "text", "message"), [
    pytest.param("csv", _csv(OK_ROW, "1,forest,,human"), "line 3: " + UNKNOWN, id="csv-class"),
    pytest.param("csv", _csv(OK_ROW, "300,meadow,,"), "line 3: " + OUTSIDE, id="csv-outside"),
    pytest.param("csv", _csv(OK_ROW, "-1,meadow,,"), "line 3: frame -1 is outside",
                 id="csv-negative"),
    pytest.param("csv", _csv(OK_ROW, "1,beach,,", "0,beach,,"),
                 "line 4: frame 0 is already tagged by line 2", id="csv-duplicate"),
    pytest.param("csv", _csv(OK_ROW, "1,meadow;beach,,"), "line 3: " + SEVERAL,
                 id="csv-several-tags"),
    pytest.param("csv", _csv(OK_ROW, "1,,,"), "line 3: no tag, but this project takes exactly",
                 id="csv-no-tag"),
    pytest.param("csv", _csv(OK_ROW, "1,meadow"), "line 3: expected 4 comma-separated values",
                 id="csv-columns"),
    pytest.param("csv", _csv(OK_ROW, "1,meadow,high,machine"),
                 r"line 3: confidence must be a number in \[0, 1\]", id="csv-confidence"),
    pytest.param("csv", _csv(OK_ROW, "1,meadow,1.5,machine"),
                 r"line 3: confidence must be a number in \[0, 1\]", id="csv-confidence-range"),
    pytest.param("csv", _csv(OK_ROW, "1,meadow,,robot"),
                 "line 3: source must be 'human' or 'machine'", id="csv-source"),
    pytest.param("csv", _csv(OK_ROW, "nope.jpg,meadow,,"),
                 r"line 3: 'nope\.jpg' is neither a frame number \(0-based\) nor an image of "
                 r"this clip \(its frames are named 00001\.jpg, 00002\.jpg \.\.\. 00300\.jpg\)",
                 id="csv-image"),
    pytest.param("csv", OK_ROW + "\n", "line 1: expected the header frame,tags,confidence,source",
                 id="csv-no-header"),
    pytest.param("csv", "", "is empty; expected the header line", id="csv-empty"),
    pytest.param("json", _json(OK_RECORD, {"frame": 1, "tags": ["forest"]}),
                 r"frames\[1\]: " + UNKNOWN, id="json-class"),
    pytest.param("json", _json(OK_RECORD, {"frame": 300, "tags": ["meadow"]}),
                 r"frames\[1\]: " + OUTSIDE, id="json-outside"),
    pytest.param("json", _json(OK_RECORD, {"frame": 1, "tags": ["beach"]}, OK_RECORD),
                 r"frames\[2\]: frame 0 is already tagged by frames\[0\]", id="json-duplicate"),
    pytest.param("json", _json(OK_RECORD, {"frame": 1, "tags": ["meadow", "beach"]}),
                 r"frames\[1\]: " + SEVERAL, id="json-several-tags"),
    pytest.param("json", _json(OK_RECORD, "1,meadow"), r"frames\[1\]: expected a record object",
                 id="json-record"),
    pytest.param("json", _json(OK_RECORD, {"frame": 1, "tags": 5}),
                 r"frames\[1\]: 'tags' must be a list of class names", id="json-tags"),
    pytest.param("json", _json(OK_RECORD, {"tags": ["meadow"]}),
                 r"frames\[1\]: a record needs 'frame' \(0-based\) or 'image'", id="json-no-frame"),
    pytest.param("json", _json(OK_RECORD, {"frame": 1, "image": "00005.jpg", "tags": ["beach"]}),
                 r"frames\[1\]: 'frame' is 1 but 'image' '00005\.jpg' is frame 4",
                 id="json-frame-and-image-disagree"),
    pytest.param("json", json.dumps({"n_frames": 10, "frames": [OK_RECORD]}),
                 "the file describes 10 frames but the clip has 300", id="json-other-clip"),
    pytest.param("json", '{"frames": [\n{"frame": 0,', r"line 2, column \d+: not valid JSON",
                 id="json-syntax"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), _image(1, "forest")),
                 r'line 5, <image id="1" name="00002\.jpg" width="320">: ' + UNKNOWN,
                 id="cvat-class"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), '<image id="300"><tag label="beach"/></image>'),
                 r'line 5, <image id="300">: ' + OUTSIDE, id="cvat-outside"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), _image(1, "beach"), _image(0, "beach")),
                 r"line 6, <image [^>]*>: frame 0 is already tagged by line 4",
                 id="cvat-duplicate"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), _image(1, "meadow", "beach")),
                 r"line 5, <image [^>]*>: " + SEVERAL, id="cvat-several-tags"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), _image(1, "beach", source="robot")),
                 r'line 5, <tag label="beach" source="robot">: source must be one of manual, auto',
                 id="cvat-source"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), '<image id="1" name="00002.jpg"><tag label='
                               '"beach" source="auto"><attribute name="confidence">2</attribute>'
                               "</tag></image>"),
                 r'line 5, <tag label="beach" source="auto">: confidence must be a number',
                 id="cvat-confidence"),
    pytest.param("cvat", _cvat(_image(0, "meadow"),
                               '<image id="1" name="00002.jpg"><tag/></image>'),
                 r"line 5, <tag>: attribute 'label' is missing", id="cvat-label"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), '<image id="1" name="nope.jpg"/>'),
                 r"line 5, <image [^>]*>: 'nope\.jpg' is neither a frame number", id="cvat-image"),
    pytest.param("cvat", _cvat('<track id="0" label="meadow"><box frame="0"/></track>'),
                 r"line 4, <track [^>]*>: this is CVAT for video \(tracks\), which holds no tags",
                 id="cvat-video"),
    pytest.param("cvat", _cvat(_image(0, "meadow"), "<image id='1'>"),
                 r"line \d+, column \d+: not well-formed XML", id="cvat-xml"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), _task(1, "forest")]),
                 r"task\[1\] \(id 2\)\.annotations\[0\]: " + UNKNOWN, id="labelstudio-class"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), _task(300, "beach")]),
                 r"task\[1\] \(id 301\): " + OUTSIDE, id="labelstudio-outside"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), _task(1, "beach"),
                                            _task(0, "beach")]),
                 r"task\[2\] \(id 1\)\.annotations\[0\]: frame 0 is already tagged by "
                 r"task\[0\] \(id 1\)\.annotations\[0\]", id="labelstudio-duplicate"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), _task(1, "meadow", "beach")]),
                 r"task\[1\] \(id 2\)\.annotations\[0\]: " + SEVERAL,
                 id="labelstudio-several-tags"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), _task(1, result="beach")]),
                 r"task\[1\] \(id 2\)\.annotations\[0\]: 'result' must be a list of regions",
                 id="labelstudio-result"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), _task(1, result=[
        {"type": "choices", "value": {"choices": "beach"}}])]),
                 r"task\[1\] \(id 2\)\.annotations\[0\]\.result\[0\]: a choices region needs",
                 id="labelstudio-choices"),
    pytest.param("labelstudio", json.dumps([_task(0, "meadow"), "00002.jpg"]),
                 r"task\[1\]: expected a task object", id="labelstudio-task"),
])
def test_bad_files_name_the_line_and_store_nothing(fmt: str, text: str, message: str,
                                                   target: TagProject, tmp_path: Path) -> None:
    path = tmp_path / f"bad.{fmt}"
    path.write_text(text)
    with pytest.raises(FormatError, match=message) as error:
        import_tags(target, path, fmt)
    assert str(error.value).startswith(str(path))
    assert [(r.frame, r.kind) for r in target.tag_log()] == [(10, "tag")]  # nothing stored


def test_unknown_format_and_missing_file(target: TagProject, tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"unknown tag format 'csvv'; did you mean 'csv'\?"):
        get_tag_format("csvv")
    assert get_tag_format("Label-Studio").name == "labelstudio"
    assert get_tag_format("cvat_images").name == "cvat"
    with pytest.raises(FormatError, match="does not exist; check the path"):
        import_tags(target, tmp_path / "nothing.csv", "csv")


# ---------------------------------------------------------------------- the CLI
@pytest.mark.parametrize("fmt", list(TAG_FORMATS))
def test_cli_export_then_import(fmt: str, single: TagProject, clip: TagClip, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / OUT_NAMES[fmt]
    assert main(["export", str(single.path), str(out), "--format", fmt]) == 0
    n = len(single.human_tags())
    assert f"({fmt} tags; {n} frames tagged by a person" in capsys.readouterr().out
    exported = _load(fmt, out, single)
    assert all(r.human for r in exported.frames)  # without --include-machine: a person's only
    _project(tmp_path / "new.mlab", clip, multi_label=False).close()
    assert main(["import", str(tmp_path / "new.mlab"), str(out), "--format", fmt]) == 0
    assert f"imported the tags of {n} frames" in capsys.readouterr().out
    with TagProject.open(tmp_path / "new.mlab") as new:
        assert new.human_tags() == single.human_tags()
        assert new.action_totals()["actions"] == 0


def test_cli_export_machine_tags(single: TagProject, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert main(["export", str(single.path), str(out), "--format", "csv", "--include-machine",
                 "--min-score", "0.99"]) == 0
    got, want = _load("csv", out, single), tags_from_project(single, min_confidence=0.99)
    assert _rows(got) == _rows(want)
    assert any(not r.human for r in got.frames)
    assert [r.confidence for r in got.frames] == pytest.approx(
        [r.confidence for r in want.frames], abs=1e-6)


def test_cli_import_errors(target: TagProject, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(_csv(OK_ROW, "1,forest,,human"))
    assert main(["import", str(target.path), str(bad), "--format", "csv"]) == 1
    assert f"{bad} line 3: unknown class 'forest'" in capsys.readouterr().err
    assert len(target.tag_log()) == 1
    assert main(["import", str(tmp_path / "none.mlab"), str(bad), "--format", "csv"]) == 1
    assert "create it first" in capsys.readouterr().err
    assert not (tmp_path / "none.mlab").exists()
    assert main(["export", str(target.path), str(tmp_path / "x.json"), "--format", "coco"]) == 1
    assert "unknown tag format 'coco'" in capsys.readouterr().err
