"""The labeller's path choice on hand-made candidates."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.labeller import SOURCES, LabellerSettings, interpolate_keyframes, label_clip


def _candidates(n, k=3):
    return np.full((n, k, 4), np.nan), np.zeros((n, k))


def test_identity_is_kept_through_a_stronger_distractor():
    n = 20
    xyxy, scores = _candidates(n)
    for t in range(n):
        xyxy[t, 0] = [10 + t, 10, 30 + t, 40]  # the target, moving slowly
        scores[t, 0] = 0.6
        xyxy[t, 1] = [200, 10, 220, 40]  # a look-alike far away
        scores[t, 1] = 0.5
    scores[10, 1] = 0.9  # one frame where the look-alike scores higher
    lab = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3, keyframes={})
    assert lab.boxes[10][0] == pytest.approx(20)  # stays on the target
    assert lab.present.all()
    # A whole path on the look-alike stays a real alternative: confident, not certain.
    assert 0.5 < lab.confidence[10] < 0.999


def test_human_keyframes_are_fixed_and_absence_is_respected():
    n = 10
    xyxy, scores = _candidates(n)
    xyxy[:, 0] = [0, 0, 10, 10]
    scores[:, 0] = 0.9
    lab = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3,
                     keyframes={4: None})
    assert np.isnan(lab.boxes[4]).all()
    assert SOURCES[lab.source[4]] == "human"
    assert lab.confidence[4] == pytest.approx(1.0)
    assert not np.isnan(lab.boxes[0]).any()


def test_low_scores_become_absent():
    n = 12
    xyxy, scores = _candidates(n)
    xyxy[:, 0] = [0, 0, 10, 10]
    scores[:, 0] = 0.05
    lab = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.4, keyframes={})
    assert not lab.present.any()


def test_tracker_and_interpolation_fill_where_the_model_finds_nothing():
    n = 11
    xyxy, scores = _candidates(n)
    keys = {0: np.array([0, 0, 10, 10.0]), 10: np.array([10, 0, 20, 10.0])}
    lab = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3,
                     keyframes=keys)
    assert lab.present.all()
    np.testing.assert_allclose(lab.boxes[5], [5, 0, 15, 10])
    assert SOURCES[lab.source[5]] == "interpolated"


def test_interpolation_stops_at_a_cut():
    keys = {0: np.array([0, 0, 10, 10.0]), 10: np.array([10, 0, 20, 10.0])}
    assert interpolate_keyframes(11, keys, cuts=[6]) == {}
    assert len(interpolate_keyframes(11, keys)) == 9


def test_agreeing_cues_add_up():
    n = 10
    xyxy, scores = _candidates(n)
    xyxy[:, 0] = [0, 0, 10, 10]
    scores[:, 0] = 0.6
    xyxy[:, 1] = [50, 0, 60, 10]  # a look-alike
    scores[:, 1] = 0.55
    alone = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3,
                       keyframes={})
    tracks = {t: [(np.array([0.5, 0, 10.5, 10]), t + 1, "open")] for t in range(n)}
    agreed = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3,
                        keyframes={}, tracks=tracks)
    assert agreed.confidence[5] > alone.confidence[5] + 0.1
    assert SOURCES[agreed.source[5]] == "model"
    # The box is the evidence-weighted mean, the detector counting double: between the two
    # boxes, nearer the model's.
    assert 0 < agreed.boxes[5][0] < 0.25
    model_geometry = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3,
                                keyframes={}, tracks=tracks,
                                settings=LabellerSettings(geometry="model", smooth_window=0))
    np.testing.assert_allclose(model_geometry.boxes[5], [0, 0, 10, 10])


def test_size_smoothing_removes_a_one_frame_glitch():
    n = 9
    xyxy, scores = _candidates(n)
    xyxy[:, 0] = [0, 0, 10, 10]
    xyxy[4, 0] = [-5, -5, 15, 15]  # same centre, twice the size, one frame only
    scores[:, 0] = 0.9
    lab = label_clip(n, candidates_xyxy=xyxy, candidates_scores=scores, threshold=0.3, keyframes={})
    np.testing.assert_allclose(lab.boxes[4], [0, 0, 10, 10])
