"""MOT-layout clips: reading gt.txt, and the errors that name the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media import synthetic_frames, write_image_folder

from microlab.errors import FormatError, SettingsError
from microlab.multi.clip import load_multi_clip, parse_gt

GOOD = "1,1,10,20,30,40,1,1,1\n1,2,50,20,30,40,1,2,1\n2,1,12,20,30,40,1,1,1\n"


def test_rows_become_per_frame_detections_with_identities_and_classes() -> None:
    truth = parse_gt(GOOD, n_frames=3, n_classes=2)
    assert [len(d) for d in truth] == [2, 1, 0]
    assert truth[0].track_ids.tolist() == [1, 2]
    assert truth[0].class_ids.tolist() == [0, 1]  # 1-based in the file, 0-based here
    assert np.allclose(truth[0].xyxy[0], [10, 20, 40, 60])


def test_ignore_rows_and_a_tenth_column_are_accepted() -> None:
    truth = parse_gt("1,1,10,20,30,40,0,1,1\n1,2,50,20,30,40,1,1,1,-1\n", n_frames=1)
    assert truth[0].track_ids.tolist() == [2]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,1,10,20,30,40,1\n", ["line 1", "7 columns", "9"]),
        ("1,1,10,20,30,40,1,1,1\n4,1,10,20,30,40,1,1,1\n", ["line 2", "frame 4", "1..3"]),
        ("0,1,10,20,30,40,1,1,1\n", ["line 1", "1-based"]),
        (GOOD + "2,1,15,20,30,40,1,1,1\n", ["line 4", "id 1", "frame 2", "line 3"]),
        ("1,1,10,20,30,40,1,3,1\n", ["line 1", "class id 3", "classes.txt lists 2"]),
        ("1,1,10,20,-5,40,1,1,1\n", ["line 1", "positive width"]),
        ("1,x,10,20,30,40,1,1,1\n", ["line 1", "number"]),
    ],
    ids=["columns", "frame-beyond", "frame-zero", "duplicate", "class", "size", "not-a-number"],
)
def test_malformed_gt_names_the_line_and_the_fix(text: str, words: list[str]) -> None:
    with pytest.raises(FormatError) as info:
        parse_gt(text, n_frames=3, n_classes=2)
    for word in words:
        assert word in str(info.value)


def test_a_clip_folder_with_and_without_classes(tmp_path: Path) -> None:
    folder = tmp_path / "clip"
    write_image_folder(folder / "img", synthetic_frames(3, (96, 64)))
    (folder / "gt.txt").write_text(GOOD)
    clip = load_multi_clip(folder)
    assert clip.classes == ("class 1", "class 2")
    assert clip.identities == [1, 2]
    assert clip.n_boxes == 3
    (folder / "classes.txt").write_text("person\ncar\n")
    clip = load_multi_clip(folder)
    assert clip.classes == ("person", "car")
    track = clip.track(1)
    assert np.isnan(track[2]).all()
    assert np.allclose(track[1], [12, 20, 42, 60])


def test_a_folder_without_gt_says_what_it_needs(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "clip" / "img", synthetic_frames(2, (32, 32)))
    with pytest.raises(FormatError, match=r"no gt\.txt"):
        load_multi_clip(tmp_path / "clip")


@pytest.mark.needs_shared_data
def test_the_shared_clips_read(shared_multi) -> None:
    facts = {"pets09_s3mf1": (107, 7, 620), "zebrafish_larvae_01": (280, 4, 1120),
             "otb_jogging": (307, 2, 614)}
    for name, (frames, objects, boxes) in facts.items():
        clip = load_multi_clip(shared_multi / name)
        assert (len(clip), len(clip.identities), clip.n_boxes) == (frames, objects, boxes)


def test_the_generated_multi_demo_has_look_alikes_that_leave_and_return(tmp_path) -> None:
    import numpy as np

    from microlab.datasets import demo_multi_clip
    from microlab.multi.clip import load_multi_clip

    folder = demo_multi_clip(tmp_path / "multi", n_frames=120, size=(192, 128), seed=2)
    clip = load_multi_clip(folder)
    assert clip.classes == ("walker", "cart")
    assert clip.identities == [1, 2, 3, 4, 5]
    assert sorted({int(c) for d in clip.truth for c in d.class_ids}) == [0, 1]
    seen = ~np.isnan(clip.track(1)[:, 0])
    gone = np.flatnonzero(~seen)
    assert len(gone)
    assert gone[0] > 0
    assert seen[gone[-1] + 1:].any()
    again = demo_multi_clip(tmp_path / "multi", n_frames=120, size=(192, 128), seed=2)
    assert (again / "gt.txt").read_text() == (folder / "gt.txt").read_text()
    for d in clip.truth:  # every box inside the frame
        assert (d.xyxy[:, [0, 1]] >= 0).all()
        assert (d.xyxy[:, 2] <= 192).all()
        assert (d.xyxy[:, 3] <= 128).all()


def test_a_crowd_keeps_the_first_five_objects_and_adds_look_alike_walkers_and_carts(
        tmp_path) -> None:
    from microlab.datasets import generate_demo_multi_frames

    _, five = generate_demo_multi_frames(40, (320, 192), seed=1)
    frames, crowd = generate_demo_multi_frames(40, (320, 192), seed=1, n_objects=12)
    assert len(frames) == 40
    ids = sorted({i for here in crowd for i, _, _ in here})
    assert ids == list(range(1, 13))
    # The first five objects move exactly as in the five-object demo.
    for small, big in zip(five, crowd):
        assert small == [o for o in big if o[0] <= 5]
    classes = {i: c for here in crowd for i, c, _ in here}
    assert [classes[i] for i in range(6, 13)] == [0, 1, 0, 1, 0, 1, 0]  # walkers and carts in turn
    assert generate_demo_multi_frames(40, (320, 192), seed=1, n_objects=12)[1] == crowd
    with pytest.raises(SettingsError, match="n_objects"):
        generate_demo_multi_frames(5, n_objects=0)
