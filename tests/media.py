"""Synthetic frames and writers of video files and image folders, shared by the tests.

(A module of its own: importing helpers from ``conftest`` breaks as soon as a second
``conftest.py`` exists in a sub-folder.)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest


def synthetic_frames(n: int, size: tuple[int, int], *, seed: int = 0) -> list[np.ndarray]:
    """``n`` distinct RGB frames of ``size`` (width, height): smooth gradients plus a moving block.

    Smooth content keeps lossy codecs close to the source, so pixel comparisons can be tight.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = (xx * 200 // max(width - 1, 1) + 5 * i) % 256
        frame[..., 1] = (yy * 200 // max(height - 1, 1)) % 256
        frame[..., 2] = int(rng.integers(0, 256))
        x = (7 * i) % max(width - 16, 1)
        frame[height // 4 : height // 4 + 16, x : x + 16] = (255, 255, 255)
        frames.append(frame)
    return frames


def write_video(
    path: Path, frames: Sequence[np.ndarray], *, fourcc: str, fps: float = 25.0
) -> Path:
    """Write RGB frames with OpenCV's VideoWriter; fails the test if the codec is unavailable."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        pytest.fail(f"OpenCV cannot write {fourcc} to {path.name} on this machine")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_image_folder(
    folder: Path, frames: Sequence[np.ndarray], *, names: Sequence[str] | None = None
) -> Path:
    """Write RGB frames as PNG files (lossless) named ``names`` or ``0.png, 1.png, ...``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"{i}.png" for i in range(len(frames))]
    for name, frame in zip(names, frames, strict=True):
        ok, data = cv2.imencode(Path(name).suffix, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        assert ok, name
        (folder / name).write_bytes(data.tobytes())
    return folder
