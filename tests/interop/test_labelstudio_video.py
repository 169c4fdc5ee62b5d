"""Label Studio video: one videorectangle per object, objects that leave and return, identities
and human vs machine kept, Label Studio's interpolation read back, bad files named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from microlab.errors import FormatError
from microlab.interop import labelstudio_video_config, load_labels, save_labels
from microlab.interop.labels import ClipInfo, LabelSet, label_box

CLIP = ClipInfo(8, (100, 50), tuple(f"{i:03d}.jpg" for i in range(8)), name="street", fps=10)


def _labels() -> LabelSet:
    a = lambda x: label_box((x, 10, x + 10, 30), 0, track_id=5)
    b = lambda x: label_box((x, 5, x + 20, 45), 1, track_id=9)
    frames = {0: [a(0), b(60)], 1: [a(2)], 2: [a(4), b(56)],  # track 5 leaves after frame 2
              3: [b(54)], 6: [a(12), b(48)],                  # and is back at 6; 4-5 unlabelled
              7: [label_box((70, 5, 90, 45), 1, source="model", score=0.75, track_id=9)]}
    return LabelSet.from_boxes(CLIP, ["person", "car"], frames)


def test_each_object_is_one_region_that_ends_where_it_left(tmp_path: Path) -> None:
    out = save_labels(_labels(), "labelstudio_video", tmp_path / "video.json")
    (task,) = json.loads(out.read_text())
    human = task["annotations"][0]["result"]
    assert [(r["meta"]["track_id"], r["value"]["labels"]) for r in human] == [
        (5, ["person"]), (9, ["car"])]
    person = [(k["frame"], k["enabled"]) for k in human[0]["value"]["sequence"]]
    # frames 1-3 (1-based) boxed, gone on frame 4 (a labelled frame without it), back on 7,
    # gone again on 8 (labelled: the car's machine box)
    assert person == [(1, True), (2, True), (3, True), (4, False), (7, True), (8, False)]
    assert human[0]["value"]["sequence"][1]["time"] == pytest.approx(0.1)
    (machine,) = task["predictions"][0]["result"]
    assert machine["meta"] == {"track_id": 9, "scores": [0.75]}
    assert '<VideoRectangle name="box" toName="video"/>' in labelstudio_video_config(["a"])


def test_reading_back_keeps_identities_and_interpolates_like_label_studio(tmp_path) -> None:
    want = _labels()
    out = save_labels(want, "labelstudio_video", tmp_path / "video.json")
    got = load_labels("labelstudio_video", out, CLIP)
    assert got.classes == ["person", "car"]
    for frame, boxes in want.frames.items():
        mine = got.frames[frame]
        keyed = {int(t): (tuple(x), str(s)) for t, x, s in
                 zip(mine.track_ids, mine.xyxy.tolist(), mine.sources)}
        for t, x, s in zip(boxes.track_ids, boxes.xyxy.tolist(), boxes.sources):
            assert keyed[int(t)] == (tuple(x), str(s)), f"frame {frame}, track {t}"
    # frames 4-5 were unlabelled: Label Studio shows the car interpolated between 3 and 6
    car = got.frames[4]
    assert car.track_ids.tolist() == [9]
    assert car.xyxy[0].tolist() == pytest.approx([52, 5, 72, 45])
    assert str(car.sources[0]) == "interpolated"
    assert 4 not in {f for f, d in got.frames.items() if 5 in d.track_ids.tolist()}


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.append(dict(t[0])), "expected one Label Studio video task"),
    (lambda t: t[0]["annotations"][0]["result"][0]["value"].pop("sequence"),
     r"result\[0\]: a videorectangle region needs 'value.sequence'"),
    (lambda t: t[0]["annotations"][0]["result"][0]["value"]["sequence"][0].update(frame=99),
     r"sequence\[0\]: frame 99 is outside the clip \(frames 1 to 8\)"),
    (lambda t: t[0]["annotations"][0]["result"][1]["value"]["sequence"][0].update(rotation=30),
     "rotated rectangles cannot be imported"),
])
def test_broken_files_name_the_place_and_the_fix(tmp_path: Path, change, message) -> None:
    out = save_labels(_labels(), "labelstudio_video", tmp_path / "video.json")
    tasks = json.loads(out.read_text())
    change(tasks)
    out.write_text(json.dumps(tasks))
    with pytest.raises(FormatError, match=message):
        load_labels("labelstudio_video", out, CLIP)
