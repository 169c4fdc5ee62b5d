"""Frames: image folders and video files, random access, and clear errors for broken input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import synthetic_frames, write_image_folder, write_video

from microlab.errors import AnnotationError, FrameIndexError, FramesError
from microlab.frames import (
    ImageFolderFrames,
    VideoFrames,
    frame_index,
    open_frames,
    resize_long_side,
    thumbnail,
)

# ------------------------------------------------------------------ image folders


def test_image_folder_natural_sort_and_pixels(tmp_path: Path) -> None:
    frames = synthetic_frames(4, (40, 30))
    # Written out of order; lexical order would put img10 before img2.
    names = ["img10.png", "img2.png", "img1.png", "IMG3.png"]
    write_image_folder(tmp_path / "f", frames, names=names)
    (tmp_path / "f" / "notes.txt").write_text("not a frame")
    src = ImageFolderFrames(tmp_path / "f")
    assert [p.name for p in src.files] == ["img1.png", "img2.png", "IMG3.png", "img10.png"]
    assert len(src) == 4
    assert src.size == (40, 30)
    by_name = dict(zip(names, frames))
    for i, name in enumerate(["img1.png", "img2.png", "IMG3.png", "img10.png"]):
        got = src[i]
        assert got.dtype == np.uint8
        assert got.shape == (30, 40, 3)
        np.testing.assert_array_equal(got, by_name[name])  # PNG is lossless, and RGB order kept
    np.testing.assert_array_equal(src[-1], by_name["img10.png"])
    assert sum(1 for _ in src) == 4


@pytest.mark.parametrize(
    "names",
    [
        ["1.png", "a.png", "a1.png", "1a.png", "01.png"],
        ["1²2.png", "12.png", "²", "x.png"],  # a superscript digit is not a number
        ["٣.png", "2.png", "10.png"],  # other scripts' decimal digits are numbers
    ],
)
def test_natural_sort_never_fails_on_odd_names(tmp_path: Path, names: list[str]) -> None:
    names = [n if n.endswith(".png") else n + ".png" for n in names]
    write_image_folder(tmp_path / "f", synthetic_frames(len(names), (8, 8)), names=names)
    src = ImageFolderFrames(tmp_path / "f")
    assert sorted(p.name for p in src.files) == sorted(names)


def test_image_folder_ignores_hidden_files(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "f", synthetic_frames(2, (8, 8)))
    # macOS leaves AppleDouble files ("._0.png") next to copied frames; they are not images.
    (tmp_path / "f" / "._0.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    assert len(ImageFolderFrames(tmp_path / "f")) == 2


def test_image_folder_size_mismatch_names_the_file(tmp_path: Path) -> None:
    frames = synthetic_frames(3, (40, 30))
    frames[2] = synthetic_frames(1, (41, 30))[0]
    write_image_folder(tmp_path / "f", frames)
    src = ImageFolderFrames(tmp_path / "f")
    src[1]
    with pytest.raises(FramesError, match=r"2\.png\) is 41x30 but the first frame is 40x30"):
        src[2]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"this is text, not an image", id="text"),
        pytest.param(b"\xff\xd8\xff\xe0" + bytes(100), id="jpeg-header-only"),
    ],
)
@pytest.mark.parametrize("which", [0, 2])
def test_image_folder_corrupt_image_names_the_file(tmp_path: Path, content: bytes,
                                                   which: int) -> None:
    write_image_folder(tmp_path / "f", synthetic_frames(3, (16, 16)))
    (tmp_path / "f" / f"{which}.png").write_bytes(content)
    if which == 0:  # the first frame is read at open time, to learn the size
        with pytest.raises(FramesError, match=r"0\.png.*cannot be decoded"):
            ImageFolderFrames(tmp_path / "f")
    else:
        src = ImageFolderFrames(tmp_path / "f")
        with pytest.raises(FramesError, match=r"frame 2 \(.*2\.png\) cannot be decoded"):
            src[2]


def test_image_folder_truncated_jpeg_names_the_file(tmp_path: Path) -> None:
    frame = synthetic_frames(1, (64, 48))[0]
    write_image_folder(tmp_path / "f", [frame, frame], names=["a.jpg", "b.jpg"])
    data = (tmp_path / "f" / "b.jpg").read_bytes()
    (tmp_path / "f" / "b.jpg").write_bytes(data[: len(data) * 2 // 3])
    src = open_frames(tmp_path / "f")
    with pytest.raises(FramesError, match=r"b\.jpg"):
        src[1]


def test_image_folder_file_removed_after_opening_is_a_frames_error(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "f", synthetic_frames(2, (8, 8)))
    src = ImageFolderFrames(tmp_path / "f")
    (tmp_path / "f" / "1.png").unlink()
    with pytest.raises(FramesError, match=r"1\.png"):
        src[1]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda p: p.mkdir(), "holds no images", id="empty-folder"),
        pytest.param(
            lambda p: (p.mkdir(), (p / "a.txt").write_text("x")), "it has 1 other entries",
            id="only-text",
        ),
        pytest.param(lambda p: None, "does not exist", id="missing"),
        pytest.param(
            lambda p: (p.mkdir(), (p / "img").mkdir()), "holds no images", id="empty-img-subfolder",
        ),
    ],
)
def test_open_frames_bad_folders(tmp_path: Path, setup: Callable, message: str) -> None:
    target = tmp_path / "frames"
    setup(target)
    with pytest.raises(FramesError, match=message) as info:
        open_frames(target)
    assert "frames" in str(info.value)


def test_open_frames_single_image_says_give_the_folder(tmp_path: Path) -> None:
    write_image_folder(tmp_path, synthetic_frames(1, (8, 8)), names=["only.png"])
    with pytest.raises(FramesError, match=r"only\.png is a single image"):
        open_frames(tmp_path / "only.png")


def test_image_folder_rejects_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(FramesError, match="not a folder"):
        ImageFolderFrames(tmp_path / "x.png")


def test_open_frames_on_an_otb_folder_opens_img(small_clip) -> None:
    src = open_frames(small_clip.path)
    assert isinstance(src, ImageFolderFrames)
    assert src.path.name == "img"
    assert len(src) == len(small_clip.ground_truth)
    assert src.size == (96, 64)


# ------------------------------------------------------------------ video files

VIDEO_FORMATS = [
    pytest.param("clip.mp4", "mp4v", id="mp4v-mp4"),
    pytest.param("clip.avi", "MJPG", id="mjpg-avi"),
]


@pytest.mark.parametrize(("name", "fourcc"), VIDEO_FORMATS)
def test_video_count_size_fps_and_pixels(tmp_path: Path, name: str, fourcc: str) -> None:
    source = synthetic_frames(30, (64, 48))
    path = write_video(tmp_path / name, source, fourcc=fourcc, fps=12.0)
    video = open_frames(path)
    assert isinstance(video, VideoFrames)
    assert len(video) == 30
    assert video.size == (64, 48)
    assert video.fps == pytest.approx(12.0)
    sequential = list(video)
    assert len(sequential) == 30
    for got, want in zip(sequential, source):
        assert got.shape == (48, 64, 3)
        assert got.dtype == np.uint8
        # Lossy codecs: close to the source on average (RGB order kept: a swap would be ~100).
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 8


@pytest.mark.parametrize(("name", "fourcc"), VIDEO_FORMATS)
def test_video_random_access_matches_sequential_reading(tmp_path: Path, name: str,
                                                        fourcc: str) -> None:
    path = write_video(tmp_path / name, synthetic_frames(40, (64, 48)), fourcc=fourcc)
    sequential = list(open_frames(path))
    # A fresh reader with a cache too small to help: every jump is a real seek.
    video = VideoFrames(path, cache_size=1)
    order = [*np.random.default_rng(7).permutation(40).tolist(), 39, 0, 20, 19, 21, 5]
    for i in order:
        diff = np.abs(video[i].astype(int) - sequential[i].astype(int)).max()
        assert diff <= 2, f"frame {i} differs by {diff} after a seek"


def test_video_frames_are_independent_copies(tmp_path: Path) -> None:
    video = open_frames(write_video(tmp_path / "c.avi", synthetic_frames(5, (32, 32)),
                                    fourcc="MJPG"))
    first = video[3]
    expected = first.copy()
    first[:] = 0  # a caller drawing on the frame must not change what the next read returns
    np.testing.assert_array_equal(video[3], expected)


@pytest.mark.parametrize(
    ("index", "error"),
    [
        (30, "out of range"),
        (-31, "out of range"),
        (1.0, "float 1.0"),
        (True, "bool True"),
        ("3", "str '3'"),
        (None, "NoneType None"),
    ],
)
def test_video_bad_index(make_video: Callable[..., Path], index: object, error: str) -> None:
    video = open_frames(make_video("c.mp4"))
    # An AnnotationError for microlab callers, still an IndexError for Python ones.
    with pytest.raises(AnnotationError, match=error) as info:
        video[index]
    if "range" in error:
        assert isinstance(info.value, IndexError)
        assert "c.mp4 has frames 0..29" in str(info.value)
    np.testing.assert_array_equal(video[np.int64(-1)], video[29])


def _truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    out = path.with_name(f"cut-{path.name}")
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


@pytest.mark.parametrize(
    ("name", "fourcc", "fraction", "message"),
    [
        # OpenCV writes the MP4 index (moov atom) last: a cut file has none and cannot open.
        pytest.param("c.mp4", "mp4v", 0.7, "cannot be opened as a video", id="mp4-cut"),
        pytest.param("c.avi", "MJPG", 0.6, "is truncated: its header declares 30 frames",
                     id="avi-cut"),
        pytest.param("c.avi", "MJPG", 0.02, "cannot be opened as a video", id="avi-header-only"),
    ],
)
def test_truncated_video_is_a_clear_error(
    make_video: Callable[..., Path], name: str, fourcc: str, fraction: float, message: str
) -> None:
    cut = _truncate(make_video(name, fourcc=fourcc), fraction)
    with pytest.raises(FramesError, match=message) as info:
        open_frames(cut)
    assert str(cut) in str(info.value)


def test_unopenable_video_message_mentions_truncation(make_video: Callable[..., Path]) -> None:
    cut = _truncate(make_video("c.mp4"), 0.5)
    with pytest.raises(FramesError, match="truncated"):
        open_frames(cut)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("notes.mp4", b"hello, this is text\n" * 20, "cannot be opened as a video",
                     id="text-named-mp4"),
        pytest.param("empty.mp4", b"", "empty file", id="empty-mp4"),
        pytest.param("empty.avi", b"", "empty file", id="empty-avi"),
        pytest.param("noise.avi", bytes(range(256)) * 8, "cannot be opened as a video",
                     id="binary-named-avi"),
    ],
)
def test_not_a_video(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(FramesError, match=message) as info:
        open_frames(tmp_path / name)
    assert name in str(info.value)


def test_missing_video(tmp_path: Path) -> None:
    with pytest.raises(FramesError, match=r"gone\.mp4 does not exist"):
        open_frames(tmp_path / "gone.mp4")
    with pytest.raises(FramesError, match=r"gone\.mp4 does not exist"):
        VideoFrames(tmp_path / "gone.mp4")
    with pytest.raises(FramesError, match="is a folder"):
        VideoFrames(tmp_path)


def test_frames_error_is_an_os_error() -> None:
    # Callers that already catch OSError for unreadable files keep working.
    assert issubclass(FramesError, OSError)


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("shape", "long_side", "out_shape", "scale"),
    [
        ((100, 200, 3), 100, (50, 100, 3), 0.5),
        ((300, 150, 3), 600, (600, 300, 3), 2.0),
        ((64, 64, 3), 64, (64, 64, 3), 1.0),
    ],
)
def test_resize_long_side(shape: tuple, long_side: int, out_shape: tuple, scale: float) -> None:
    out, got_scale = resize_long_side(np.zeros(shape, np.uint8), long_side)
    assert out.shape == out_shape
    assert got_scale == pytest.approx(scale)


def test_thumbnail_only_shrinks() -> None:
    assert thumbnail(np.zeros((100, 400, 3), np.uint8), 160).shape == (40, 160, 3)
    small = np.zeros((20, 30, 3), np.uint8)
    assert thumbnail(small, 160) is small


# ------------------------------------------------------------------ real data


@pytest.mark.needs_shared_data
@pytest.mark.parametrize(
    ("name", "n", "size"),
    [("otb_crossing", 120, (360, 240)), ("davis2016_car-shadow", 40, (854, 480))],
)
def test_shared_sequences_open(shared_sequences: Path, name: str, n: int, size: tuple) -> None:
    src = open_frames(shared_sequences / name)
    assert (len(src), src.size) == (n, size)
    last = src[n - 1]
    assert last.shape == (size[1], size[0], 3)
    assert last.std() > 5  # a real picture, not a blank
    assert cv2.imread(str(src.files[n - 1])) is not None


@pytest.mark.parametrize(
    ("index", "negative", "expected"),
    [(0, False, 0), (9, False, 9), (np.int64(4), False, 4), (-1, True, 9), (-10, True, 0)],
)
def test_frame_index_accepts_ints(index: object, negative: bool, expected: int) -> None:
    got = frame_index(index, 10, negative=negative)
    assert (got, type(got)) == (expected, int)


@pytest.mark.parametrize(
    ("index", "negative", "message"),
    [
        (10, False, "frame 10 is out of range: clip.mp4 has frames 0..9"),
        (-1, False, "frame -1 is out of range"),
        (-11, True, "frame -11 is out of range"),
        (True, False, "bool True"),
        (1.0, False, "float 1.0"),
        ("3", False, "str '3'"),
        (None, False, "NoneType None"),
    ],
)
def test_frame_index_rejects_with_the_value(index: object, negative: bool, message: str) -> None:
    with pytest.raises(FrameIndexError, match=re.escape(message)) as info:
        frame_index(index, 10, clip="clip.mp4", negative=negative)
    assert isinstance(info.value, IndexError)  # still an IndexError for Python callers
