"""The baselines annotators use today, replayed with an oracle and the same accounting.

* Linear keyframe interpolation (VATIC / CVAT style): the oracle adds a keyframe at the worst
  frame until every frame is correct.
* An OpenCV tracker (CSRT by default) started on the first frame where the object is visible;
  the oracle watches every frame and corrects the first wrong one, re-initialising the tracker
  there (or stopping it, when the object left).

Both need a person who watches every frame to find the wrong ones, so their frames viewed is
the clip length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from microlab.boxes import interpolate_boxes, is_absent, paired_giou, present_mask
from microlab.metrics import correct_mask, efficiency_summary
from microlab.tracking import Tracker


def interpolate_track(n_frames: int, keyframes: Mapping[int, np.ndarray | None]) -> np.ndarray:
    """CVAT-style track from keyframes: nothing before the first keyframe, linear between two
    present keyframes, the last box held until an "outside" keyframe or the end of the clip."""
    boxes = np.full((n_frames, 4), np.nan)
    keys = sorted(keyframes)
    for i, a in enumerate(keys):
        box_a = keyframes[a]
        end = keys[i + 1] if i + 1 < len(keys) else n_frames
        if box_a is None:
            continue
        box_b = keyframes[end] if end < n_frames else None
        span = np.arange(a, end)
        if box_b is None:
            boxes[span] = box_a
        else:
            boxes[span] = interpolate_boxes(a, box_a, end, box_b, span)
    return boxes


def frame_badness(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """How wrong each frame's label is: ``1 - GIoU`` (0 exact .. 2), and 3 for a presence error.

    GIoU keeps ordering frames by distance once boxes no longer overlap, so "the worst frame"
    is the one furthest off, not the first of many frames with IoU 0.
    """
    boxes = np.asarray(boxes, float)
    truth = np.asarray(truth, float)
    pa = present_mask(boxes)
    pt = present_mask(truth)
    out = np.where(pa == pt, 0.0, 3.0)
    both = pa & pt
    out[both] = 1 - paired_giou(boxes[both], truth[both])
    return out


def interpolation_baseline(truth: np.ndarray, *, iou: float = 0.5,
                           max_keyframes: int | None = None) -> dict[str, Any]:
    """Keyframes added at the worst frame until all frames are correct."""
    truth = np.asarray(truth, float)
    n = len(truth)
    keyframes: dict[int, np.ndarray | None] = {}
    boxes = np.full((n, 4), np.nan)
    ok = correct_mask(boxes, truth, iou)
    curve = [(0, n, int(ok.sum()))]
    limit = max_keyframes or n
    while not ok.all() and len(keyframes) < limit:
        badness = frame_badness(boxes, truth)
        badness[ok] = -np.inf
        worst = int(np.argmax(badness))
        keyframes[worst] = None if is_absent(truth[worst]) else truth[worst].copy()
        boxes = interpolate_track(n, keyframes)
        ok = correct_mask(boxes, truth, iou)
        curve.append((len(keyframes), n, int(ok.sum())))
    summary = efficiency_summary(curve, n)
    summary["curve"] = [{"actions": a, "frames_viewed": v, "correct_frac": c / n}
                        for a, v, c in curve]
    return summary


def tracker_baseline(
    frames: Sequence[np.ndarray],
    truth: np.ndarray,
    *,
    kind: str = "csrt",
    iou: float = 0.5,
    progress: bool = False,
) -> dict[str, Any]:
    """A tracker propagated forward, corrected by the oracle at each first wrong frame."""
    from tqdm.auto import tqdm

    truth = np.asarray(truth, float)
    n = len(truth)
    present = present_mask(truth)
    absent = np.full(4, np.nan)

    def run(start: int, fix: bool, budget_wrong: float = math.inf,
            bar=None) -> tuple[list[int], int]:
        """Track from ``start``; returns fix points and the number of correct frames."""
        tracker = Tracker(kind)
        fixes: list[int] = []
        correct = 0
        wrong = 0
        for t in range(start, n):
            box = tracker.update(frames[t]) if tracker.running else None
            label = absent if box is None else box
            good = bool(correct_mask(np.asarray(label)[None], truth[t][None], iou)[0])
            if not good and (fix or t == start):
                fixes.append(t)
                if present[t]:
                    tracker.start(frames[t], truth[t])
                else:
                    tracker.stop()
                good = True
            if good:
                correct += 1
            else:
                wrong += 1
                if wrong > budget_wrong:
                    break
            if bar is not None:
                bar.update(1)
        return fixes, correct

    with tqdm(total=n, desc=f"{kind} baseline", disable=not progress, leave=False) as bar:
        fixes, _ = run(0, fix=True, bar=bar)
    # Correct frames if the person stopped after j fixes: frames before the next fix point are
    # right; from there the tracker runs on uncorrected (a continuation run).
    curve = [(0, n, int((~present).sum()))]
    need95 = math.ceil(0.95 * n - 1e-9)
    for j, f in enumerate(fixes, start=1):
        if j == len(fixes):
            curve.append((j, n, n))
            break
        _, cont = run(f, fix=False, budget_wrong=n - need95)
        curve.append((j, n, int(f + cont)))
        if f + cont >= need95:
            # The 95% point is found; later states only matter for 100%, reached at the end.
            curve.append((len(fixes), n, n))
            break
    summary = efficiency_summary(curve, n)
    summary["curve"] = [{"actions": a, "frames_viewed": v, "correct_frac": c / n}
                        for a, v, c in curve]
    summary["tracker"] = kind
    return summary
