"""How people tag frames today, with the same accounting as microlab's loop.

Both baselines assume a person who views every frame and tags with 1 action per tag:

* **change-point tagging**: tag the first frame and each frame where the class changes; every
  frame takes the tag of the last tagged frame before it.  The changes are tagged in the order
  that fixes most frames first (the best a person could do; in clip order it is worse).
* **keyframes**: tag every ``k``-th frame, each frame takes the tag of its nearest keyframe,
  then add a keyframe in the middle of the longest wrong stretch until every frame is right.
  The best ``k`` of a few is reported.

Each returns a curve ``(actions, frames_viewed, correct_frames)`` after every action, summed up
by :func:`microlab.metrics.efficiency_summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from microlab.metrics import efficiency_summary

KEYFRAME_STEPS = (10, 25, 50, 100)


def _forward_fill(n: int, tagged: dict[int, int]) -> np.ndarray:
    """Each frame takes the tag of the last tagged frame at or before it (-1 before any)."""
    out = np.full(n, -1)
    for f in sorted(tagged):
        out[f:] = tagged[f]
    return out


def change_point_curve(truth: Sequence[int]) -> list[tuple[int, int, int]]:
    """The change-point baseline's curve, greedily ordered (see the module docstring)."""
    truth = np.asarray(truth, int)
    n = len(truth)
    starts = [0, *(np.flatnonzero(np.diff(truth)) + 1).tolist()]
    tagged = {0: int(truth[0])}
    curve = [(1, n, int((_forward_fill(n, tagged) == truth).sum()))]
    left = set(starts[1:])
    while left:
        best, best_ok = None, -1
        for s in sorted(left):
            trial = {**tagged, s: int(truth[s])}
            ok = int((_forward_fill(n, trial) == truth).sum())
            if ok > best_ok:
                best, best_ok = s, ok
        tagged[best] = int(truth[best])
        left.discard(best)
        curve.append((len(tagged), n, best_ok))
    return curve


def _nearest_fill(n: int, tagged: dict[int, int]) -> np.ndarray:
    keys = np.asarray(sorted(tagged))
    idx = np.searchsorted(keys, np.arange(n))
    left = keys[np.clip(idx - 1, 0, len(keys) - 1)]
    right = keys[np.clip(idx, 0, len(keys) - 1)]
    pick = np.where(np.abs(np.arange(n) - left) <= np.abs(right - np.arange(n)), left, right)
    return np.asarray([tagged[int(k)] for k in pick])


def keyframe_curve(truth: Sequence[int], step: int) -> list[tuple[int, int, int]]:
    """The keyframe baseline's curve for one keyframe spacing ``step``."""
    truth = np.asarray(truth, int)
    n = len(truth)
    tagged: dict[int, int] = {}
    curve = []
    for f in range(0, n, step):
        tagged[f] = int(truth[f])
        curve.append((len(tagged), n, int((_nearest_fill(n, tagged) == truth).sum())))
    while curve[-1][2] < n:
        wrong = _nearest_fill(n, tagged) != truth
        # the longest wrong stretch gets a keyframe in its middle
        runs, start = [], None
        for i, w in enumerate([*wrong.tolist(), False]):
            if w and start is None:
                start = i
            elif not w and start is not None:
                runs.append((i - start, start, i - 1))
                start = None
        _, a, b = max(runs)
        f = (a + b) // 2
        tagged[f] = int(truth[f])
        curve.append((len(tagged), n, int((_nearest_fill(n, tagged) == truth).sum())))
    return curve


def tag_baselines(truth: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Both baselines' summaries (the five keys of :func:`efficiency_summary`, frames viewed
    = the whole clip), the keyframe one with its best ``step``."""
    n = len(truth)
    out: dict[str, dict[str, Any]] = {
        "change_points": efficiency_summary(change_point_curve(truth), n)}
    best = None
    for step in KEYFRAME_STEPS:
        if step >= n:
            continue
        summary = efficiency_summary(keyframe_curve(truth, step), n)
        if best is None or (summary["actions_to_95"], summary["actions_to_100"]) < (
                best["actions_to_95"], best["actions_to_100"]):
            best = {**summary, "step": step}
    if best is not None:
        out["keyframes"] = best
    return out


__all__ = ["KEYFRAME_STEPS", "change_point_curve", "keyframe_curve", "tag_baselines"]
