"""Frames: lazy random access to the frames of a video file or a folder of images.

``open_frames(path)`` picks the reader: a video file (anything OpenCV decodes: mp4, avi, mov,
mkv...) or a folder of images (sorted by natural order, so ``img2.jpg`` comes before
``img10.jpg``).  An OTB-style sequence folder (``img/`` + ``groundtruth.txt``) opens its
``img/`` folder.  Frames come back as RGB ``uint8`` arrays of shape ``(height, width, 3)``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from microlab.errors import FrameIndexError, FramesError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")


@runtime_checkable
class FrameSource(Protocol):
    """What every frame reader offers."""

    path: Path
    size: tuple[int, int]  # (width, height)
    fps: float

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> np.ndarray: ...


def _natural_key(path: Path) -> list[object]:
    # re.split with a group alternates text, digits, text...: odd items are the numbers.  Testing
    # str.isdigit() instead crashed on names like "1²2.jpg" ("²" is a digit int() cannot read).
    return [int(t) if i % 2 else t.lower() for i, t in enumerate(re.split(r"(\d+)", path.name))]


def frame_index(index: object, n: int, *, clip: str = "this project",
                negative: bool = False) -> int:
    """``index`` as an int in ``0..n-1``, or :class:`FrameIndexError` naming the value.

    Only ints (numpy's too) pass: ``int()`` alone would read 1.7 and ``True`` as frame 1.  With
    ``negative=True``, ``-1`` is the last frame as in a Python sequence.  ``clip`` names the
    clip in the message (``"c.mp4 has frames 0..29"``).

    >>> frame_index(np.int64(3), 10), frame_index(-1, 10, negative=True)
    (3, 9)
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise FrameIndexError("frame index must be an int, but got "
                              f"{type(index).__name__} {index!r}")
    given = int(index)
    resolved = given + n if negative and given < 0 else given
    if not 0 <= resolved < n:
        raise FrameIndexError(f"frame {given} is out of range: {clip} has frames 0..{n - 1}")
    return resolved


class ImageFolderFrames:
    """The images of one folder, one frame each, in natural sort order."""

    def __init__(self, folder: str | Path, *, fps: float = 30.0) -> None:
        folder = Path(folder)
        if not folder.exists():
            raise FramesError(f"frame folder {folder} does not exist; check the path")
        if not folder.is_dir():
            raise FramesError(f"{folder} is not a folder of images")
        # Hidden files are not frames (macOS copies leave "._00001.jpg" metadata beside each).
        files = sorted(
            (p for p in folder.iterdir()
             if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()),
            key=_natural_key,
        )
        if not files:
            others = sum(1 for _ in folder.iterdir())
            raise FramesError(
                f"frame folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                f"it has {others} other entries. Point at the folder that contains the frames."
            )
        self.path = folder
        self.files = files
        self.fps = float(fps)
        first = self._read(0)
        self.size = (int(first.shape[1]), int(first.shape[0]))

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, index: int) -> np.ndarray:
        path = self.files[index]
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except OSError as exc:  # removed or unreadable since the folder was listed
            raise FramesError(f"frame {index} ({path}) cannot be read: "
                              f"{exc.strerror or exc}") from exc
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise FramesError(
                f"frame {index} ({path}) cannot be decoded: the file is empty, truncated or not "
                "an image. Replace or remove it."
            )
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def __getitem__(self, index: int) -> np.ndarray:
        index = frame_index(index, len(self), clip=self.path.name, negative=True)
        image = self._read(index)
        if (image.shape[1], image.shape[0]) != self.size:
            raise FramesError(
                f"frame {index} ({self.files[index].name}) is {image.shape[1]}x{image.shape[0]} "
                f"but the first frame is {self.size[0]}x{self.size[1]}; all frames of a clip must "
                "have one size (resize them, or open each size as its own clip)"
            )
        return image

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"ImageFolderFrames({str(self.path)!r}, n={len(self)}, size={self.size})"


