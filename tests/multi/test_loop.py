"""The multi-object loop's parts without training, the oracle's accounting, and (slow) the whole
simulation on a real clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from media import synthetic_frames, write_image_folder

from microlab.boxes import Detections, Source
from microlab.loop import labelled_frames
from microlab.multi.clip import load_multi_clip
from microlab.multi.loop import MultiLoop, MultiSettings, smooth_tracks
from microlab.multi.simulate import MultiOracle
from microlab.project import Project

GT = ("1,1,10,10,20,20,1,1,1\n1,2,60,10,20,20,1,1,1\n1,3,10,40,20,20,1,1,1\n"
      "2,1,12,10,20,20,1,1,1\n")


@pytest.fixture
def toy(tmp_path: Path):
    folder = tmp_path / "toy"
    write_image_folder(folder / "img", synthetic_frames(3, (96, 64)))
    (folder / "gt.txt").write_text(GT)
    clip = load_multi_clip(folder)
    with Project.open(tmp_path / "toy.mlab", video=clip.frames.path) as project:
        yield clip, project


def test_the_oracle_pays_one_action_per_wrong_box(toy) -> None:
    clip, project = toy
    project.store.write_predictions({0: Detections(
        [[10, 10, 30, 30],      # object 1 with its own track: accept (0)
         [60, 10, 80, 30],      # object 2 under track 9: identity fixed (1)
         [70, 40, 90, 60],      # nothing there: deleted (1)
         [14, 44, 40, 66]],     # loose on object 3 (IoU < 0.5): corrected (1)
        track_ids=[1, 9, 4, 5])})
    assert MultiOracle(clip).review(project, 0) == 3
    boxes = {b.track_id: b.xyxy for b in project.label(0).boxes}
    assert sorted(boxes) == [1, 2, 3]
    assert np.allclose(boxes[3], (10, 40, 30, 60))


def test_the_oracle_draws_missed_objects_and_accepts_a_right_empty_frame(toy) -> None:
    clip, project = toy
    oracle = MultiOracle(clip)
    assert oracle.review(project, 1) == 1  # nothing shown, object 1 there: drawn
    assert [b.track_id for b in project.label(1).boxes] == [1]
    assert oracle.review(project, 2) == 0  # empty and shown empty
    assert project.action_totals() == {"actions": 1, "frames_viewed": 2}


def test_labelling_a_frame_boxes_every_object_with_its_identity(toy) -> None:
    clip, project = toy
    assert MultiOracle(clip).label(project, 0) == 3
    assert sorted(b.track_id for b in project.label(0).boxes) == [1, 2, 3]


def test_smoothing_averages_a_track_and_keeps_human_boxes() -> None:
    rng = np.random.default_rng(0)
    truth = np.array([[10.0 + f, 10, 30 + f, 30] for f in range(11)])
    noisy = truth + rng.normal(0, 2, truth.shape)
    noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2] + 1)
    linked = [Detections(noisy[f][None], track_ids=[1],
                         sources=[Source.HUMAN if f == 5 else Source.MODEL]) for f in range(11)]
    out = smooth_tracks(linked, window=5)
    assert np.allclose(out[5].xyxy, noisy[5])  # a human box stays
    error_before = np.abs(noisy[1:-1] - truth[1:-1]).mean()
    error_after = np.abs(np.stack([d.xyxy[0] for d in out])[1:-1] - truth[1:-1]).mean()
    assert error_after < 0.7 * error_before


def test_weak_tracks_nobody_named_are_dropped_and_remembered() -> None:
    loop = MultiLoop()
    frames = [Detections([[0, 0, 10, 10]], track_ids=[1], sources=[Source.HUMAN])]  # object 1
    for _ in range(5):
        frames.append(Detections([[0, 0, 10, 10], [50, 0, 60, 10], [0, 50, 10, 60]],
                                 scores=[0.8, 0.75, 0.3], track_ids=[1, 2, 3]))
    kept = loop._keep_likely_tracks(frames)
    # track 1 is named (frame 0 is a person's); track 2 scores like it; track 3 does not
    assert all(d.track_ids.tolist() == [1, 2] for d in kept[1:])
    assert len(loop._dropped) == 5


@pytest.mark.slow
@pytest.mark.needs_shared_data
def test_simulate_every_object_of_a_real_clip(shared_multi, tmp_path: Path, capsys) -> None:
    from microlab.cli import main

    out = tmp_path / "jogging.json"
    assert main(["simulate", str(shared_multi / "otb_jogging"), "--max-iterations", "2",
                 "--no-baselines", "--quiet", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["mode"] == "multi"
    final = result["final"]
    assert set(final) >= {"actions_to_95", "actions_to_100", "frames_viewed_to_95",
                          "correct_frac", "idf1", "idf1_motmetrics"}
    assert final["idf1"] == pytest.approx(final["idf1_motmetrics"], abs=1e-4)
    assert final["correct_frac"] > 0.5  # two joggers, 4 boxes drawn: most boxes right
    assert "IDF1" in capsys.readouterr().out


def test_review_asks_about_two_tracks_that_trade_objects(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "img", synthetic_frames(6, (96, 64)))
    left, right = [5.0, 10, 25, 30], [60.0, 10, 80, 30]
    with Project.open(tmp_path / "swap.mlab", video=tmp_path / "img") as project:
        project.draw_box(0, left, track=1)
        project.draw_box(0, right, track=2)
        predictions = {}
        for f in range(1, 6):
            a, b = (left, right) if f < 3 else (right, left)  # from frame 3 they are swapped
            predictions[f] = Detections(np.array([a, b]), [0.9, 0.9], track_ids=[1, 2])
        project.store.write_predictions(predictions, model_version=None)
        queue = MultiLoop().review_queue(project, n=3)
        swap = next(item for item in queue if item.frame == 3)
        assert swap.reason.startswith("identity switch? track 1 lies on track 2")
        assert queue[0].frame == 3


def test_each_retraining_starts_from_the_last_model_with_fewer_steps(toy, monkeypatch) -> None:
    import microlab.model as model_module

    calls = []

    class Trained:
        def __init__(self, config):
            self.config = config

    def fake_train(labelled, config, *, init=None, progress=True):
        calls.append((config.steps, init))
        return Trained(config)

    monkeypatch.setattr(model_module, "train_micro_model", fake_train)
    clip, project = toy
    MultiOracle(clip).label(project, 0)
    loop = MultiLoop()
    full = model_module.MicroModelConfig().steps
    first = loop.train(project, progress=False)
    second = loop.train(project, progress=False)
    assert calls == [(full, None), (round(full * 0.6), first)]
    assert second is not first
    cold = MultiLoop(MultiSettings(warm_start=False))
    cold.train(project, progress=False)
    cold.train(project, progress=False)
    assert [init for _, init in calls[2:]] == [None, None]
    # A class added since the last model: a fresh one (the head has a new output).
    project.add_class("cart")
    loop.train(project, progress=False)
    assert calls[-1] == (full, None)


class _TruthModel:
    """Finds every true box of the toy clip (score 0.9): the loop's part after the model."""

    def __init__(self, clip) -> None:
        self.clip = clip

    def predict(self, frames, *, k, progress, nms_iou):
        from microlab.model.infer import Candidates

        xyxy = np.full((len(self.clip), k, 4), np.nan)
        scores = np.zeros((len(self.clip), k))
        for f, truth in enumerate(self.clip.truth):
            xyxy[f, :len(truth)] = truth.xyxy
            scores[f, :len(truth)] = 0.9
        return Candidates(np.arange(len(self.clip)), xyxy, scores,
                          np.zeros((len(self.clip), k), int), threshold=0.5)


