"""Boxes: the one core data type (:class:`Detections`), who made them (:class:`Source`), plus
IoU, NMS and conversions.

Boxes are float arrays in image pixels.  ``xyxy`` is ``(x0, y0, x1, y1)`` with ``x1 > x0``;
``xywh`` is ``(x, y, width, height)`` with the top-left corner, as in OTB ground truth and
jupyter-bbox-widget.  Functions say which one they take in their names.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

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
    """Pairwise IoU of ``xyxy`` boxes: ``(n, 4) x (m, 4) -> (n, m)``;
    1-D inputs give a scalar array.

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
        raise AnnotationError("paired_iou needs as many boxes on both sides, "
                              f"but got {len(a)} and {len(b)}")
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
    start: int, box_start: np.ndarray, end: int, box_end: np.ndarray,
    frames: np.ndarray | Sequence[int]
) -> np.ndarray:
    """Linear interpolation of an ``xyxy`` box between two keyframes, at each of ``frames``.

    ``start`` and ``end`` are the keyframes' indices (``end > start``);
    returns ``(len(frames), 4)``. Frame ``start`` gets ``box_start`` and frame ``end`` gets
    ``box_end``.
    """
    w = ((np.asarray(frames, dtype=np.float64) - start) / (end - start))[:, None]
    return ((1 - w) * np.asarray(box_start, dtype=np.float64)
            + w * np.asarray(box_end, dtype=np.float64))


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
        raise AnnotationError("a box must be 4 numbers (x0, y0, x1, y1), "
                              f"but got {xyxy!r}") from exc
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
        # Within the tolerance a box can still lose its size to clipping (x0 = width,
        # x1 = width + 1).
        too_small = clipped[2] - clipped[0] < min_size or clipped[3] - clipped[1] < min_size
        if outside or too_small:
            raise AnnotationError(
                f"box {_fmt_box(box)} lies outside the {width}x{height} image; "
                "draw it inside the frame (coordinates are image pixels, origin top-left)"
            )
        box = clipped
    return box


