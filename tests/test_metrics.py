"""Metrics of a project against ground truth: correctness per iteration and per segment."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import BOX

from microlab.metrics import correctness_history, segment_correctness
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
