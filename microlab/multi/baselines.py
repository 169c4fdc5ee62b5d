"""Multi-object baselines, run per true identity and summed (CVAT's track mode).

A person annotates one object after another, watching every frame:

* **keyframe interpolation**: keyframes added at the object's worst frame (as in
  :func:`microlab.baselines.interpolation_baseline`);
* **an oracle-corrected tracker** (CSRT by default): started where the object first shows,
  re-initialised from the truth at each first wrong frame, stopped where it left.

Each identity gives a sequence of states, one per action.  The clip's curve spends each next
action on the identity where it gains the most correct boxes, and the accounting is the one of
:mod:`microlab.multi.identity` (the person names every track, so identities are right):
``% correct = IDTP / (IDTP + IDFN + IDFP)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from microlab.baselines import frame_badness, interpolate_track
from microlab.boxes import is_absent, paired_iou, present_mask
from microlab.multi.clip import MultiClip
from microlab.simulate import FrameCache
from microlab.tracking import Tracker

State = tuple[int, int, int]  # (IDTP, IDFP, IDFN) of one identity


def _state(boxes: np.ndarray, truth: np.ndarray, iou: float) -> State:
    has, real = present_mask(boxes), present_mask(truth)
    both = has & real
    hit = np.zeros(len(truth), bool)
    hit[both] = paired_iou(boxes[both], truth[both]) >= iou
    idtp = int(hit.sum())
    return idtp, int(has.sum()) - idtp, int(real.sum()) - idtp


def interpolation_states(truth: np.ndarray, *, iou: float = 0.5) -> list[State]:
    """One identity's state before any action and after each keyframe (at the worst frame)."""
    n = len(truth)
    keyframes: dict[int, np.ndarray | None] = {}
    boxes = np.full((n, 4), np.nan)
    states = [_state(boxes, truth, iou)]
    while states[-1][1] or states[-1][2]:
        badness = frame_badness(boxes, truth)
        good = ~(present_mask(boxes) ^ present_mask(truth))
        both = present_mask(boxes) & present_mask(truth)
        good[both] = paired_iou(boxes[both], truth[both]) >= iou
        badness[good] = -np.inf
        worst = int(np.argmax(badness))
        keyframes[worst] = None if is_absent(truth[worst]) else truth[worst].copy()
        boxes = interpolate_track(n, keyframes)
        states.append(_state(boxes, truth, iou))
    return states


def tracker_states(frames: Sequence[np.ndarray], truth: np.ndarray, *, kind: str = "csrt",
                   iou: float = 0.5) -> list[State]:
    """One identity's state before any action and after each tracker correction.

    The oracle runs the tracker forward and fixes its first wrong frame (a box from the truth,
    or a stop where the object left); the state after ``j`` fixes is the labels a person who
    stopped then would keep: fixed frames up to the next fix, the tracker's own run after it.
    """
    n = len(truth)
    present = present_mask(truth)

    def run(start: int, fix: bool) -> tuple[list[int], np.ndarray]:
        tracker = Tracker(kind)
        boxes = np.full((n, 4), np.nan)
        fixes: list[int] = []
        for t in range(start, n):
            box = tracker.update(frames[t]) if tracker.running else None
            label = np.full(4, np.nan) if box is None else box
            good = _state(label[None], truth[t][None], iou)[1:] == (0, 0)
            if not good and (fix or t == start):
                fixes.append(t)
                if present[t]:
                    tracker.start(frames[t], truth[t])
                    label = truth[t]
                else:
                    tracker.stop()
                    label = np.full(4, np.nan)
            boxes[t] = label
        return fixes, boxes

    first = np.flatnonzero(present)
    if not first.size:
        return [_state(np.full((n, 4), np.nan), truth, iou)]
    fixes, fixed = run(int(first[0]), fix=True)
    states = [_state(np.full((n, 4), np.nan), truth, iou)]
    for j in range(1, len(fixes) + 1):
        if j == len(fixes):
            states.append(_state(fixed, truth, iou))
            break
        _, cont = run(fixes[j - 1], fix=False)
        boxes = fixed.copy()
        boxes[fixes[j - 1]:] = cont[fixes[j - 1]:]
        states.append(_state(boxes, truth, iou))
    return states


def merge_states(per_identity: Sequence[Sequence[State]]) -> list[tuple[int, float]]:
    """The clip's curve ``(actions, % correct)``: each next action goes to the identity whose
    next state gains the most (IDTP up, IDFP down), the baselines' "best order"."""
    at = [0] * len(per_identity)
    totals = np.sum([s[0] for s in per_identity], axis=0) if per_identity else np.zeros(3)

    def share(t: np.ndarray) -> float:
        denom = t.sum()
        return float(t[0] / denom) if denom else 1.0

    curve = [(0, share(totals))]
    actions = 0
    while True:
        best, best_gain = None, -math.inf
        for k, states in enumerate(per_identity):
            if at[k] + 1 < len(states):
                now, nxt = np.asarray(states[at[k]]), np.asarray(states[at[k] + 1])
                gain = share(totals - now + nxt)
                if gain > best_gain:
                    best, best_gain = k, gain
        if best is None:
            return curve
        totals = totals - np.asarray(per_identity[best][at[best]]) + np.asarray(
            per_identity[best][at[best] + 1])
        at[best] += 1
        actions += 1
        curve.append((actions, share(totals)))


def summarise(curve: Sequence[tuple[int, float]], n_frames: int) -> dict[str, Any]:
    """Actions to 95% / 100% correct (a person viewing every frame)."""
    def first(share: float) -> int:
        return next(a for a, c in curve if c >= share - 1e-12)

    return {"actions_to_95": first(0.95), "actions_to_100": first(1.0),
            "frames_viewed_to_95": n_frames, "final_correct_frac": round(curve[-1][1], 4)}


def multi_baselines(clip: MultiClip, *, iou: float = 0.5, trackers: Sequence[str] = ("csrt",),
                    progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Interpolation and tracker baselines of a clip, per identity and summed."""
    tracks = [clip.track(i) for i in clip.identities]
    out = {"interpolation": summarise(
        merge_states([interpolation_states(t, iou=iou) for t in tracks]), len(clip))}
    frames = FrameCache(clip.frames)
    for kind in trackers:
        states = []
        for identity, track in zip(clip.identities, tracks):
            if progress is not None:
                progress(f"{kind} on identity {identity}")
            states.append(tracker_states(frames, track, kind=kind, iou=iou))
        out[kind] = summarise(merge_states(states), len(clip))
    return out


__all__ = ["interpolation_states", "merge_states", "multi_baselines", "summarise",
           "tracker_states"]