class VideoFrames:
    """Frames of a video file decoded by OpenCV, with cheap sequential reads and seeking.

    A few recently decoded frames are cached, so the back-and-forth of review is instant.
    """

    def __init__(self, path: str | Path, *, cache_size: int = 32) -> None:
        path = Path(path)
        if not path.exists():
            raise FramesError(f"video {path} does not exist; check the path")
        if path.is_dir():
            raise FramesError(f"{path} is a folder; use ImageFolderFrames or open_frames()")
        if path.stat().st_size == 0:
            raise FramesError(f"video {path} is an empty file (0 bytes); copy it again")
        self.path = path
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cap = cv2.VideoCapture(str(path))
        try:
            self._open()
        except BaseException:
            self._cap.release()  # a file that fails to open is not held open
            raise

    def _open(self) -> None:
        path = self.path
        if not self._cap.isOpened():
            raise FramesError(
                f"{path} cannot be opened as a video: it is not a video file, it is truncated (an "
                "MP4 cut short loses its index), or its codec is not supported by OpenCV's "
                "FFmpeg. Re-copy it, convert it (e.g. `ffmpeg -i IN -c:v libx264 out.mp4`) or "
                "extract the frames to a folder."
            )
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        self._next = 0  # index of the frame the next cap.read() returns
        ok, first = self._cap.read()
        if not ok or first is None:
            raise FramesError(f"video {path} opened but holds no decodable frame; is it truncated?")
        self._next = 1
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self._remember(0, cv2.cvtColor(first, cv2.COLOR_BGR2RGB))
        self._n = self._count_frames()

    def _count_frames(self) -> int:
        declared = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if declared > 1 and self._decode(declared - 1) is not None:
            return declared
        # The header is missing or lies (a truncated file): count what really decodes.
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        decoded = 0
        while self._cap.grab():
            decoded += 1
        self._next = decoded
        # Containers often declare a frame or two more than they hold; more than that is damage.
        if declared > 1 and declared - decoded > max(2, declared // 100):
            raise FramesError(
                f"video {self.path} is truncated: its header declares {declared} frames but only "
                f"{decoded} decode. Re-download or re-encode it, or cut it to the first {decoded} "
                "frames (e.g. `ffmpeg -i IN -frames:v N out.mp4`)."
            )
        return decoded

    def _remember(self, index: int, frame: np.ndarray) -> None:
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _decode(self, index: int) -> np.ndarray | None:
        if index != self._next:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._next = -1  # position unknown: seek next time
            return None
        self._next = index + 1
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        self._remember(index, rgb)
        return rgb

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int) -> np.ndarray:
        index = frame_index(index, len(self), clip=self.path.name, negative=True)
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                # A copy, like a frame read from a folder: a caller drawing on it must not
                # change the cached frame the next read returns.
                return self._cache[index].copy()
            frame = self._decode(index)
        if frame is None:
            raise FramesError(f"frame {index} of video {self.path} "
                              "cannot be decoded (corrupt data?)")
        return frame.copy()

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"VideoFrames({str(self.path)!r}, n={len(self)}, size={self.size}, fps={self.fps:g})"


def open_frames(path: str | Path) -> ImageFolderFrames | VideoFrames:
    """Open a video file or a folder of frames (an OTB-style sequence folder opens its ``img/``)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FramesError(f"{path} does not exist: give a video file or a folder of frames")
    if path.is_dir():
        if (path / "img").is_dir():
            return ImageFolderFrames(path / "img")
        return ImageFolderFrames(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise FramesError(
            f"{path} is a single image; give the folder that holds all the frames of the clip"
        )
    return VideoFrames(path)


def resize_long_side(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Resize so the longer side is ``long_side`` px; return the image and the scale applied."""
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if abs(scale - 1.0) < 1e-6:
        return image, 1.0
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                     interpolation=interp)
    return out, scale


def thumbnail(image: np.ndarray, max_side: int = 160) -> np.ndarray:
    """A small copy of a frame for filmstrips and dashboards."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    return resize_long_side(image, max_side)[0]
