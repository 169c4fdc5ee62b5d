"""Annotated sequences in the OTB-style layout of ``shared/data/sequences``.

A sequence folder holds ``img/00001.jpg ...`` and ``groundtruth.txt`` with one ``x,y,w,h`` line
per frame (``nan,nan,nan,nan`` where the object is absent).  Ground truth is kept as an
``(n, 4)`` float array of ``xyxy`` boxes, NaN rows for absent frames.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from microlab.boxes import present_mask, xywh_to_xyxy, xyxy_to_xywh
from microlab.errors import FormatError, FramesError
from microlab.frames import FrameSource, ImageFolderFrames, open_frames

GROUND_TRUTH_NAME = "groundtruth.txt"


@dataclass
class Clip:
    """Frames plus per-frame ground truth (``xyxy``, NaN rows = object absent)."""

    name: str
    frames: FrameSource
    ground_truth: np.ndarray
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def present(self) -> np.ndarray:
        """Boolean mask of the frames where the object is visible."""
        return present_mask(self.ground_truth)


def parse_ground_truth(text: str, *, source: str = "groundtruth.txt") -> np.ndarray:
    """Parse OTB-style ``x,y,w,h`` lines (commas, tabs or spaces) into ``(n, 4)`` ``xyxy``."""
    rows: list[list[float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,\s]+", line) if p]
        if len(parts) != 4:
            raise FormatError(
                f"{source} line {lineno}: expected 4 numbers x,y,w,h, but got {len(parts)}: {raw!r}"
            )
        try:
            values = [float(p) for p in parts]
        except ValueError as exc:
            raise FormatError(f"{source} line {lineno}: not a number in {raw!r}") from exc
        # Only a whole NaN row means "absent"; "1,nan,3,4" is damage, not an absent object.
        if all(math.isnan(v) for v in values):
            values = [math.nan] * 4
        elif (any(math.isnan(v) for v in values) or values[2] <= 0 or values[3] <= 0
              or not all(math.isfinite(v) for v in values)):
            raise FormatError(
                f"{source} line {lineno}: width and height must be positive finite numbers "
                f"(or all four NaN for an absent object), but got {raw!r}"
            )
        rows.append(values)
    if not rows:
        return np.zeros((0, 4))
    return xywh_to_xyxy(np.asarray(rows))


def format_ground_truth(xyxy: np.ndarray) -> str:
    """Inverse of :func:`parse_ground_truth`: one ``x,y,w,h`` line per frame."""
    lines = []
    for box in np.asarray(xyxy, dtype=np.float64).reshape(-1, 4):
        if np.isnan(box).any():
            lines.append("nan,nan,nan,nan")
        else:
            lines.append(",".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in xyxy_to_xywh(box)))
    return "\n".join(lines) + "\n"


def load_sequence(path: str | Path) -> Clip:
    """Open an OTB-style sequence folder: frames from ``img/`` and ``groundtruth.txt``."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FramesError(f"sequence folder {path} does not exist or is not a folder")
    gt_path = path / GROUND_TRUTH_NAME
    if not gt_path.is_file():
        raise FramesError(
            f"{path} has no {GROUND_TRUTH_NAME}: a sequence folder needs img/ and a ground-truth "
            "file with one x,y,w,h line per frame"
        )
    frames = open_frames(path)
    try:
        text = gt_path.read_text()
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"{gt_path} is not a text file ({exc.reason} at byte {exc.start}); it must hold one "
            "x,y,w,h line per frame"
        ) from exc
    gt = parse_ground_truth(text, source=str(gt_path))
    if len(gt) != len(frames):
        raise FormatError(
            f"{gt_path} has {len(gt)} boxes but {frames.path} has {len(frames)} frames; "
            "there must be one line per frame"
        )
    return Clip(name=path.name, frames=frames, ground_truth=gt, path=path)


def write_sequence(
    folder: str | Path,
    frames: Iterable[np.ndarray],
    ground_truth: np.ndarray,
    *,
    meta: dict | None = None,
    jpeg_quality: int = 92,
) -> Clip:
    """Write RGB frames and ``xyxy`` ground truth as an OTB-style sequence folder."""
    folder = Path(folder)
    img = folder / "img"
    img.mkdir(parents=True, exist_ok=True)
    n = 0
    for n, frame in enumerate(frames, start=1):
        bgr = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
        ok = cv2.imwrite(str(img / f"{n:05d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise FramesError(f"could not write {img / f'{n:05d}.jpg'} (disk full or read-only?)")
    if n != len(ground_truth):
        raise FormatError(f"wrote {n} frames but got {len(ground_truth)} ground-truth boxes")
    (folder / GROUND_TRUTH_NAME).write_text(format_ground_truth(ground_truth))
    if meta is not None:
        (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return Clip(folder.name, ImageFolderFrames(img), np.asarray(ground_truth, float), folder)


def find_sequences(root: str | Path) -> list[Path]:
    """Every sequence folder (one holding ``groundtruth.txt``) directly under ``root``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FramesError(f"{root} is not a folder of sequences")
    return sorted(p for p in root.iterdir() if (p / GROUND_TRUTH_NAME).is_file())
