"""OpenCV trackers, used twice: as the baseline annotators use today, and as one more cue for
microlab's own labeller (propagating human boxes to nearby frames)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def create_tracker(kind: str = "csrt", *, fast: bool = False) -> cv2.Tracker:
    """A fresh OpenCV tracker.  ``fast`` trades a little accuracy for ~3x speed (CSRT only)."""
    if kind == "csrt":
        params = cv2.TrackerCSRT_Params()
        if fast:
            params.template_size = 100
            params.use_segmentation = False
            params.number_of_scales = 17
        return cv2.TrackerCSRT_create(params)
    if kind == "kcf":
        return cv2.TrackerKCF_create()
    raise ValueError(f"tracker kind must be 'csrt' or 'kcf', but got {kind!r}")


def _rect(xyxy: Sequence[float], image_size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = image_size
    x0 = int(np.clip(round(xyxy[0]), 0, width - 2))
    y0 = int(np.clip(round(xyxy[1]), 0, height - 2))
    x1 = int(np.clip(round(xyxy[2]), x0 + 1, width))
    y1 = int(np.clip(round(xyxy[3]), y0 + 1, height))
    return x0, y0, x1 - x0, y1 - y0


class Tracker:
    """One OpenCV tracker with boxes in ``xyxy`` image pixels."""

    def __init__(self, kind: str = "csrt", *, fast: bool = False) -> None:
        self.kind = kind
        self.fast = fast
        self._tracker: cv2.Tracker | None = None
        self._size = (0, 0)

    def start(self, image: np.ndarray, xyxy: Sequence[float]) -> None:
        self._size = (image.shape[1], image.shape[0])
        self._tracker = create_tracker(self.kind, fast=self.fast)
        self._tracker.init(image, _rect(xyxy, self._size))

    def stop(self) -> None:
        self._tracker = None

    @property
    def running(self) -> bool:
        return self._tracker is not None

    def update(self, image: np.ndarray) -> np.ndarray | None:
        """The box in the next frame, or ``None`` when stopped or lost."""
        if self._tracker is None:
            return None
        ok, (x, y, w, h) = self._tracker.update(image)
        if not ok or w <= 1 or h <= 1:
            return None
        width, height = self._size
        box = np.clip([x, y, x + w, y + h], 0, [width, height, width, height]).astype(np.float64)
        if box[2] - box[0] <= 1 or box[3] - box[1] <= 1:
            return None
        return box


def propagate(
    frames: Sequence[np.ndarray],
    start: int,
    xyxy: Sequence[float],
    stop: int,
    *,
    kind: str = "csrt",
    fast: bool = True,
) -> dict[int, np.ndarray]:
    """Track a box from frame ``start`` towards frame ``stop`` (exclusive; either direction).

    Returns the boxes found, by frame; the run ends early when the tracker loses the object.
    """
    step = 1 if stop > start else -1
    tracker = Tracker(kind, fast=fast)
    tracker.start(frames[start], xyxy)
    out: dict[int, np.ndarray] = {}
    for f in range(start + step, stop, step):
        box = tracker.update(frames[f])
        if box is None:
            break
        out[f] = box
    return out
