"""Metrics of a project against ground truth: correctness per iteration and per segment."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import BOX

from microlab.errors import AnnotationError
from microlab.metrics import confidence_report, correctness_history, segment_correctness
from microlab.project import Project


def test_correctness_history_follows_predictions_and_reviews(predicted: Project) -> None:
    truth = np.full((predicted.n_frames, 4), np.nan)
    truth[[0, 2]] = BOX  # present on frames 0 and 2 only
    history = correctness_history(predicted, truth)
    # Predicted: frame 0 (human) and 2 right, 6 and 9 wrong boxes, the other 8 absent and right.
    assert history[0] == {"iteration": 1, "actions": 1, "frames_viewed": 1, "correct_frac": 10 / 12}
    predicted.submit(6, [])  # delete the false positive
    assert history[-1]["iteration"] == "now"
    now = correctness_history(predicted, truth)[-1]
    assert (now["actions"], now["correct_frac"]) == (2, 11 / 12)
    assert segment_correctness(predicted, truth) == [11 / 12]
    with pytest.raises(ValueError, match=r"\(12, 4\)"):
        correctness_history(predicted, truth[:5])


@pytest.mark.parametrize(("confidence", "correct", "expected"), [
    # Four confident frames, one wrong: precision 0.75; the 0.9 bin is off by 0.15,
    # the 0.5 bin exact.
    ([0.9, 0.9, 0.9, 0.9, 0.5, 0.5], [1, 1, 1, 0, 1, 0],
     {"confident_frac": 0.6667, "confident_correct_frac": 0.75, "ece": 0.1}),
    # Perfectly calibrated and never confident.
    ([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0],
     {"confident_frac": 0.0, "confident_correct_frac": None, "ece": 0.0}),
    # The failure the issue describes: everything confident, 40% wrong.
    ([0.99] * 10, [1] * 6 + [0] * 4,
     {"confident_frac": 1.0, "confident_correct_frac": 0.6, "ece": 0.39}),
    # 0.8 counts as confident (the coverage threshold is inclusive).
    ([0.8, 0.79], [1, 1], {"confident_frac": 0.5, "confident_correct_frac": 1.0, "ece": 0.205}),
    ([], [], {"confident_frac": 0.0, "confident_correct_frac": None, "ece": None}),
])
def test_confidence_report_on_hand_made_sets(confidence, correct, expected) -> None:
    assert confidence_report(np.array(confidence),
                             np.array(correct, bool)) == pytest.approx(expected)


def test_confidence_report_refuses_mismatched_or_out_of_range_input() -> None:
    with pytest.raises(AnnotationError, match=r"\(3,\) and \(2,\)"):
        confidence_report(np.ones(3), np.ones(2, bool))
    with pytest.raises(AnnotationError, match=r"\[0, 1\]"):
        confidence_report(np.array([1.5]), np.array([True]))
