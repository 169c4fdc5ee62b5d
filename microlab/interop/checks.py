"""Checks the format modules run on what they read: boxes, frame numbers, sources, scores.

Each raises :class:`~microlab.errors.FormatError` naming ``where`` (file, line or element), so a
malformed file says what was expected, what came, and where.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from microlab.boxes import validate_xyxy
from microlab.errors import AnnotationError, FormatError
from microlab.interop.labels import ALL_SOURCES, ClipInfo


def check_box(xyxy: Sequence[float], clip: ClipInfo,
              where: str) -> tuple[float, float, float, float]:
    """Validate one box read from a file; raise :class:`FormatError` naming ``where``."""
    try:
        values = [float(v) for v in xyxy]
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: box coordinates must be numbers, "
                          f"but got {list(xyxy)!r}") from exc
    if any(math.isnan(v) for v in values):
        raise FormatError(f"{where}: box {values} has NaN coordinates")
    try:
        box = validate_xyxy(values, image_size=clip.size, min_size=1e-6)
    except AnnotationError as exc:
        raise FormatError(f"{where}: {exc}") from exc
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def check_frame(index: int, clip: ClipInfo, where: str, *, one_based: bool = False) -> int:
    """Validate a frame number read from a file; returns the 0-based index."""
    first = 1 if one_based else 0
    last = clip.n_frames - 1 + first
    if not first <= index <= last:
        raise FormatError(
            f"{where}: frame {index} is outside this clip, whose frames are numbered "
            f"{first}..{last} ({clip.n_frames} frames); is the file for another clip?"
        )
    return index - first


def frame_from_name(name: str, clip: ClipInfo, where: str) -> int:
    """The frame a file name in a label file refers to; raise naming ``where`` when unknown."""
    index = clip.frame_index(name)
    if index is None:
        raise FormatError(
            f"{where}: image {name!r} is not a frame of this clip (its frames are named "
            f"{clip.names_hint()}); import the labels with the clip they were made for"
        )
    return index


def check_source(value: object, where: str) -> str:
    text = str(value).strip().lower()
    if text not in ALL_SOURCES:
        raise FormatError(f"{where}: source must be one of {', '.join(ALL_SOURCES)}, "
                          f"but got {value!r}")
    return text


def check_score(value: object, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: score must be a number in [0, 1], but got {value!r}") from exc
    if not 0.0 <= score <= 1.0:
        raise FormatError(f"{where}: score must be a number in [0, 1], but got {value!r}")
    return score
