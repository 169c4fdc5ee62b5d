"""microlab.calibration: earned absence and calibration from held-out answers, on hand-made
sets with known answers, and in the loop with a model that has learnt nothing."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.calibration import (
    Calibration,
    CalibrationSettings,
    RecallEstimate,
    _non_decreasing,
    absence_support,
    detector_recall,
    label_matches,
    model_support,
    recall_by_frame,
    review_answers,
    tracker_loss_rate,
    tracker_support,
    wilson_interval,
)
from microlab.loop import CONFIDENT, Loop, LoopSettings
from microlab.model import Candidates, MicroModelConfig
from microlab.project import Project
from microlab.sequences import write_sequence
from microlab.simulate import Oracle

NAN4 = [np.nan] * 4


# ---------------------------------------------------------------------- the calibration map
def test_without_answers_the_map_changes_nothing() -> None:
    conf = np.array([0.1, 0.55, 0.85, 0.99])
    cal = Calibration.fit(np.array([]), [], np.array([], bool))
    assert cal.n_answers == 0
    np.testing.assert_array_equal(cal.apply(conf, ["model", "absent", "tracker", "absent"]), conf)


def test_a_bin_moves_to_the_share_right_with_the_prior_behind_it() -> None:
    # 100 tracker boxes answered at 0.96 (bin 0.95-0.98), 70 kept: (70 + 4 * 0.96) / (100 + 4).
    conf = np.full(100, 0.96)
    ok = np.arange(100) < 70
    cal = Calibration.fit(conf, ["tracker"] * 100, ok)
    assert cal.n_answers == 100
    out = cal.apply(np.array([0.96, 0.96, 0.96]), ["tracker", "model", "absent"])
    assert out[0] == pytest.approx((70 + 4 * 0.96) / 104)
    # Each kind of label has its own map: without answers about them, these are unchanged.
    assert out[1] == 0.96
    assert out[2] == 0.96


def test_few_answers_move_a_bin_little() -> None:
    cal = Calibration.fit(np.array([0.9]), ["absent"], np.array([False]))
    (out,) = cal.apply(np.array([0.92]), ["absent"])
    # The bin's prior is its labels' mean confidence (0.92): (0 + 4 * 0.92) / 5.
    assert out == pytest.approx(4 * 0.92 / 5)


def test_a_bin_is_raised_more_reluctantly_than_it_is_lowered() -> None:
    s = CalibrationSettings(prior_strength=4.0, raise_answers=20.0)
    # Two answers at 0.7, both right: the posterior says (2 + 4 * 0.7) / 6 = 0.8 ...
    cal = Calibration.fit(np.array([0.7, 0.7]), ["absent"] * 2, np.array([True, True]), s)
    (out,) = cal.apply(np.array([0.7]), ["absent"])
    # ... but the rise is scaled by 2 / (2 + 20): the labels stay below "confident".
    assert out == pytest.approx(0.7 + (0.8 - 0.7) * 2 / 22)
    wrong = Calibration.fit(np.array([0.7, 0.7]), ["absent"] * 2, np.array([False, False]), s)
    assert wrong.apply(np.array([0.7]), ["absent"])[0] == pytest.approx(4 * 0.7 / 6)


def test_the_map_never_reports_more_confident_labels_as_less_likely_right() -> None:
    # Answers say 0.8-0.9 labels were all right and 0.9-0.95 ones half wrong.
    conf = np.r_[np.full(50, 0.85), np.full(50, 0.92)]
    ok = np.r_[np.ones(50, bool), np.arange(50) < 25]
    cal = Calibration.fit(conf, ["model"] * 100, ok)
    query = np.array([0.85, 0.92, 0.99])
    out = cal.apply(query, ["model"] * 3)
    assert np.all(np.diff(out) >= -1e-12)
    assert out[0] < 0.85 + 0.15  # pooled with the weaker bin above it
    assert out[1] < 0.92


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(9, 10)
    assert (low, high) == (pytest.approx(0.5958, abs=1e-4), pytest.approx(0.9821, abs=1e-4))
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(20, 20)[1] == 1.0


def test_checked_counts_the_answers_to_confident_labels() -> None:
    cal = Calibration.fit(np.array([0.95, 0.85, 0.5, 0.99]), ["model"] * 4,
                          np.array([True, False, False, True]))
    assert cal.checked(0.8) == (2, 3)


@pytest.mark.parametrize(("values", "expected"), [
    ([1.0, 3.0, 2.0], [1.0, 2.5, 2.5]),
    ([3.0, 2.0, 1.0], [2.0, 2.0, 2.0]),
    ([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]),
])
def test_pool_adjacent_violators(values, expected) -> None:
    np.testing.assert_allclose(_non_decreasing(np.array(values)), expected)


def test_fit_refuses_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="one value per answer"):
        Calibration.fit(np.array([0.5, 0.6]), ["model"], np.array([True, False]))


# ---------------------------------------------------------------------- answers from history
def test_label_matches() -> None:
    box = np.array([0.0, 0.0, 10.0, 10.0])
    assert label_matches(box, np.array([0.0, 0.0, 10.0, 12.0]))
    assert not label_matches(box, np.array([20.0, 20.0, 30.0, 30.0]))
    assert not label_matches(box, None)  # a box where the person says absent
    assert label_matches(np.array(NAN4), None)
    assert not label_matches(np.array(NAN4), box)  # "absent" where there is an object


def test_review_answers_use_the_labelling_on_show_when_the_person_answered() -> None:
    box = [0.0, 0.0, 10.0, 10.0]
    far = [50.0, 50.0, 60.0, 60.0]
    labellings = {
        1: {"boxes": np.array([box, far, NAN4, box]), "confidence": np.array([1, .9, .7, .6]),
            "capped_confidence": np.array([1, .9, .3, .6]), "source": np.array([1, 2, 0, 3])},
        2: {"boxes": np.array([box, box, far, box]), "confidence": np.array([1, 1, .8, .5]),
            "source": np.array([1, 1, 4, 2])},
    }
    # frame 0: labelled before any labelling (initial) -> no example;
    # frame 1: answered in iteration 1 -> labelling 1 (far from the truth: wrong);
    # frame 2: answered in iteration 2 -> labelling 2 (a box where it is absent: wrong);
    # frame 3: answered in iteration 1 -> labelling 1, kept.
    first = {0: 0, 1: 1, 2: 2, 3: 1}
    human = {0: np.array(box), 1: np.array(box), 2: None, 3: np.array(box)}
    conf, kinds, ok = review_answers(labellings, first, human)
    np.testing.assert_allclose(conf, [0.9, 0.8, 0.6])  # capped where stored, else confidence
    assert kinds.tolist() == ["model", "interpolated", "tracker"]
    assert ok.tolist() == [False, False, True]


# ---------------------------------------------------------------------- earned absence
def _candidates(n: int, found: dict[int, list[float]], k: int = 2):
    xyxy = np.full((n, k, 4), np.nan)
    scores = np.zeros((n, k))
    for t, box in found.items():
        xyxy[t, 0] = box
        scores[t, 0] = 0.9
    return xyxy, scores


def test_detector_recall_counts_hits_near_and_far_along_tracker_runs() -> None:
    box = [10.0, 10.0, 20.0, 20.0]
    tracks = {
        14: [(np.array(box), 4, "open")],     # near, found
        18: [(np.array(box), 8, "open")],     # near, missed
        22: [(np.array(box), 12, "failed")],  # a failed run: not a trial
        34: [(np.array(box), 24, "verified")],  # far, found
        35: [(np.array(box), 25, "open")],    # not a checked distance
        50: [(np.array(box), 40, "open")],    # far, found elsewhere: a miss
    }
    xyxy, scores = _candidates(60, {14: box, 34: [11, 11, 21, 21], 50: [40, 40, 50, 50]})
    est = detector_recall(xyxy, scores, 0.5, tracks)
    assert (est.near_hits, est.near_trials, est.far_hits, est.far_trials) == (1, 2, 1, 2)
    # Where it fired (14, 34, 50), its best box was the object twice: a look-alike at 50.
    assert (est.top_right, est.top_trials) == (2, 3)


@pytest.mark.parametrize(("hits", "trials", "expected"), [
    # the lower end of the Beta(1 + hits, 1 + misses) 80% interval: mean - 1.28 sd
    (0, 0, 0.5 - 1.28 * np.sqrt(0.25 / 3)),
    (18, 20, 19 / 22 - 1.28 * np.sqrt((19 / 22) * (3 / 22) / 23)),
    (100, 100, 101 / 102 - 1.28 * np.sqrt((101 / 102) * (1 / 102) / 103)),
])
def test_recall_is_taken_on_the_safe_side(hits, trials, expected) -> None:
    assert RecallEstimate(near_hits=hits, near_trials=trials).near == pytest.approx(expected)


def test_recall_by_frame_goes_from_near_to_far_and_shrinks_in_unseen_shots() -> None:
    s = CalibrationSettings(recall_decay=10.0, unseen_shot_factor=0.5)
    est = RecallEstimate(near_hits=18, near_trials=18, far_hits=0, far_trials=18)
    r = recall_by_frame(120, keyframes={10: np.array([0, 0, 5, 5]), 60: None}, cuts=[50, 100],
                        recall=est, settings=s)
    w = np.exp(-2 / 10)
    assert r[12] == pytest.approx(w * est.near + (1 - w) * est.far)
    assert r[60] == pytest.approx(est.far * 0.5)  # an "absent" answer is no box: unseen
    assert r[110] == pytest.approx(est.far * 0.5)


def test_absence_is_earned_by_recall_and_by_answers_in_the_shot() -> None:
    s = CalibrationSettings(absent_trust=0.9, absent_decay=20.0)
    recall = np.full(120, 0.3)
    # shot 0-49 with a box at 10; shot 50-99 with an "absent" answer at 60.
    support = absence_support(120, keyframes={10: np.array([0, 0, 5, 5]), 60: None},
                              cuts=[50, 100], recall=recall, settings=s)
    assert support[10] == 1.0
    assert support[60] == 1.0
    assert support[45] == pytest.approx(0.3)  # only the detector's recall
    h = 0.9 * np.exp(-5 / 20)
    assert support[65] == pytest.approx(1 - (1 - 0.3) * (1 - h))
    assert support[49] == pytest.approx(0.3)  # the answer is in another shot


def test_the_tracker_loss_rate_comes_from_checked_runs_with_a_size_scaled_prior() -> None:
    s = CalibrationSettings(tracker_frames_per_loss=100.0, tracker_full_size=32.0,
                            tracker_prior_frames=100.0)
    box = np.array([0.0, 0.0, 8.0, 8.0])

    def safe(shape, frames):  # the upper end of the Gamma rate's 80% interval
        return (shape + 1.28 * np.sqrt(shape)) / frames

    # No checked run: the prior alone, 1/100 per frame for a big object, 16x that for 8 px.
    assert tracker_loss_rate({}, 64.0, s) == pytest.approx(safe(1.0, 100))
    assert tracker_loss_rate({}, 8.0, s) == pytest.approx(safe(16.0, 100))
    # 300 frames of runs that reached the next human box, and one run of 100 frames lost.
    tracks = {t: [(box, t, "verified")] for t in range(1, 301)}
    for t in range(1, 101):
        tracks.setdefault(1000 + t, []).append((box, t, "failed"))
    tracks[2000] = [(box, 5, "open")]  # unchecked: no evidence either way
    assert tracker_loss_rate(tracks, 64.0, s) == pytest.approx(safe(1 + 1, 400 + 100))


def test_tracker_support_decays_along_unchecked_runs_and_falls_where_the_model_saw_nothing():
    s = CalibrationSettings(tracker_frames_per_loss=100.0, tracker_full_size=32.0,
                            tracker_prior_frames=100.0)
    box = np.array([10.0, 10.0, 50.0, 50.0])  # 40 px: the big-object prior
    other = np.array([60.0, 60.0, 70.0, 70.0])
    keyframes = {0: box}
    boxes = np.array([box, box, box, box])
    tracks = {10: [(box, 10, "open")],
              30: [(other, 2, "open"), (box, 30, "open")],  # the run that gave the box counts
              40: [(box, 40, "verified")]}
    frames = {10: 0, 30: 1, 40: 2}
    rate = tracker_loss_rate(tracks, 40.0, s)
    all_boxes = np.full((50, 4), np.nan)
    from_tracker = np.zeros(50, bool)
    for t, row in frames.items():
        all_boxes[t] = boxes[row]
        from_tracker[t] = True
    support = tracker_support(all_boxes, from_tracker, tracks, keyframes, settings=s)
    assert support[10] == pytest.approx(np.exp(-rate * 10))
    assert support[30] == pytest.approx(np.exp(-rate * 30))
    assert support[40] == 1.0  # a checked run
    assert support[5] == 1.0  # not a tracker box
    # The detector, which finds the object 90% of the time, found nothing at frame 10.
    seeing = tracker_support(all_boxes, from_tracker, tracks, keyframes, np.full(50, 0.9), s)
    p = np.exp(-rate * 10)
    assert seeing[10] == pytest.approx(p * 0.1 / (p * 0.1 + 1 - p))


def test_model_support_falls_near_a_human_box_the_model_could_not_reproduce() -> None:
    s = CalibrationSettings(model_fit_iou=0.65, model_miss_floor=0.5, model_miss_decay=10.0)
    box = [20.0, 20.0, 40.0, 40.0]
    loose = [22.0, 22.0, 44.0, 44.0]  # IoU 0.58 with box: over 0.5, under the margin
    xyxy, scores = _candidates(80, {10: box, 30: loose})
    keyframes = {10: np.array(box), 30: np.array(box), 60: np.array(box), 70: None}
    support = model_support(80, keyframes=keyframes, candidates_xyxy=xyxy,
                            candidates_scores=scores, threshold=0.5, cuts=[50], settings=s)
    # Loose on its own training frame: IoU 324 / 560 is part of the way from 0.5 to 0.65.
    floor = 0.5 + 0.5 * (324 / 560 - 0.5) / 0.15
    assert support[30] == pytest.approx(floor)
    assert support[35] == pytest.approx(1 - (1 - floor) * np.exp(-5 / 10))
    assert support[60] == pytest.approx(0.5)  # found nothing at 60 (another shot)
    assert support[52] == pytest.approx(1 - 0.5 * np.exp(-8 / 10))
    # A shot nobody looked at: capped at the detector's checked precision, shrunk.
    s2 = CalibrationSettings(unseen_shot_factor=0.9)
    unseen = model_support(80, keyframes={10: np.array(box)}, candidates_xyxy=xyxy,
                           candidates_scores=scores, threshold=0.5, cuts=[50], precision=0.8,
                           settings=s2)
    assert unseen[60] == pytest.approx(0.72)
    assert unseen[20] == 1.0  # the shot with the human box, fitted well
    clean = model_support(80, keyframes={10: np.array(box)}, candidates_xyxy=xyxy,
                          candidates_scores=scores, threshold=0.5, cuts=[], settings=s)
    assert (clean == 1).all()


# ---------------------------------------------------------------------- in the loop
class NothingModel:
    """A micro-model that has learnt nothing: it finds nothing anywhere."""

    threshold = 0.3

    def __init__(self, config: MicroModelConfig) -> None:
        self.config = config
        self.info = {"train_s": 0.0, "pretrained": "none (fake)"}

    def predict(self, frames, indices=None, *, k=5, progress=True, description="predict"):
        idx = np.arange(len(frames)) if indices is None else np.asarray(list(indices), np.int64)
        return Candidates(idx, np.full((len(idx), k, 4), np.nan, np.float32),
                          np.zeros((len(idx), k), np.float32),
                          np.zeros((len(idx), k), np.int64), self.threshold)

    def metadata(self) -> dict:
        return {"config": self.config.to_dict()}

    def to_bytes(self) -> bytes:
        return b"nothing"

    @classmethod
    def from_bytes(cls, data: bytes) -> NothingModel:
        return cls(MicroModelConfig())


def _tiny_rare_clip(folder, n: int = 120, size=(160, 96)):
    """Noise, and a tiny 5x9 px dot present in two stretches (a fifth of the clip)."""
    rng = np.random.default_rng(0)
    frames, truth = [], np.full((n, 4), np.nan)
    for t in range(n):
        image = rng.integers(60, 120, (size[1], size[0], 3), dtype=np.uint8)
        if 20 <= t < 32 or 80 <= t < 92:
            x, y = 30 + 2 * (t % 40), 40
            image[y:y + 9, x:x + 5] = (250, 40, 40)
            truth[t] = (x, y, x + 5, y + 9)
        frames.append(image)
    write_sequence(folder, frames, truth)
    return folder, truth


def test_a_model_that_learnt_nothing_reports_no_confident_absence(tmp_path) -> None:
    folder, truth = _tiny_rare_clip(tmp_path / "tiny")
    oracle = Oracle(truth)
    with Project.open(tmp_path / "tiny.mlab", video=folder) as project:
        project.loop = Loop(LoopSettings(review_batch=4, use_tracker=False),
                            trainer=lambda labelled, config, **_: NothingModel(config),
                            load_model=NothingModel.from_bytes)
        for frame in (5, 26, 50, 70, 110):  # one box (26) and four "absent" answers
            oracle.label(project, frame)
        project.step(progress=False)
        confidence = project.frame_confidence()
        labels = project.labels()
    labelled_absent = np.array([not labels[t].boxes for t in range(len(truth))])
    present = ~np.isnan(truth).any(axis=1)
    missed = labelled_absent & present
    assert missed.sum() >= 20  # the model missed the object almost everywhere ...
    assert (confidence[missed] < CONFIDENT).all()  # ... and says it does not know there
    # Right next to a person's "absent" answer, absence is still trusted.
    assert confidence[51] >= CONFIDENT
