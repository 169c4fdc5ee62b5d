"""Boxes: the one core data type, plus IoU, NMS and conversions.

Boxes are float arrays in image pixels.  ``xyxy`` is ``(x0, y0, x1, y1)`` with ``x1 > x0``;
``xywh`` is ``(x, y, width, height)`` with the top-left corner, as in OTB ground truth and
jupyter-bbox-widget.  Functions say which one they take in their names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from microlab.errors import AnnotationError


def xywh_to_xyxy(xywh: np.ndarray | Sequence[float]) -> np.ndarray:
    """``(x, y, w, h)`` -> ``(x0, y0, x1, y1)``; works on one box or an ``(n, 4)`` array."""
    a = np.asarray(xywh, dtype=np.float64)
    out = a.copy()
    out[..., 2] = a[..., 0] + a[..., 2]
    out[..., 3] = a[..., 1] + a[..., 3]
    return out


def xyxy_to_xywh(xyxy: np.ndarray | Sequence[float]) -> np.ndarray:
    """``(x0, y0, x1, y1)`` -> ``(x, y, w, h)``; works on one box or an ``(n, 4)`` array."""
    a = np.asarray(xyxy, dtype=np.float64)
    out = a.copy()
    out[..., 2] = a[..., 2] - a[..., 0]
    out[..., 3] = a[..., 3] - a[..., 1]
    return out


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intersection and union areas of ``xyxy`` boxes that broadcast against each other."""
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter, area_a + area_b - inter


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inter, union = _overlap(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.nan_to_num(iou, nan=0.0)


def box_iou(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> np.ndarray:
    """Pairwise IoU of ``xyxy`` boxes: ``(n, 4) x (m, 4) -> (n, m)``; 1-D inputs give a scalar array.

    A NaN box (an absent label) has IoU 0 with everything.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    iou = _iou(a.reshape(-1, 4)[:, None, :], b.reshape(-1, 4)[None, :, :])
    if a.ndim == 1 and b.ndim == 1:
        return iou[0, 0]
    return iou


def paired_iou(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> np.ndarray:
    """IoU of row ``i`` of ``a`` with row ``i`` of ``b``: ``(n, 4), (n, 4) -> (n,)``.

    The diagonal of :func:`box_iou` without its ``n x n`` matrix (a label per frame against the
    ground truth per frame).  A NaN box has IoU 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if a.shape != b.shape:
        raise AnnotationError(f"paired_iou needs as many boxes on both sides, but got {len(a)} and {len(b)}")
    return _iou(a, b)


def paired_giou(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> np.ndarray:
    """Generalised IoU of row ``i`` of ``a`` with row ``i`` of ``b``, in ``[-1, 1]``.

    Unlike IoU it keeps falling as two disjoint boxes move apart, so it ranks how far off a
    box is even when it no longer overlaps.  Rows must be present boxes (no NaN).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    inter, union = _overlap(a, b)
    hull = (np.maximum(a[:, 2], b[:, 2]) - np.minimum(a[:, 0], b[:, 0])) * (
        np.maximum(a[:, 3], b[:, 3]) - np.minimum(a[:, 1], b[:, 1]))
    return inter / np.maximum(union, 1e-9) - (hull - union) / np.maximum(hull, 1e-9)


def present_mask(xyxy: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Which rows of an ``(n, 4)`` box array hold a box: ground truth and labels use a NaN row
    for "object absent"."""
    return ~np.isnan(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)).any(axis=1)


def interpolate_boxes(
    start: int, box_start: np.ndarray, end: int, box_end: np.ndarray, frames: np.ndarray | Sequence[int]
) -> np.ndarray:
    """Linear interpolation of an ``xyxy`` box between two keyframes, at each of ``frames``.

    ``start`` and ``end`` are the keyframes' indices (``end > start``); returns ``(len(frames), 4)``.
    Frame ``start`` gets ``box_start`` and frame ``end`` gets ``box_end``.
    """
    w = ((np.asarray(frames, dtype=np.float64) - start) / (end - start))[:, None]
    return (1 - w) * np.asarray(box_start, dtype=np.float64) + w * np.asarray(box_end, dtype=np.float64)


def class_index(label: object, classes: Sequence[str]) -> int:
    """The index in ``classes`` of a class given by name or by index; :class:`AnnotationError`
    naming the known classes otherwise (``True`` is not class 1)."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        if 0 <= int(label) < len(classes):
            return int(label)
    elif isinstance(label, str) and label in classes:
        return list(classes).index(label)
    raise AnnotationError(f"unknown class {label!r}; this project's classes are {list(classes)}")


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        ious = box_iou(xyxy[i], xyxy[order[1:]]).reshape(-1)
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _fmt_box(box: np.ndarray) -> str:
    """A box for error messages: plain rounded floats (numpy 2 reprs read ``np.float64(3.0)``)."""
    return str(tuple(round(v, 2) for v in np.asarray(box, dtype=np.float64).tolist()))


def validate_xyxy(
    xyxy: Sequence[float] | np.ndarray,
    *,
    image_size: tuple[int, int] | None = None,
    min_size: float = 1.0,
    tolerance: float = 1.0,
) -> np.ndarray:
    """Check one human box and return it as a float array, or raise :class:`AnnotationError`.

    Args:
        xyxy: ``(x0, y0, x1, y1)`` in image pixels.
        image_size: ``(width, height)``; the box must lie inside it (within ``tolerance`` px).
        min_size: smallest width and height accepted, in pixels.
        tolerance: how far outside the image a corner may be (it is then clipped).
    """
    try:
        raw = np.asarray(xyxy)
        box = raw.astype(np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise AnnotationError(f"a box must be 4 numbers (x0, y0, x1, y1), but got {xyxy!r}") from exc
    # numpy would read "12" as 12.0 and True as 1.0: a box of strings or bools is a caller's bug.
    if raw.dtype.kind in "USbc":
        raise AnnotationError(f"a box must be 4 numbers (x0, y0, x1, y1), but got {xyxy!r}")
    if box.shape != (4,):
        raise AnnotationError(
            f"a box must be 4 numbers (x0, y0, x1, y1), but got {box.size} values: {xyxy!r}"
        )
    if not np.all(np.isfinite(box)):
        raise AnnotationError(f"box {_fmt_box(box)} has NaN or infinite coordinates")
    x0, y0, x1, y1 = box.tolist()
    if x1 - x0 < min_size or y1 - y0 < min_size:
        raise AnnotationError(
            f"box {_fmt_box(box)} has width {x1 - x0:.2f} and height {y1 - y0:.2f}; "
            f"both must be at least {min_size} px (is it (x, y, w, h) instead of (x0, y0, x1, y1)?)"
        )
    if image_size is not None:
        width, height = image_size
        clipped = np.array([max(x0, 0.0), max(y0, 0.0), min(x1, width), min(y1, height)])
        tol = tolerance
        outside = x0 < -tol or y0 < -tol or x1 > width + tol or y1 > height + tol
        # Within the tolerance a box can still lose its size to clipping (x0 = width, x1 = width + 1).
        too_small = clipped[2] - clipped[0] < min_size or clipped[3] - clipped[1] < min_size
        if outside or too_small:
            raise AnnotationError(
                f"box {_fmt_box(box)} lies outside the {width}x{height} image; "
                "draw it inside the frame (coordinates are image pixels, origin top-left)"
            )
        box = clipped
    return box


@dataclass
class Detections:
    """Boxes found in one frame: ``xyxy`` (n, 4), ``scores`` (n,), ``class_ids`` (n,).

    Indexable by a boolean mask or an index array, like supervision's ``Detections``.
    """

    xyxy: np.ndarray
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    class_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4)
        n = len(self.xyxy)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if self.scores.size == 0 and n:
            self.scores = np.ones(n)
        self.class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(-1)
        if self.class_ids.size == 0 and n:
            self.class_ids = np.zeros(n, dtype=np.int64)
        if self.scores.shape != (n,) or self.class_ids.shape != (n,):
            raise AnnotationError(
                f"scores and class_ids must have shape ({n},) like xyxy, but got "
                f"{self.scores.shape} and {self.class_ids.shape}"
            )

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | int) -> Detections:
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1)
        return Detections(self.xyxy[index], self.scores[index], self.class_ids[index])

    def best(self) -> Detections:
        """The highest-scoring box alone (empty stays empty)."""
        if not len(self):
            return self
        return self[int(np.argmax(self.scores))]

    @staticmethod
    def merge(items: Sequence[Detections]) -> Detections:
        if not items:
            return Detections.empty()
        return Detections(
            np.concatenate([d.xyxy for d in items]),
            np.concatenate([d.scores for d in items]),
            np.concatenate([d.class_ids for d in items]),
        )


def is_absent(xyxy: np.ndarray | Sequence[float]) -> bool:
    """True for the NaN box that ground truth uses for "object absent"."""
    return any(math.isnan(float(v)) for v in np.asarray(xyxy).reshape(-1))
