"""Identity-aware accounting on cases with known IDTP / IDFP / IDFN, against py-motmetrics."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.errors import AnnotationError
from microlab.multi.identity import identity_scores, motmetrics_idf1


def _frames(*frames: list[tuple[int, tuple[float, float]]]) -> list[Detections]:
    """Per frame a list of (track id, (x, y)) -> 10x10 boxes at (x, y)."""
    out = []
    for items in frames:
        if not items:
            out.append(Detections.empty())
            continue
        xyxy = [[x, y, x + 10, y + 10] for _, (x, y) in items]
        out.append(Detections(np.asarray(xyxy, float), track_ids=[t for t, _ in items]))
    return out


A, B = (0.0, 0.0), (50.0, 0.0)

CASES = {
    # two objects, tracked perfectly under other names
    "perfect": (_frames([(7, A), (8, B)], [(7, A), (8, B)]),
                _frames([(1, A), (2, B)], [(1, A), (2, B)]), (4, 0, 0)),
    # an identity swap halfway: each track is right for half its boxes
    "swap": (_frames([(7, A), (8, B)], [(7, A), (8, B)], [(8, A), (7, B)], [(8, A), (7, B)]),
             _frames([(1, A), (2, B)], [(1, A), (2, B)], [(1, A), (2, B)], [(1, A), (2, B)]),
             (4, 4, 4)),
    # a missed object and a false box
    "miss-and-false": (_frames([(7, A)], [(7, A), (9, (200.0, 200.0))]),
                       _frames([(1, A), (2, B)], [(1, A)]), (2, 1, 1)),
    # a box too far off (IoU < 0.5) is both a false box and a miss
    "loose": (_frames([(7, (6.0, 0.0))]), _frames([(1, A)]), (0, 1, 1)),
    # an object that leaves and comes back under a new track id: only one track maps
    "re-entry": (_frames([(7, A)], [], [(9, A)], [(9, A)]),
                 _frames([(1, A)], [], [(1, A)], [(1, A)]), (2, 1, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_counts_and_motmetrics_agree(name: str) -> None:
    predicted, truth, (idtp, idfp, idfn) = CASES[name]
    scores = identity_scores(predicted, truth)
    assert (scores.idtp, scores.idfp, scores.idfn) == (idtp, idfp, idfn)
    assert scores.correct_frac == pytest.approx(idtp / (idtp + idfp + idfn))
    pytest.importorskip("motmetrics")
    assert scores.idf1 == pytest.approx(motmetrics_idf1(predicted, truth))


def test_the_mapping_is_one_to_one_and_maximises_matches() -> None:
    predicted, truth, _ = CASES["swap"]
    mapping = identity_scores(predicted, truth).mapping
    assert sorted(mapping) == [7, 8]
    assert sorted(mapping.values()) == [1, 2]


def test_boxes_without_a_track_are_one_frame_tracks() -> None:
    predicted = [Detections([[0, 0, 10, 10]]), Detections([[0, 0, 10, 10]])]  # track_ids -1
    truth = _frames([(1, A)], [(1, A)])
    scores = identity_scores(predicted, truth)
    assert (scores.idtp, scores.idfp, scores.idfn) == (1, 1, 1)
    pytest.importorskip("motmetrics")
    assert scores.idf1 == pytest.approx(motmetrics_idf1(predicted, truth))


def test_the_0_7_threshold_is_stricter() -> None:
    predicted, truth = _frames([(7, (2.0, 0.0))]), _frames([(1, A)])  # IoU 0.67
    assert identity_scores(predicted, truth).idtp == 1
    assert identity_scores(predicted, truth, iou=0.7).idtp == 0


def test_a_frame_count_mismatch_is_refused() -> None:
    with pytest.raises(AnnotationError, match="one entry per frame"):
        identity_scores(_frames([]), _frames([], []))


@pytest.mark.needs_shared_data
def test_a_perturbed_real_clip_agrees_with_motmetrics(shared_multi) -> None:
    from microlab.multi import load_multi_clip

    pytest.importorskip("motmetrics")
    clip = load_multi_clip(shared_multi / "pets09_s3mf1")
    rng = np.random.default_rng(0)
    predicted = []
    for i, det in enumerate(clip.truth):
        ids = det.track_ids.copy()
        if i > len(clip) // 2:  # a swap of two identities in the second half
            ids = np.where(ids == 1, 2, np.where(ids == 2, 1, ids))
        keep = rng.random(len(det)) > 0.1
        xyxy = det.xyxy + rng.normal(0, 5, det.xyxy.shape)
        xyxy = np.sort(xyxy.reshape(-1, 2, 2), axis=1).reshape(-1, 4)
        predicted.append(Detections(xyxy[keep], track_ids=ids[keep]))
    scores = identity_scores(predicted, list(clip.truth))
    assert 0.5 < scores.idf1 < 0.95
    assert scores.idf1 == pytest.approx(motmetrics_idf1(predicted, list(clip.truth)))
