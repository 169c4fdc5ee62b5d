"""OpenCV trackers, used twice: as the baseline annotators use today, and as one more cue for
microlab's own labeller (propagating human boxes to nearby frames)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from microlab.boxes import box_iou
from microlab.errors import SettingsError


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
    raise SettingsError(f"tracker kind must be 'csrt' or 'kcf', but got {kind!r}")


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


@dataclass
class TrackRun:
    """A tracker run from a human keyframe towards its neighbour keyframe.

    ``status`` is ``"verified"`` when the run arrived on the neighbour keyframe's box (IoU >= 0.5),
    ``"failed"`` when it arrived elsewhere, lost the object, or kept a box where the person said
    "absent", and ``"open"`` when it ended at a cut, the clip's end or the span limit, unchecked.
    """

    start: int
    boxes: dict[int, np.ndarray]
    status: str


def keyframe_tracks(
    frames: Sequence[np.ndarray],
    keyframes: Mapping[int, np.ndarray | None],
    cuts: Sequence[int] = (),
    *,
    span: int = 300,
    cache: dict | None = None,
) -> list[TrackRun]:
    """Track every present keyframe forward and backward to its neighbours, within its shot.

    Reaching the neighbour keyframe checks the run against a human answer, which tells the
    labeller how far to trust it.  ``cache`` (a dict kept by the caller) saves re-running
    unchanged spans in later iterations.
    """
    n = len(frames)
    keys = sorted(keyframes)
    bounds = sorted(set(cuts))
    cache = {} if cache is None else cache
    runs: list[TrackRun] = []
    for i, k in enumerate(keys):
        box = keyframes[k]
        if box is None:
            continue
        shot_end = next((c for c in bounds if c > k), n) - 1
        shot_start = max((c for c in bounds if c <= k), default=0)
        for step, neighbour in ((1, keys[i + 1] if i + 1 < len(keys) else None),
                                (-1, keys[i - 1] if i > 0 else None)):
            limit = shot_end if step > 0 else shot_start
            within = neighbour is not None and (neighbour - limit) * step <= 0
            target = neighbour if within else None
            last = target if target is not None else limit
            if abs(last - k) > span:
                last, target = k + step * span, None
            if last == k:
                continue
            key = (k, tuple(np.round(np.asarray(box, float), 1)), last,
                   target is not None and keyframes[target] is None)
            if key not in cache:
                boxes = propagate(frames, k, box, last + step)
                if target is None:
                    status = "open"
                else:
                    arrived = boxes.pop(target, None)
                    expected = keyframes[target]
                    if expected is None:
                        status = "failed" if arrived is not None else "verified"
                    else:
                        ok = arrived is not None and float(box_iou(arrived, expected)) >= 0.5
                        status = "verified" if ok else "failed"
                cache[key] = TrackRun(k, boxes, status)
            runs.append(cache[key])
    return runs
