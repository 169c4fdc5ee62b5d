"""Segments (cuts, splitting) and sampling strategies on plain arrays."""

from __future__ import annotations

import numpy as np

from microlab.sampling import frames_in_unseen_segments, initial_frames, rank_for_review
from microlab.segments import Segment, detect_cuts, segment_of, split_clip


def _signatures_with_cuts(n, cuts, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    sig = np.zeros((n, dim))
    level = rng.normal(0, 1, dim)
    for t in range(n):
        if t in cuts:
            level = rng.normal(0, 1, dim) * 3
        sig[t] = level + rng.normal(0, 0.02, dim)
    return sig


def test_cuts_are_found_where_appearance_jumps():
    sig = _signatures_with_cuts(100, {30, 64})
    assert detect_cuts(sig) == [30, 64]


def test_a_continuous_clip_has_no_cuts():
    rng = np.random.default_rng(1)
    sig = np.cumsum(rng.normal(0, 0.01, (200, 8)), axis=0)
    assert detect_cuts(sig) == []


def test_split_clip_respects_cuts_and_max_length():
    segs = split_clip(400, [100], max_length=150)
    assert segs[0] == Segment(0, 99)
    assert all(len(s) <= 150 for s in segs)
    assert segs[-1].end == 399
    assert sum(len(s) for s in segs) == 400
    assert segment_of(segs, 100) == 1


def test_initial_frames_spread_over_time_on_continuous_footage():
    rng = np.random.default_rng(2)
    sig = np.cumsum(rng.normal(0, 0.01, (300, 8)), axis=0)
    picks = initial_frames(sig, 5)
    assert len(picks) == 5
    gaps = np.diff([0, *picks, 299])
    assert gaps.max() < 120  # no large stretch left without a label


def test_initial_frames_visit_every_shot():
    cuts = {40, 80, 120, 160}
    sig = _signatures_with_cuts(200, cuts)
    picks = initial_frames(sig, 5)
    shots = {int(np.searchsorted(sorted(cuts), p, side="right")) for p in picks}
    assert shots == {0, 1, 2, 3, 4}


def test_rank_for_review_spaces_frames_and_caps_segments():
    doubt = np.zeros(100)
    doubt[10:15] = [0.9, 0.95, 0.9, 0.8, 0.7]
    doubt[60] = 0.5
    doubt[80] = 0.4
    items = rank_for_review(doubt, ["r"] * 100, n=3, min_gap=5)
    assert [i.frame for i in items] == [11, 60, 80]
    seg_ids = np.where(np.arange(100) < 50, 0, 1)
    capped = rank_for_review(doubt, ["r"] * 100, n=3, min_gap=2, segment_ids=seg_ids, per_segment=1)
    assert [i.frame for i in capped] == [11, 60]


def test_every_unchecked_segment_gets_its_most_doubtful_frame_first():
    from microlab.loop import _segment_checks

    segments = [Segment(0, 9), Segment(10, 19), Segment(20, 29), Segment(30, 39)]
    priority = np.zeros(40)
    priority[[3, 14, 25, 36]] = [0.9, 0.2, 0.6, 0.4]
    priority[17] = 0.3  # the most doubtful frame of segment 1
    # Segment 0 holds a human frame: it needs no check; the others, most doubtful first.
    assert _segment_checks(segments, {5}, priority, n=10) == [25, 36, 17]
    assert _segment_checks(segments, {5}, priority, n=2) == [25, 36]
    assert _segment_checks(segments, {5, 12, 22, 33}, priority, n=10) == []


# ---------------------------------------------------------------------- looking for the object
def _three_places(n_per_shot: int = 10) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Signatures of six shots at three places: A, B, A, C, B, A (C is the odd one out)."""
    places = {"A": [0.0, 0.0], "B": [1.0, 0.0], "C": [0.0, 5.0]}
    order = "ABACBA"
    sig = np.concatenate([np.tile(places[p], (n_per_shot, 1)) for p in order])
    sig += np.random.default_rng(0).normal(scale=0.01, size=sig.shape)
    segments = [(i * n_per_shot, (i + 1) * n_per_shot - 1) for i in range(len(order))]
    return sig, segments


def test_search_frames_go_to_unseen_shots_least_like_the_seen_ones_first():
    sig, segments = _three_places()
    seen = [5, 25]  # a person looked at the first two shots of place A and saw nothing
    picks = frames_in_unseen_segments(sig, segments, seen, k=1)
    assert len(picks) == 1
    assert 30 <= picks[0] <= 39  # the shot of place C: the most unlike place A
    picks = frames_in_unseen_segments(sig, segments, seen, k=3)
    shots = sorted(p // 10 for p in picks)
    assert shots == [1, 3, 4]  # C, then the two shots of B; never the unseen shot of place A first


def test_search_frames_fill_from_seen_shots_when_every_shot_was_visited():
    sig, segments = _three_places()
    seen = [5, 15, 25, 35, 45, 55]
    picks = frames_in_unseen_segments(sig, segments, seen, k=4)
    assert len(picks) == 4
    assert not set(picks) & set(seen)


def test_search_frames_with_nothing_left_or_nothing_asked():
    sig, segments = _three_places(2)
    assert frames_in_unseen_segments(sig, segments, list(range(12)), k=3) == []
    assert frames_in_unseen_segments(sig, segments, [], k=0) == []
    assert frames_in_unseen_segments(np.zeros((0, 2)), [], [], k=3) == []
