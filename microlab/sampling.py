"""Sampling: which frames a person should label first, and which to review next.

Query strategies are plain functions over plain arrays (modAL style), so they are easy to test
with hand-made inputs and to swap.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from microlab.errors import AnnotationError


def initial_frames(
    signatures: np.ndarray,
    k: int = 5,
    *,
    exclude: Sequence[int] = (),
) -> list[int]:
    """``k`` frames spread over the clip in time, each typical of its stretch, without ground truth.

    The stretches between frames already labelled (``exclude``) and the clip's ends get picks in
    proportion to their length; each stretch is cut into equal strata and each stratum gives its
    most typical frame (the medoid of its middle part in appearance space).  On continuous
    footage this spaces the picks evenly, so trackers and interpolation from them cover the
    clip; on an edited scene a stratum's dominant shot is picked, not a transition frame.
    """
    n = len(signatures)
    k = min(k, n - len(set(exclude)))
    if n == 0 or k <= 0:
        return []
    sig = np.asarray(signatures, np.float64)
    done = sorted({int(f) for f in exclude})
    edges = [-1, *done, n]
    gaps = [(a + 1, b) for a, b in itertools.pairwise(edges) if b - a > 1]
    lengths = np.array([b - a for a, b in gaps], float)
    share = lengths / lengths.sum() * k
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts))[: k - counts.sum()]:
        counts[i] += 1
    picks: list[int] = []
    for (a, b), m in zip(gaps, counts):
        bounds = np.linspace(a, b, m + 1)
        for lo, hi in itertools.pairwise(bounds):
            width = hi - lo
            core = np.arange(int(np.ceil(lo + 0.2 * width)), int(np.floor(hi - 0.2 * width)) + 1)
            core = core[(core >= lo) & (core < hi)]
            if core.size == 0:
                core = np.arange(int(lo), max(int(lo) + 1, int(hi)))
            picks.append(_most_typical(sig, core))
    return sorted(picks)


def diverse_frames(
    signatures: np.ndarray,
    segments: Sequence[tuple[int, int]],
    k: int = 5,
    *,
    exclude: Sequence[int] = (),
) -> list[int]:
    """``k`` frames that look as different from each other as the clip allows.

    For frame tags, what matters first is to see every kind of scene, not to space the picks in
    time: each segment (shot) offers its most typical frame, and the picks are made farthest
    first (each one the offer least like everything picked or in ``exclude`` so far), starting
    from the most typical frame of the clip.  Transition frames are never offered.

    Args:
        signatures: (n, d) appearance signatures.
        segments: ``(start, end)`` frame ranges, ``end`` inclusive, covering the clip.
        k: how many frames.
        exclude: frames already labelled (the picks keep away from them).
    """
    sig = np.asarray(signatures, np.float64)
    done = sorted({int(f) for f in exclude})
    offers = []
    for start, end in segments:
        frames = np.arange(int(start), int(end) + 1)
        if frames.size and not set(done).intersection(frames.tolist()):
            offers.append(_most_typical(sig, frames))
    if not offers or k <= 0:
        return []
    offers_sig = sig[offers]
    if done:
        dist = np.min(np.linalg.norm(offers_sig[:, None] - sig[done][None], axis=2), axis=1)
    else:
        dist = np.full(len(offers), np.inf)
        first = int(np.argmin(np.linalg.norm(offers_sig - np.median(sig, axis=0), axis=1)))
        dist[first] = np.finfo(float).max  # the clip's most typical offer starts the picks
    picks: list[int] = []
    while len(picks) < min(k, len(offers)):
        j = int(np.argmax(dist))
        picks.append(offers[j])
        dist = np.minimum(dist, np.linalg.norm(offers_sig - offers_sig[j], axis=1))
        dist[j] = -1.0
    return sorted(picks)


def _most_typical(sig: np.ndarray, frames: np.ndarray, centre: np.ndarray | None = None) -> int:
    """The frame of ``frames`` closest to their median signature (``centre``, if known)."""
    if centre is None:
        centre = np.median(sig[frames], axis=0)
    return int(frames[np.argmin(np.linalg.norm(sig[frames] - centre, axis=1))])


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


def segment_check_frames(
    segments: Sequence[tuple[int, int]],
    human: set[int],
    priority: np.ndarray,
    n: int,
) -> list[int]:
    """One frame (the most doubtful) of each segment without a human frame, at most ``n``,
    the most doubtful segments first.

    Args:
        segments: ``(start, end)`` frame ranges, ``end`` inclusive.
        human: frames a person labelled.
        priority: review priority of every frame of the clip.
        n: how many frames at most.
    """
    picks = []
    for start, end in segments:
        frames = np.arange(int(start), int(end) + 1)
        if any(int(f) in human for f in frames):
            continue
        picks.append(int(frames[np.argmax(priority[frames])]))
    picks.sort(key=lambda t: -priority[t])
    return picks[:n]


def rank_review(
    doubt: np.ndarray,
    reasons: Sequence[str],
    segments: Sequence[tuple[int, int]],
    human_frames: Sequence[int],
    *,
    n: int,
    confirmed: np.ndarray | None = None,
    explore: float = 0.5,
    segment_checks: float = 1.0,
    kinds: Sequence[str] | None = None,
    spot_checks: float = 0.0,
    seed: int = 0,
) -> list[ReviewItem]:
    """The ``n`` frames most worth a human look, most urgent first (the loop's acquisition
    function; :meth:`microlab.loop.Loop.review_queue` calls it).

    Doubt (``1 - confidence`` of each machine label) is averaged with its neighbours so that
    the start of a doubtful stretch (where one correction fixes many frames once the model
    retrains and the tracker re-propagates) outranks an isolated flicker.  Confidence only
    compares the cues of one frame: where the model and an unchecked tracker run agree on the
    wrong object, it is high.  So frames that no confirmed evidence reaches (not ``confirmed``)
    gain priority with their distance from the nearest human frame (exploration, up to
    ``explore``), and long unchecked stretches get looked at.  Frames are spaced apart and no
    segment takes more than half the batch.

    A segment (a shot, after a cut) without a human frame gets one frame first, its most
    doubtful (up to ``segment_checks * n`` of them): a whole shot can be labelled confidently
    on the wrong object (a look-alike), and nothing inside it would say so.

    Last, ``spot_checks * n`` frames go to confident labels drawn at random, each kind in turn
    (:func:`spot_checks`): their answers are the only check of what "confident" means.

    Args:
        doubt: (n_frames,) doubt in [0, 1] of each frame's label; human frames count as 0.
        reasons: why each frame is doubtful (the labeller's words).
        segments: ``(start, end)`` frame ranges, ``end`` inclusive, covering the clip.
        human_frames: frames a person labelled; never proposed.
        n: how many frames to propose.
        confirmed: (n_frames,) whether confirmed evidence (a human box, a checked track) reaches
            each frame; ``None`` turns exploration off.
        explore: the largest priority exploration adds.
        segment_checks: share of the batch that may go to segments without a human frame.
        kinds: (n_frames,) the kind of each label (the cue behind it); ``None``: one kind.
        spot_checks: share of the batch for confident labels drawn at random.
        seed: seeds the draw (the same seed gives the same batch).

    Example:
        >>> items = rank_review(1 - confidence, reasons, [(0, 59)], [0, 30], n=4)
    """
    doubt = np.asarray(doubt, np.float64).copy()
    n_frames = len(doubt)
    human = sorted({int(f) for f in human_frames})
    reasons = [str(r) for r in reasons]
    if len(reasons) != n_frames:
        raise AnnotationError(
            f"reasons must hold one reason per frame of doubt ({n_frames}), but got {len(reasons)}"
        )
    doubt[human] = 0.0
    # The mean over 5 frames (zero outside the clip), for a clip of any length.
    smoothed = np.convolve(np.pad(doubt, 2), np.ones(5) / 5, mode="valid")
    priority = 0.5 * doubt + 0.5 * smoothed
    if confirmed is not None and human:
        distance = np.abs(np.arange(n_frames)[:, None] - np.asarray(human)[None, :]).min(axis=1)
        scale = max(30.0, n_frames / (2 * max(n, 1)))
        far = explore * np.minimum(1.0, distance / scale) * ~np.asarray(confirmed, bool)
        for t in np.flatnonzero(far > priority):
            reasons[t] = "far from human labels, unconfirmed"
        priority = priority + far
    priority[human] = 0.0
    seg_ids = np.zeros(n_frames, np.int64)
    for i, (start, end) in enumerate(segments):
        seg_ids[int(start) : int(end) + 1] = i
    gap = max(3, n_frames // (4 * max(n, 1)))
    checks = segment_check_frames(segments, set(human), priority, int(n * segment_checks))
    for t in checks:
        reasons[t] = "no one has checked this segment yet"
    per_segment = n if len(segments) == 1 else max(1, (n + 1) // 2)
    audits = round(spot_checks * n) if n > 1 else 0
    rest = rank_for_review(priority, reasons, n=n - len(checks) - audits,
                           exclude=human + checks, min_gap=gap, segment_ids=seg_ids,
                           per_segment=per_segment)
    first = [ReviewItem(t, float(priority[t]), reasons[t]) for t in checks]
    ranked = sorted(first + rest, key=lambda item: -item.priority)
    if audits:
        taken = [*human, *(item.frame for item in ranked)]
        audit = _spot_checks(1.0 - doubt, ["label"] * n_frames if kinds is None else kinds,
                             n=audits, exclude=taken, seed=seed)
        ranked += [ReviewItem(t, float(priority[t]), "spot check of a confident label")
                   for t in audit]
    return ranked


def spot_checks(
    confidence: np.ndarray,
    kinds: Sequence[str],
    *,
    n: int,
    exclude: Sequence[int] = (),
    threshold: float = 0.8,
    seed: int = 0,
) -> list[int]:
    """``n`` confident labels drawn at random, taking each kind of label in turn.

    Review goes to doubtful frames, so without these nobody would ever check the labels called
    confident; their answers are what the calibration of confident labels is fitted on.

    Args:
        confidence: every frame's confidence.
        kinds: every frame's kind of label (e.g. the cue behind it).
        n: how many frames at most.
        exclude: frames not to pick (human frames, frames already in the batch).
        threshold: what counts as confident.
        seed: the same seed gives the same picks.
    """
    conf = np.asarray(confidence, float)
    kinds = np.asarray(kinds, dtype=str)
    if kinds.shape != conf.shape:
        raise AnnotationError(f"kinds must hold one kind per frame ({len(conf)}), "
                              f"but got {kinds.shape}")
    allowed = conf >= threshold
    allowed[list(exclude)] = False
    rng = np.random.default_rng(seed)
    pools = {k: list(rng.permutation(np.flatnonzero(allowed & (kinds == k))))
             for k in sorted(set(kinds[allowed].tolist()))}
    picks: list[int] = []
    while len(picks) < n and any(pools.values()):
        for pool in pools.values():
            if pool and len(picks) < n:
                picks.append(int(pool.pop()))
    return picks


_spot_checks = spot_checks  # rank_review's parameter of the same name hides the function


def frames_in_unseen_segments(
    signatures: np.ndarray,
    segments: Sequence[tuple[int, int]],
    seen: Sequence[int],
    k: int = 5,
) -> list[int]:
    """``k`` frames from segments (shots) nobody has looked at, least like what was seen first.

    When every frame a person looked at showed no object, the next frames to show are in shots
    not yet visited, and the shots that look least like the visited ones come first (a
    different place is more likely to hold the object than another view of an empty one).
    Each chosen segment gives its most typical frame; with fewer unseen segments than ``k`` the
    longest unseen stretches of seen segments give the rest.

    Args:
        signatures: (n, d) appearance signatures of the clip's frames.
        segments: ``(start, end)`` frame ranges, ``end`` inclusive, covering the clip.
        seen: frames a person already looked at.
        k: how many frames to propose.
    """
    sig = np.asarray(signatures, np.float64)
    n = len(sig)
    seen_set = {int(f) for f in seen if 0 <= int(f) < n}
    if n == 0 or k <= 0 or len(seen_set) >= n:
        return []
    seen_sig = sig[sorted(seen_set)] if seen_set else None
    unseen = []  # (how unlike the seen frames, start, its most typical frame)
    for start, end in segments:
        frames = np.arange(int(start), int(end) + 1)
        if frames.size and not seen_set.intersection(frames.tolist()):
            centre = np.median(sig[frames], axis=0)
            novelty = 0.0 if seen_sig is None else float(
                np.min(np.linalg.norm(seen_sig - centre, axis=1)))
            unseen.append((novelty, int(start), _most_typical(sig, frames, centre)))
    unseen.sort(key=lambda t: (-t[0], t[1]))
    picks = [pick for _, _, pick in unseen[:k]]
    if len(picks) < k:
        rest = initial_frames(sig, k - len(picks), exclude=sorted(seen_set | set(picks)))
        picks.extend(rest)
    return sorted(set(picks))
