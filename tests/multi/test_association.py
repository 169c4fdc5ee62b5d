"""Linking detections into tracks, on hand-made cases whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.errors import SettingsError
from microlab.multi.association import AssociationSettings, link_tracks
from microlab.multi.identity import identity_scores


def _box(x: float, y: float, size: float = 20.0) -> list[float]:
    return [x, y, x + size, y + size]


def _clip(paths: dict[int, list[tuple[float, float] | None]], n: int,
          given: dict[tuple[int, int], int] | None = None) -> tuple[list, list]:
    """Truth and detections (no ids) from per-object positions; ``given``: (frame, object) ->
    an identity a person gave that box."""
    truth, dets = [], []
    for f in range(n):
        boxes, ids, marks = [], [], []
        for obj, path in paths.items():
            if path[f] is not None:
                boxes.append(_box(*path[f]))
                ids.append(obj)
                marks.append((given or {}).get((f, obj), -1))
        arr = np.asarray(boxes, float).reshape(-1, 4)
        truth.append(Detections(arr, track_ids=ids))
        dets.append(Detections(arr, track_ids=marks))
    return truth, dets


def _score(truth, linked) -> float:
    return identity_scores(linked, truth).idf1


def test_two_objects_crossing_keep_their_identities() -> None:
    n = 40
    a = [(5.0 * f, 50.0) for f in range(n)]           # left to right
    b = [(200.0 - 5.0 * f, 56.0) for f in range(n)]   # right to left, crossing at f = 20
    truth, dets = _clip({1: a, 2: b}, n)
    linked = link_tracks(dets)
    assert _score(truth, linked) == 1.0
    assert len({int(t) for d in linked for t in d.track_ids}) == 2


def test_an_object_that_leaves_and_returns_is_found_again_by_its_look() -> None:
    n = 60
    a = [(100.0, 50.0) if not 20 <= f < 35 else None for f in range(n)]  # hidden 15 frames
    b = [(10.0 + f, 150.0) for f in range(n)]
    truth, dets = _clip({1: a, 2: b}, n)
    # Appearance: each object its own direction, with a little noise.
    rng = np.random.default_rng(0)
    look = {1: np.array([1.0, 0, 0]), 2: np.array([0, 1.0, 0])}
    embeddings = [np.asarray([look[int(t)] + rng.normal(0, 0.05, 3) for t in d.track_ids])
                  .reshape(-1, 3) for d in truth]
    linked = link_tracks(dets, embeddings=embeddings)
    assert _score(truth, linked) == 1.0
    # It came back where it left, so motion alone (no looks) joins it too.
    assert _score(truth, link_tracks(dets)) == 1.0


def test_a_new_object_entering_gets_a_new_track() -> None:
    n = 30
    a = [(10.0 + 2 * f, 50.0) for f in range(n)]
    b = [None] * 15 + [(300.0 - 3 * f, 200.0) for f in range(15)]
    truth, dets = _clip({1: a, 2: b}, n)
    linked = link_tracks(dets)
    assert _score(truth, linked) == 1.0
    ids_b = {int(t) for d in linked[15:] for t, box in zip(d.track_ids, d.xyxy) if box[1] > 100}
    ids_a = {int(t) for d in linked[:15] for t in d.track_ids}
    assert len(ids_b) == 1
    assert not ids_b & ids_a


def test_given_identities_are_kept_and_spread_to_their_tracks() -> None:
    n = 20
    a = [(5.0 * f, 50.0) for f in range(n)]
    b = [(5.0 * f, 150.0) for f in range(n)]
    _, dets = _clip({1: a, 2: b}, n, given={(0, 1): 7, (10, 2): 9})
    linked = link_tracks(dets)
    by_row = {round(float(d.xyxy[j, 1])): int(d.track_ids[j]) for d in linked
              for j in range(len(d))}
    assert by_row == {50: 7, 150: 9}


def test_tracklets_of_two_given_identities_are_never_joined() -> None:
    n = 30
    # One object seen twice with a gap, but a person said the two stretches are different
    # objects: they must stay apart even though motion would join them.
    a = [(100.0, 50.0) if f < 10 else None for f in range(n)]
    c = [(100.0, 50.0) if f >= 15 else None for f in range(n)]
    truth, dets = _clip({1: a, 3: c}, n, given={(0, 1): 1, (20, 3): 3})
    linked = link_tracks(dets)
    assert _score(truth, linked) == 1.0


def test_classes_are_never_mixed() -> None:
    n = 10
    boxes = [Detections([_box(10.0 + f, 10.0)], class_ids=[f % 2]) for f in range(n)]
    linked = link_tracks(boxes)
    ids_by_class = {}
    for d in linked:
        ids_by_class.setdefault(int(d.class_ids[0]), set()).add(int(d.track_ids[0]))
    assert ids_by_class[0].isdisjoint(ids_by_class[1])


def test_settings_are_checked() -> None:
    with pytest.raises(SettingsError, match="max_gap"):
        AssociationSettings(link_gap=5, max_gap=2)


@pytest.mark.needs_shared_data
def test_true_boxes_without_ids_are_linked_back_into_their_tracks(shared_multi) -> None:
    """With perfect detections, linking alone recovers the people of two real clips."""
    from microlab.multi import load_multi_clip

    for name in ("pets09_s3mf1", "otb_jogging"):
        clip = load_multi_clip(shared_multi / name)
        boxes = [Detections(d.xyxy, class_ids=d.class_ids) for d in clip.truth]
        assert identity_scores(link_tracks(boxes), list(clip.truth)).idf1 > 0.99, name


def test_a_drawn_box_gets_the_nearest_tracks_identity_or_a_new_one() -> None:
    from microlab.multi.association import propose_track

    labelled = {
        0: Detections(np.array([[0, 0, 10, 10], [50, 0, 60, 10]], float), track_ids=[4, 9]),
        40: Detections(np.array([[100, 0, 110, 10]], float), track_ids=[12]),
    }
    assert propose_track(labelled, 1, (2, 0, 12, 10))[0] == 4
    assert propose_track(labelled, 1, (48, 0, 58, 10))[0] == 9
    # taken on this frame already: the next nearest is too far, so a new object
    track, why = propose_track(labelled, 1, (2, 0, 12, 10), taken=[4])
    assert track == 13
    assert "new object" in why
    # another class never inherits an identity
    assert propose_track(labelled, 1, (2, 0, 12, 10), class_id=1)[0] == 13
    # beyond the window, frame 40's track is not proposed for frame 1
    assert propose_track(labelled, 1, (100, 0, 110, 10))[0] == 13


def _greedy_merge_by_scanning(tracklets, settings):
    """The merging rule written the slow, obvious way: score every pair, join the best (the
    first in start order on a tie), repeat."""
    from microlab.multi.association import _merge_score

    alive = sorted(tracklets, key=lambda t: t.frames[0])
    while True:
        best = None
        for a in alive:
            for b in alive:
                score = _merge_score(a, b, settings)
                if score is not None and (best is None or score > best[0]):
                    best = (score, a, b)
        if best is None:
            return alive
        _, a, b = best
        a.frames += b.frames
        a.boxes += b.boxes
        a.rows += b.rows
        a.given |= b.given
        a.embeddings += b.embeddings
        alive.remove(b)


def test_merging_joins_the_same_tracklets_as_scoring_every_pair_again(monkeypatch) -> None:
    """A crowd seen by a weak detector (many misses and false boxes, a few named boxes) breaks
    into many short tracklets; the heap that rescores only a merged tracklet's pairs must join
    exactly what rescoring every pair after each join does."""
    from microlab.multi import association

    rng = np.random.default_rng(3)
    n, objects = 80, 6
    starts = rng.uniform(0, 400, (objects, 2))
    speeds = rng.uniform(-2, 2, (objects, 2))
    dets = []
    for f in range(n):
        boxes, ids = [], []
        for o in range(objects):
            if rng.random() < 0.35:
                continue  # missed
            x, y = starts[o] + speeds[o] * f + rng.normal(0, 2, 2)
            boxes.append(_box(x, y))
            ids.append(o + 1 if f % 40 == 0 else -1)
        for _ in range(rng.integers(0, 3)):  # false boxes
            boxes.append(_box(*rng.uniform(0, 400, 2)))
            ids.append(-1)
        dets.append(Detections(np.asarray(boxes, float).reshape(-1, 4), track_ids=ids))
    fast = link_tracks(dets)
    monkeypatch.setattr(association, "_merge", _greedy_merge_by_scanning)
    slow = link_tracks(dets)
    for f, (a, b) in enumerate(zip(fast, slow)):
        assert a.track_ids.tolist() == b.track_ids.tolist(), f"frame {f}"
    assert len({int(t) for d in fast for t in d.track_ids}) > objects  # it had work to do


def test_a_tracks_short_gap_is_filled_in_but_not_a_long_one_a_cut_or_a_persons_frame() -> None:
    from microlab.boxes import Source
    from microlab.multi.association import fill_track_gaps

    def at(x: float, track: int = 1, score: float = 0.9) -> Detections:
        return Detections([[x, 10, x + 20, 30]], [score], track_ids=[track])

    empty = Detections.empty()
    # track 1: frames 0 and 4 (a gap of 3), then 20 (a gap of 15)
    linked = [at(0), empty, empty, empty, at(40, score=0.6), *[empty] * 15, at(60)]
    filled = fill_track_gaps(linked, max_gap=10)
    assert [len(d) for d in filled[:5]] == [1, 1, 1, 1, 1]
    assert np.allclose(filled[2].xyxy, [[20, 10, 40, 30]])  # half way
    assert filled[2].sources[0] == Source.INTERPOLATED
    assert filled[2].track_ids.tolist() == [1]
    assert filled[2].scores[0] == pytest.approx(0.8 * 0.6)
    assert all(len(d) == 0 for d in filled[5:20])  # 15 frames: the object may have left
    # a cut inside the gap, or a person's frame, stays empty
    assert len(fill_track_gaps(linked, cuts=[3])[1]) == 0
    assert [len(d) for d in fill_track_gaps(linked, fixed={2})[1:4]] == [1, 0, 1]
    # another track's box where the interpolated one would be: the object is there already
    crowded = list(linked)
    crowded[2] = at(20, track=7)
    assert fill_track_gaps(crowded)[2].track_ids.tolist() == [7]