class Source(str, Enum):
    """Who made a box.  A ``str`` enum: it compares equal to, and is stored as, its value.

    ``ACCEPTED`` appears only in label files (a machine box a human accepted); in a project
    that is a box's *status*, and the box keeps its machine source.
    """

    HUMAN = "human"
    IMPORTED = "imported"
    ACCEPTED = "accepted"
    MODEL = "model"
    TRACKER = "tracker"
    INTERPOLATED = "interpolated"

    # str() and f-strings give the value on every Python (3.12 would give "Source.HUMAN").
    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def is_human(self) -> bool:
        """True for boxes a human made or checked (drawn, corrected, imported, accepted)."""
        return self in HUMAN_SOURCES

    @classmethod
    def parse(cls, value: object) -> Source:
        """``Source(value)``, or :class:`AnnotationError` listing the known sources."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise AnnotationError(f"source must be one of {names}, but got {value!r}") from None


#: Sources of boxes a human made or checked; every other source is a machine's guess.
HUMAN_SOURCES: tuple[Source, ...] = (Source.HUMAN, Source.IMPORTED, Source.ACCEPTED)
#: Sources of boxes no human has checked.
MACHINE_SOURCES: tuple[Source, ...] = tuple(s for s in Source if s not in HUMAN_SOURCES)


class BoxLike(Protocol):
    """What :meth:`Detections.from_records` reads from a stored box (``store.BoxRecord``)."""

    id: int
    xyxy: tuple[float, float, float, float]
    class_id: int
    source: str
    score: float | None


def _per_box(name: str, values: object, n: int, dtype: type, default: object) -> np.ndarray:
    """One per-box array of shape ``(n,)``; ``None`` or an empty input gives ``default``s."""
    if values is None:
        return np.full(n, default, dtype=dtype)
    if dtype is object:  # sources: one Source per box
        items = [values] if isinstance(values, str) else list(values)
        arr = np.empty(len(items), dtype=object)
        arr[:] = [Source.parse(v) for v in items]
    else:
        try:
            arr = np.asarray(values, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise AnnotationError(f"{name} must be {n} numbers, but got {values!r}") from exc
    if arr.size == 0 and n:
        return np.full(n, default, dtype=dtype)
    if arr.shape != (n,):
        raise AnnotationError(f"{name} must have shape ({n},) like xyxy, but got shape {arr.shape}")
    return arr


@dataclass(eq=False)
class Detections:
    """The boxes of one frame, one row per box, like supervision's ``Detections``.

    Per-box arrays have plural names (``scores``, ``class_ids``...); a single stored box
    (:class:`~microlab.store.BoxRecord`) has the singular ones (``score``, ``class_id``).

    Attributes:
        xyxy: ``(n, 4)`` float boxes in image pixels, finite, with ``x0 <= x1`` and ``y0 <= y1``.
            An absent object is ``n == 0``, never a NaN row.
        scores: ``(n,)`` confidence in [0, 1]; NaN where the box has none (a human box).
            Omitted: 1.0 for every box.
        class_ids: ``(n,)`` int index into the project's (or label set's) classes; default 0.
        track_ids: ``(n,)`` int object identity across frames; -1 = none (the default).
        sources: ``(n,)`` object array of :class:`Source`; default ``Source.MODEL``.
        data: extra per-box arrays by name (each of length ``n``), e.g. ``data["box_id"]``.

    Indexing by a boolean mask, an index array, a slice or an int gives a new ``Detections``
    with every array sliced the same way:

    >>> det = Detections([[0, 0, 10, 10], [5, 5, 20, 20]], scores=[0.3, 0.9])
    >>> strong = det[det.scores > 0.5]
    >>> Detections.merge([det, strong]).class_ids
    array([0, 0, 0])

    Raises:
        AnnotationError: ``xyxy`` is not ``(n, 4)``, has NaN/infinite values or inverted
            corners, or another array's length differs from ``n``.
    """

    xyxy: np.ndarray
    # None means "the default per box"; after __post_init__ every field is an (n,) array.
    scores: np.ndarray = None  # type: ignore[assignment]
    class_ids: np.ndarray = None  # type: ignore[assignment]
    track_ids: np.ndarray = None  # type: ignore[assignment]
    sources: np.ndarray = None  # type: ignore[assignment]
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = _check_xyxy_array(self.xyxy)
        n = len(self.xyxy)
        self.scores = _per_box("scores", self.scores, n, np.float64, 1.0)
        self.class_ids = _per_box("class_ids", self.class_ids, n, np.int64, 0)
        self.track_ids = _per_box("track_ids", self.track_ids, n, np.int64, -1)
        self.sources = _per_box("sources", self.sources, n, object, Source.MODEL)
        data = {}
        for key, values in dict(self.data).items():
            arr = np.asarray(values)
            if arr.shape[:1] != (n,):
                raise AnnotationError(
                    f"data[{key!r}] must have one entry per box ({n}), but got shape {arr.shape}"
                )
            data[key] = arr
        self.data = data

    @classmethod
    def empty(cls) -> Detections:
        """No box (the object is absent)."""
        return cls(np.zeros((0, 4)))

    @classmethod
    def from_records(cls, records: Sequence[BoxLike]) -> Detections:
        """Stored boxes (``store.BoxRecord``) as one ``Detections``; ``data["box_id"]`` keeps
        their ids and a missing score becomes NaN."""
        return cls(
            np.array([r.xyxy for r in records], dtype=np.float64).reshape(-1, 4),
            scores=np.array([np.nan if r.score is None else r.score for r in records], np.float64),
            class_ids=np.array([r.class_id for r in records], np.int64),
            track_ids=np.array([-1 if getattr(r, "track_id", None) is None else r.track_id
                                for r in records], np.int64),
            sources=[r.source for r in records],
            data={"box_id": np.array([r.id for r in records], np.int64)},
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | int | Sequence[int]) -> Detections:
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            i = int(index)
            if not -len(self) <= i < len(self):
                raise IndexError(f"box {i} is out of range: there are {len(self)} boxes")
            index = slice(i % len(self), i % len(self) + 1)
        elif not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype != bool and index.size == 0:
                index = index.astype(np.int64)
        return Detections(
            self.xyxy[index],
            scores=self.scores[index],
            class_ids=self.class_ids[index],
            track_ids=self.track_ids[index],
            sources=self.sources[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    def __iter__(self) -> Iterator[Detections]:
        """One single-box ``Detections`` per box (without this, ``list(det)`` never ends:
        an int index past the end would be an empty slice)."""
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Same boxes, scores (NaN equals NaN), classes, tracks, sources and data, in order."""
        if not isinstance(other, Detections):
            return NotImplemented
        return self.equals(other)

    __hash__ = None  # type: ignore[assignment]

    def equals(self, other: Detections, *, atol: float = 0.0) -> bool:
        """Like ``==``, with boxes and scores equal within ``atol`` (for tests and round trips)."""
        return (
            len(self) == len(other)
            and np.allclose(self.xyxy, other.xyxy, rtol=0.0, atol=atol)
            and np.allclose(self.scores, other.scores, rtol=0.0, atol=atol, equal_nan=True)
            and np.array_equal(self.class_ids, other.class_ids)
            and np.array_equal(self.track_ids, other.track_ids)
            and list(self.sources) == list(other.sources)
            and self.data.keys() == other.data.keys()
            and all(np.array_equal(v, other.data[k]) for k, v in self.data.items())
        )

    def human_mask(self) -> np.ndarray:
        """Which boxes a human made or checked (their source is in :data:`HUMAN_SOURCES`)."""
        return np.array([s in HUMAN_SOURCES for s in self.sources], dtype=bool)

    def best(self) -> Detections:
        """The highest-scoring box alone (empty stays empty; a NaN score ranks last)."""
        if not len(self):
            return self
        scores = np.where(np.isnan(self.scores), -np.inf, self.scores)
        return self[int(np.argmax(scores))]

    @staticmethod
    def merge(items: Sequence[Detections]) -> Detections:
        """All boxes of ``items`` in order, as one ``Detections`` (empty ones are skipped).

        Raises:
            AnnotationError: the non-empty items carry different ``data`` keys.
        """
        items = [d for d in items if len(d)]
        if not items:
            return Detections.empty()
        keys = items[0].data.keys()
        for d in items[1:]:
            if d.data.keys() != keys:
                raise AnnotationError(
                    f"cannot merge Detections with data keys {sorted(keys)} and {sorted(d.data)}"
                )
        return Detections(
            np.concatenate([d.xyxy for d in items]),
            scores=np.concatenate([d.scores for d in items]),
            class_ids=np.concatenate([d.class_ids for d in items]),
            track_ids=np.concatenate([d.track_ids for d in items]),
            sources=np.concatenate([d.sources for d in items]),
            data={k: np.concatenate([d.data[k] for d in items]) for k in keys},
        )


def _check_xyxy_array(xyxy: object) -> np.ndarray:
    """``xyxy`` as an ``(n, 4)`` float array of valid boxes, or :class:`AnnotationError`."""
    try:
        arr = np.asarray(xyxy, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AnnotationError(
            f"xyxy must be an array of shape (n, 4) of numbers, but got {xyxy!r}"
        ) from exc
    if arr.shape in ((0,), (0, 4)):
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise AnnotationError(f"xyxy must be an array of shape (n, 4), but got shape {arr.shape}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnnotationError(
            f"box {i} of xyxy, {_fmt_box(arr[i])}, has NaN or infinite coordinates "
            "(an absent object is no box, not a NaN row: keep the rows where "
            "boxes.present_mask(xyxy) is True)"
        )
    inverted = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        raise AnnotationError(
            f"box {i} of xyxy, {_fmt_box(arr[i])}, needs x0 <= x1 and y0 <= y1 "
            "(is it (x, y, w, h) instead of (x0, y0, x1, y1)?)"
        )
    return arr


def is_absent(xyxy: np.ndarray | Sequence[float]) -> bool:
    """True for the NaN box that ground truth uses for "object absent"."""
    return any(math.isnan(float(v)) for v in np.asarray(xyxy).reshape(-1))
