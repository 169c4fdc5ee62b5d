"""Sampling: which frames a person should label first, and which to review next.

Query strategies are plain functions over plain arrays (modAL style), so they are easy to test
with hand-made inputs and to swap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def initial_frames(
    signatures: np.ndarray,
    k: int = 5,
    *,
    time_weight: float = 1.0,
    exclude: Sequence[int] = (),
) -> list[int]:
    """``k`` frames spread over the clip in time and in appearance, without ground truth.

    Greedy farthest-point sampling in a space of appearance signatures plus the frame's
    position in the clip: the first pick is the frame most typical of the clip, each next one
    the frame farthest from everything picked so far.  On continuous footage this spaces the
    picks evenly; on an edited scene it also visits the different shots.
    """
    n = len(signatures)
    if n == 0:
        return []
    k = min(k, n)
    sig = np.asarray(signatures, np.float64)
    scale = np.median(np.linalg.norm(sig - np.median(sig, axis=0), axis=1)) + 1e-6
    position = (np.arange(n) / max(n - 1, 1))[:, None] * time_weight
    space = np.hstack([sig / scale, position * 2.0])
    picked = list(exclude)
    if not picked:
        centre = np.median(space, axis=0)
        picked = [int(np.argmin(np.linalg.norm(space - centre, axis=1)))]
    dist = np.min([np.linalg.norm(space - space[p], axis=1) for p in picked], axis=0)
    chosen = [p for p in picked if p not in exclude]
    while len(chosen) < k:
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(space - space[nxt], axis=1))
    return sorted(chosen)


@dataclass(frozen=True)
class ReviewItem:
    """A frame proposed for review, why, and how urgent (higher = more likely wrong)."""

    frame: int
    priority: float
    reason: str


def rank_for_review(
    doubt: np.ndarray,
    reasons: Sequence[str],
    *,
    n: int,
    exclude: Sequence[int] = (),
    min_gap: int = 3,
    segment_ids: np.ndarray | None = None,
    per_segment: int | None = None,
) -> list[ReviewItem]:
    """The ``n`` frames with the highest doubt, spaced at least ``min_gap`` frames apart.

    Spacing avoids spending a batch on one stretch where one correction would fix all of it
    (the correction propagates when the model retrains).  ``per_segment`` caps how many frames
    one segment may take from the batch, so weak segments do not starve the others.
    """
    doubt = np.asarray(doubt, np.float64).copy()
    banned = np.zeros(len(doubt), bool)
    banned[list(exclude)] = True
    items: list[ReviewItem] = []
    taken: dict[int, int] = {}
    for frame in np.argsort(-doubt, kind="stable"):
        if len(items) >= n:
            break
        frame = int(frame)
        if banned[frame] or doubt[frame] <= 0:
            continue
        if segment_ids is not None and per_segment is not None:
            seg = int(segment_ids[frame])
            if taken.get(seg, 0) >= per_segment:
                continue
            taken[seg] = taken.get(seg, 0) + 1
        items.append(ReviewItem(frame, float(doubt[frame]), reasons[frame]))
        banned[max(0, frame - min_gap + 1) : frame + min_gap] = True
    return items
