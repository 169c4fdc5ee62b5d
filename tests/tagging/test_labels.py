"""labels.txt: parsing, writing and the errors that name the line and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microlab.datasets import demo_tag_clip
from microlab.errors import FormatError
from microlab.tagging.labels import (
    PRESENCE_CLASSES,
    format_labels,
    load_tag_clip,
    parse_labels,
    write_labels,
)


def test_classes_come_from_the_file_in_order_of_first_appearance() -> None:
    classes, tags = parse_labels("beach\nbeach\nmeadow\nbeach\n")
    assert classes == ("beach", "meadow")
    assert tags.tolist() == [0, 0, 1, 0]
    assert format_labels(tags, classes) == "beach\nbeach\nmeadow\nbeach\n"


@pytest.mark.parametrize(
    ("text", "kwargs", "words"),
    [
        ("a\n\nb\n", {}, ["line 2", "empty line"]),
        ("a\nb\n", {"n_frames": 3}, ["2 lines", "3 frames"]),
        ("a\nc\n", {"classes": ["a", "b"]}, ["line 2", "'c'", "classes.txt"]),
        ("", {}, ["empty"]),
    ],
    ids=["empty-line", "wrong-length", "undeclared-class", "empty-file"],
)
def test_bad_labels_name_the_line_and_the_fix(text: str, kwargs: dict, words: list[str]) -> None:
    with pytest.raises(FormatError) as info:
        parse_labels(text, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_a_tag_clip_folder_round_trips(tmp_path: Path) -> None:
    clip = demo_tag_clip(tmp_path / "demo", n_frames=40, size=(96, 64))
    assert len(clip) == 40
    assert len(clip.frames) == 40
    again = load_tag_clip(tmp_path / "demo")
    assert again.classes == clip.classes
    assert np.array_equal(again.tags, clip.tags)
    # Rewriting with declared classes keeps them, unused ones included.
    write_labels(tmp_path / "demo", clip.tags, [*clip.classes, "unused"])
    assert load_tag_clip(tmp_path / "demo").classes[-1] == "unused"


def test_a_box_clip_without_labels_gives_object_presence(small_clip) -> None:
    clip = load_tag_clip(small_clip.path)
    assert clip.classes == PRESENCE_CLASSES
    assert np.array_equal(clip.tags, small_clip.present.astype(int))


def test_a_folder_without_tags_or_boxes_says_what_is_missing(tmp_path: Path) -> None:
    from media import synthetic_frames, write_image_folder

    write_image_folder(tmp_path / "clip" / "img", synthetic_frames(3, (32, 32)))
    with pytest.raises(FormatError, match=r"no labels\.txt"):
        load_tag_clip(tmp_path / "clip")
