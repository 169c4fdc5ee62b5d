"""The stopping rule: per-segment verdicts from coverage and the review log."""

from __future__ import annotations

import pytest
from fakes import BOX, fake_prediction

from microlab.project import Project
from microlab.stopping import _verdict, segment_verdicts, should_stop


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        ((1.0, 0.95, False, 0, 0, None, 0), "label"),
        ((0.5, 0.95, True, 0, 0, None, 1), "continue"),
        ((1.0, 0.95, True, 0, 0, None, 1), "check"),
        ((1.0, 0.95, True, 3, 1, 1, 2), "continue"),
        ((0.9, 0.95, True, 3, 0, 1, 2), "continue"),
        ((0.96, 0.95, True, 3, 0, 1, 2), "done"),
    ],
)
def test_verdict_table(args: tuple, verdict: str) -> None:
    assert _verdict(*args)[0] == verdict


def test_segment_verdicts_follow_the_review_log(project: Project) -> None:
    assert [v.verdict for v in segment_verdicts(project)] == ["label"]
    project.draw_box(0, BOX)
    fake_prediction(project, {f: BOX for f in range(1, 12)}, confidence=0.99)
    (v,) = segment_verdicts(project)
    assert (v.verdict, v.reviewed) == ("check", 0)
    project.submit(3, [(12, 10, 42, 50)])  # a correction after the prediction
    (v,) = segment_verdicts(project)
    assert (v.verdict, v.reviewed, v.corrected, v.review_iteration) == ("continue", 1, 1, 1)
    assert "retrain" in v.reason
    fake_prediction(project, {f: BOX for f in range(1, 12) if f != 3}, confidence=0.99)
    project.accept(5)
    project.accept(7)
    (v,) = segment_verdicts(project)
    assert (v.verdict, v.reviewed, v.corrected) == ("done", 2, 0)
    assert should_stop(project)


def test_segment_verdicts_reject_a_bad_target(project: Project) -> None:
    with pytest.raises(ValueError, match="coverage_target"):
        segment_verdicts(project, coverage_target=0)