def test_a_partly_boxed_start_gets_the_other_objects_from_the_model_then_review(toy) -> None:
    clip, project = toy
    oracle = MultiOracle(clip)
    assert oracle.label(project, 0, most=1) == 1  # one of three objects boxed
    assert project.partial_frames() == [0]
    loop = MultiLoop()
    training = labelled_frames(project)
    assert [(len(t.boxes), t.complete) for t in training] == [(1, False)]
    loop.predict(project, _TruthModel(clip), progress=False)
    label = project.label(0)
    assert len(label.boxes) == 3
    assert len(label.human_boxes) == 1
    assert not label.complete
    first = loop.review_queue(project, n=2)[0]
    assert first.frame == 0  # the partly boxed frame comes first
    oracle.review(project, 0)
    assert project.label(0).settled
    assert project.partial_frames() == []
    assert sorted(b.track_id for b in project.label(0).boxes) == [1, 2, 3]


def test_a_cheap_start_boxes_the_largest_object_of_each_class_in_turn(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    write_image_folder(folder / "img", synthetic_frames(1, (96, 64)))
    # three large carts (class 2) and two small walkers (class 1)
    (folder / "gt.txt").write_text(
        "1,1,0,0,30,30,1,2,1\n1,2,32,0,28,28,1,2,1\n1,3,62,0,26,26,1,2,1\n"
        "1,4,0,40,8,16,1,1,1\n1,5,20,40,10,20,1,1,1\n")
    (folder / "classes.txt").write_text("walker\ncart\n")
    clip = load_multi_clip(folder)
    with Project.open(tmp_path / "two.mlab", video=clip.frames.path,
                      classes=list(clip.classes)) as project:
        assert MultiOracle(clip).label(project, 0, most=3) == 3
        # the largest cart, the largest walker, then the second cart
        assert sorted(b.track_id for b in project.label(0).boxes) == [1, 2, 5]
        assert project.partial_frames() == [0]


def test_a_weak_second_peak_on_a_kept_box_is_not_an_object_nearly_found() -> None:
    from microlab.model.infer import Candidates
    from microlab.multi.loop import nearly_found

    nan = [np.nan] * 4
    candidates = Candidates(
        np.array([0, 1]),
        np.array([[[10, 10, 30, 30], [12, 11, 31, 30], [60, 10, 80, 30]],     # frame 0
                  [[10, 10, 30, 30], [12, 11, 31, 30], nan]], float),          # frame 1
        np.array([[0.9, 0.4, 0.2], [0.9, 0.4, 0.0]]), np.zeros((2, 3), int), threshold=0.5)
    kept = [Detections([[10, 10, 30, 30]], [0.9], track_ids=[1])] * 2
    near = nearly_found(candidates, kept)
    assert near.tolist() == [0.2, 0.0]  # frame 0: the peak away from the box; frame 1: none


def test_a_box_off_its_tracks_average_is_a_jump() -> None:
    from microlab.multi.loop import track_jumps

    boxes = [[10.0 + f, 10, 30 + f, 30] for f in range(7)]
    boxes[3] = [40, 10, 60, 30]  # frame 3: the box jumps to another place
    linked = [Detections([b], [0.9], track_ids=[1]) for b in boxes]
    jumps = track_jumps(linked, smooth_tracks(linked, window=5))
    assert jumps[3] < 0.6
    assert jumps[0] > 0.6
    assert np.argmin(jumps) == 3


def test_review_asks_first_about_a_track_nobody_named(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "img", synthetic_frames(40, (96, 64)))
    with Project.open(tmp_path / "new.mlab", video=tmp_path / "img") as project:
        project.draw_box(0, [5.0, 10, 25, 30], track=1)
        predictions = {f: Detections(np.array([[5.0, 10, 25, 30]]), [0.9], track_ids=[1])
                       for f in range(1, 40)}
        for f in range(20, 40):  # a second object from frame 20 on, under a track of its own
            predictions[f] = Detections(np.array([[5.0, 10, 25, 30], [60, 10, 80, 30]]),
                                        [0.9, 0.9], track_ids=[1, 2])
        project.store.write_predictions(predictions, model_version=None)
        queue = MultiLoop().review_queue(project, n=3)
        assert queue[0].frame == 20
        assert queue[0].reason == "track 2, which nobody has named, starts here"
