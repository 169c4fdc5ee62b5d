"""Segments (cuts, splitting) and sampling strategies on plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.errors import AnnotationError
from microlab.sampling import (
    frames_in_unseen_segments,
    initial_frames,
    rank_for_review,
    rank_review,
    segment_check_frames,
    spot_checks,
)
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
    segments = [(0, 9), (10, 19), (20, 29), (30, 39)]
    priority = np.zeros(40)
    priority[[3, 14, 25, 36]] = [0.9, 0.2, 0.6, 0.4]
    priority[17] = 0.3  # the most doubtful frame of segment 1
    # Segment 0 holds a human frame: it needs no check; the others, most doubtful first.
    assert segment_check_frames(segments, {5}, priority, n=10) == [25, 36, 17]
    assert segment_check_frames(segments, {5}, priority, n=2) == [25, 36]
    assert segment_check_frames(segments, {5, 12, 22, 33}, priority, n=10) == []


# ---------------------------------------------------------------------- the review ranking
def test_rank_review_prefers_a_doubtful_stretch_over_a_flicker_and_skips_human_frames():
    doubt = np.zeros(40)
    doubt[10:15] = 0.8  # a doubtful stretch: its middle averages 0.8 with its neighbours
    doubt[30] = 0.9  # an isolated flicker: 0.5 * 0.9 + 0.5 * 0.9 / 5 = 0.54
    doubt[20] = 1.0  # a human frame: never proposed, whatever its doubt
    reasons = [f"reason {t}" for t in range(40)]
    items = rank_review(doubt, reasons, [(0, 39)], [0, 20], n=2)
    assert [i.frame for i in items] == [12, 30]
    assert [i.priority for i in items] == pytest.approx([0.8, 0.54])
    assert [i.reason for i in items] == ["reason 12", "reason 30"]
    assert doubt[20] == 1.0  # the caller's arrays are not changed


def test_rank_review_checks_a_segment_no_one_has_seen_first():
    doubt = np.zeros(40)
    doubt[10:15] = 0.8
    doubt[30] = 0.2  # the only doubt in the second segment, which has no human frame
    segments = [(0, 19), (20, 39)]
    items = rank_review(doubt, ["low score"] * 40, segments, [5], n=2)
    assert [(i.frame, i.reason) for i in items] == [
        (12, "low score"), (30, "no one has checked this segment yet")]
    assert items[1].priority == pytest.approx(0.5 * 0.2 + 0.5 * 0.2 / 5)
    # Without segment checks a one-frame batch goes to the most doubtful frame.
    only = rank_review(doubt, ["low score"] * 40, segments, [5], n=1, segment_checks=0.0)
    assert [i.frame for i in only] == [12]


@pytest.mark.parametrize(
    ("confirmed", "explore", "expected"),
    [
        (np.zeros(100, bool), 0.5, [(50, 0.5)]),  # 50 frames (the scale) from the human frame
        (np.zeros(100, bool), 0.2, [(50, 0.2)]),
        (np.ones(100, bool), 0.5, []),  # confirmed evidence reaches every frame: nothing to do
        (None, 0.5, []),  # no such array (an older store): no exploration
    ],
)
def test_rank_review_explores_unconfirmed_frames_far_from_human_labels(confirmed, explore,
                                                                      expected):
    items = rank_review(np.zeros(100), ["sure"] * 100, [(0, 99)], [0], n=1, confirmed=confirmed,
                        explore=explore)
    assert [(i.frame, round(i.priority, 6)) for i in items] == expected
    assert all(i.reason == "far from human labels, unconfirmed" for i in items)


def test_rank_review_wants_one_reason_per_frame():
    with pytest.raises(AnnotationError, match="one reason per frame of doubt \\(10\\), but got 3"):
        rank_review(np.zeros(10), ["a", "b", "c"], [(0, 9)], [], n=2)


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


def test_spot_checks_take_confident_labels_of_each_kind_in_turn() -> None:
    conf = np.r_[np.full(10, 0.95), np.full(10, 0.5), np.full(10, 0.9)]
    kinds = ["model"] * 10 + ["model"] * 10 + ["absent"] * 5 + ["tracker"] * 5
    picks = spot_checks(conf, kinds, n=3, exclude=[0, 1], seed=1)
    assert len(picks) == 3
    assert all(conf[p] >= 0.8 for p in picks)  # confident only
    assert not {0, 1} & set(picks)
    assert sorted(kinds[p] for p in picks) == ["absent", "model", "tracker"]  # one of each
    assert spot_checks(conf, kinds, n=3, exclude=[0, 1], seed=1) == picks  # repeatable
    assert len(spot_checks(conf, kinds, n=100)) == 20  # no more than there are
    with pytest.raises(AnnotationError, match="one kind per frame"):
        spot_checks(conf, kinds[:5], n=1)


def test_rank_review_gives_a_share_of_the_batch_to_spot_checks() -> None:
    doubt = np.full(100, 0.02)  # confident everywhere ...
    doubt[40:60] = 0.6  # ... but a doubtful stretch
    kinds = ["model"] * 50 + ["absent"] * 50
    items = rank_review(doubt, ["r"] * 100, [(0, 99)], [0], n=10, kinds=kinds,
                        spot_checks=0.2, seed=3)
    assert len(items) == 10
    audits = [i for i in items if i.reason == "spot check of a confident label"]
    assert len(audits) == 2
    assert all(doubt[i.frame] < 0.2 for i in audits)
    assert sorted(kinds[i.frame] for i in audits) == ["absent", "model"]
    assert sum(40 <= i.frame < 60 for i in items) >= 6  # the rest still goes to the doubt
    plain = rank_review(doubt, ["r"] * 100, [(0, 99)], [0], n=10)
    assert not [i for i in plain if i.reason == "spot check of a confident label"]
