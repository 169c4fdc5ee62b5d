"""OTB-style sequences: ground-truth parsing, writing, loading, and the shared real sequences."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from media import synthetic_frames

from microlab.errors import FormatError, FramesError
from microlab.sequences import (
    find_sequences,
    format_ground_truth,
    load_sequence,
    parse_ground_truth,
    write_sequence,
)

NAN = math.nan


@pytest.mark.parametrize(
    ("text", "xyxy"),
    [
        pytest.param("10,20,30,40\n", [[10, 20, 40, 60]], id="commas"),
        pytest.param("10\t20\t30\t40", [[10, 20, 40, 60]], id="tabs-no-newline"),
        pytest.param("10 20  30 40\r\n1.5,2.5,3,4\r\n", [[10, 20, 40, 60], [1.5, 2.5, 4.5, 6.5]],
                     id="spaces-crlf-floats"),
        pytest.param("10, 20, 30, 40,\n", [[10, 20, 40, 60]], id="comma-space-trailing"),
        pytest.param("nan,nan,nan,nan\n5,5,5,5\n", [[NAN] * 4, [5, 5, 10, 10]], id="nan-row"),
        pytest.param("NaN,NaN,NaN,NaN\n", [[NAN] * 4], id="nan-any-case"),
        pytest.param("\n1,2,3,4\n\n", [[1, 2, 4, 6]], id="blank-lines"),
        pytest.param("", np.zeros((0, 4)), id="empty"),
    ],
)
def test_parse_ground_truth(text: str, xyxy: list) -> None:
    got = parse_ground_truth(text)
    assert got.shape == (len(xyxy), 4)
    np.testing.assert_array_equal(got, np.asarray(xyxy, float).reshape(-1, 4))


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        pytest.param("1,2,3,4\n1,2,3\n", 2, "expected 4 numbers", id="three-values"),
        pytest.param("1,2,3,4,5\n", 1, "expected 4 numbers", id="five-values"),
        pytest.param("1,2,3,4\n1,2,3,4\n1,x,3,4\n", 3, "not a number", id="not-a-number"),
        pytest.param("1,2,0,4\n", 1, "must be positive", id="zero-width"),
        pytest.param("1,2,3,-4\n", 1, "must be positive", id="negative-height"),
        pytest.param("1,2,inf,4\n", 1, "must be positive finite", id="infinite"),
        pytest.param("1,2,3,4\n\n1,nan,3,4\n", 3, "all four NaN", id="partial-nan"),
    ],
)
def test_parse_ground_truth_names_the_bad_line(text: str, line: int, why: str) -> None:
    with pytest.raises(FormatError, match=why) as info:
        parse_ground_truth(text, source="gt.txt")
    assert f"gt.txt line {line}:" in str(info.value)


def test_format_and_parse_round_trip() -> None:
    xyxy = np.array([[10, 20, 40, 60], [NAN] * 4, [0.5, 1.25, 3.75, 9.0], [0, 0, 1, 1]])
    text = format_ground_truth(xyxy)
    assert text.splitlines() == ["10,20,30,40", "nan,nan,nan,nan", "0.5,1.25,3.25,7.75", "0,0,1,1"]
    np.testing.assert_array_equal(parse_ground_truth(text), xyxy)


def test_write_load_and_find_sequences(tmp_path: Path) -> None:
    frames = synthetic_frames(3, (32, 24))
    gt = np.array([[1, 2, 11, 12], [NAN] * 4, [3, 4, 13, 14]])
    written = write_sequence(tmp_path / "seqs" / "b", frames, gt, meta={"name": "b"})
    assert len(written) == 3
    write_sequence(tmp_path / "seqs" / "a", frames[:1], gt[:1])
    (tmp_path / "seqs" / "not-a-sequence").mkdir()
    assert [p.name for p in find_sequences(tmp_path / "seqs")] == ["a", "b"]
    seq = load_sequence(tmp_path / "seqs" / "b")
    assert (seq.name, len(seq), seq.frames.size) == ("b", 3, (32, 24))
    np.testing.assert_array_equal(seq.ground_truth, gt)
    assert seq.present.tolist() == [True, False, True]
    assert json.loads((tmp_path / "seqs" / "b" / "meta.json").read_text()) == {"name": "b"}
    assert np.abs(seq.frames[2].astype(int) - frames[2].astype(int)).mean() < 4  # JPEG q92


def test_write_sequence_refuses_a_count_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="wrote 2 frames but got 3"):
        write_sequence(tmp_path / "s", synthetic_frames(2, (8, 8)), np.zeros((3, 4)))


def test_load_sequence_errors(small_clip, tmp_path: Path) -> None:
    with pytest.raises(FramesError, match="does not exist"):
        load_sequence(tmp_path / "nowhere")
    copy = Path(shutil.copytree(small_clip.path, tmp_path / "clip"))
    gt_path = copy / "groundtruth.txt"
    lines = gt_path.read_text().splitlines()
    gt_path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(FormatError,
                       match=rf"has {len(lines) - 1} boxes but .* has {len(lines)} frames"):
        load_sequence(copy)
    gt_path.write_bytes(b"\xff\xfe\x00garbage\x89")
    with pytest.raises(FormatError, match=r"groundtruth\.txt is not a text file"):
        load_sequence(copy)
    gt_path.unlink()
    with pytest.raises(FramesError, match=r"has no groundtruth\.txt"):
        load_sequence(copy)
    with pytest.raises(FramesError, match="not a folder of sequences"):
        find_sequences(tmp_path / "nowhere")


def test_small_clip_has_consistent_truth(small_clip) -> None:
    gt = small_clip.ground_truth
    assert gt.shape == (len(small_clip), 4)
    boxes = gt[small_clip.present]
    assert len(boxes) > 0
    assert (boxes[:, 2] > boxes[:, 0]).all()
    assert (boxes[:, 3] > boxes[:, 1]).all()
    width, height = small_clip.frames.size
    assert (boxes >= -1e-6).all()
    assert (boxes[:, [0, 2]] <= width + 1e-6).all()
    assert (boxes[:, [1, 3]] <= height + 1e-6).all()


# The README's table of the shared sequences: name, frames, (width, height), absent frames.
SHARED = [
    ("otb_crossing", 120, (360, 240), []),
    ("otb_basketball", 725, (576, 432), []),
    ("vot2015_bag", 196, (480, 360), []),
    ("davis2016_car-shadow", 40, (854, 480), []),
    ("dtb70_surfing06", 106, (1280, 720), []),
    ("uav123_group2_2", 289, (1280, 720), [170, 171, 172, 173, 174]),  # files 00171-00175
]


@pytest.mark.needs_shared_data
@pytest.mark.parametrize(("name", "n", "size", "absent"), SHARED, ids=[s[0] for s in SHARED])
def test_shared_sequences_load(
    shared_sequences: Path, name: str, n: int, size: tuple, absent: list[int]
) -> None:
    seq = load_sequence(shared_sequences / name)
    assert (len(seq), seq.frames.size) == (n, size)
    assert np.flatnonzero(~seq.present).tolist() == absent
    boxes = seq.ground_truth[seq.present]
    assert (boxes[:, 0] >= -1).all()
    assert (boxes[:, 2] <= size[0] + 1).all()
    assert (boxes[:, 1] >= -1).all()
    assert (boxes[:, 3] <= size[1] + 1).all()


@pytest.mark.needs_shared_data
def test_find_shared_sequences(shared_sequences: Path) -> None:
    names = [p.name for p in find_sequences(shared_sequences)]
    assert names == sorted(s[0] for s in SHARED)
