"""Stand-ins for a trained model, for widget and browser tests that must not train one.

``fake_prediction`` stores what :meth:`microlab.loop.Loop.predict` would store after a
prediction (machine boxes, a new iteration with its stats, the labelling arrays), with boxes
and confidences chosen by the test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from microlab.boxes import Detections
from microlab.loop import CONFIDENT, segment_stats
from microlab.project import Project


def fake_prediction(
    project: Project,
    boxes: Mapping[int, Sequence[float] | None],
    *,
    confidence: float | Sequence[float] = 0.5,
    score: float = 0.6,
    reason: str = "low score",
) -> int:
    """Store ``boxes`` (frame -> ``xyxy`` or ``None`` = absent) as a prediction of every frame
    listed; returns the new iteration."""
    n = project.n_frames
    predictions = {
        int(f): (Detections.empty() if b is None
                 else Detections(np.asarray([b], float), np.array([score])))
        for f, b in boxes.items()
    }
    project.store.write_predictions(predictions, model_version=None)
    conf = np.broadcast_to(np.asarray(confidence, float), (n,)).copy()
    human = project.human_frames()
    conf[human] = 1.0
    arr = np.full((n, 4), np.nan)  # the labeller's track: human boxes where a person labelled
    for f, b in boxes.items():
        if b is not None:
            arr[int(f)] = b
    for f, det in project.human_labels().items():
        arr[f] = det.xyxy[0] if len(det) else np.nan
    covered = conf >= CONFIDENT
    stats = segment_stats(project, project.segments(), conf)
    iteration = project.store.start_iteration(
        model_versions=[], train_s=0.0, predict_s=0.0,
        stats={"coverage": float(covered.mean()), "segments": stats},
    )
    project.store.save_arrays(iteration, "labelling", {
        "boxes": arr,
        "confidence": conf,
        "source": np.full(n, 2),
        "score": np.full(n, score),
        "reason": np.asarray([reason] * n, dtype=str),
    })
    return iteration


#: a box inside the 96x64 small test clip (tests/conftest.py)
BOX = (10.0, 10.0, 40.0, 50.0)


def fake_simulation_result(n: int = 100) -> dict:
    """A hand-made result in the schema of ``microlab simulate --json``, with baselines."""
    curve = [{"actions": a, "frames_viewed": n, "correct_frac": min(1.0, a / 10)}
             for a in range(11)]
    base = {"actions_to_95": 10, "actions_to_100": 10, "frames_viewed_to_95": n,
            "frames_viewed_to_100": n,
            "label_efficiency": 0.9, "labels_per_action": 10.0, "curve": curve}
    seg = [{"start": 0, "end": 49, "coverage": 0.9, "correct_frac": 0.8, "actions": 3},
           {"start": 50, "end": 99, "coverage": 0.5, "correct_frac": 0.4, "actions": 2}]
    return {
        "sequence": "fake", "n_frames": n,
        "iterations": [{"iteration": 1, "actions": 5, "frames_viewed": 5, "correct_frac": 0.6,
                        "coverage": 0.7, "segments": seg},
                       {"iteration": 2, "actions": 8, "frames_viewed": 15, "correct_frac": 0.8,
                        "coverage": 0.8, "segments": seg}],
        "final": {**base, "actions_to_95": 20, "actions_to_100": 25, "labels_per_action": 4.0},
        "baselines": {"interpolation": base, "tracker": base},
    }


class NearestColourTagModel:
    """A stand-in frame classifier for tag tests: a frame's class probabilities come from how
    close its mean colour is to the mean colour of each class's tagged frames (a softmax over
    negative distances).  Real behaviour on the demo tag clip (its places differ in colour),
    in milliseconds, without torch."""

    def __init__(self, centres: np.ndarray, present: np.ndarray, multi_label: bool) -> None:
        self.centres = centres
        self.present = present
        self.multi_label = multi_label
        self.info = {"train_s": 0.0}

    def probabilities(self, frames, *, progress=None) -> np.ndarray:
        out = []
        for image in frames:
            d = np.linalg.norm(self.centres - image.reshape(-1, 3).mean(axis=0), axis=1)
            logits = np.where(self.present, -d / 8.0, -1e9)
            p = np.exp(logits - logits.max())
            p /= p.sum()
            out.append(1 / (1 + np.exp(-(p - 0.5) * 12)) if self.multi_label else p)
            if progress is not None:
                progress(1)
        return np.asarray(out)

    def to_bytes(self) -> bytes:
        return self.centres.astype(np.float32).tobytes()


def nearest_colour_trainer(images, tags, config, *, progress=True) -> NearestColourTagModel:
    """A :class:`~microlab.tagging.TagProject` ``trainer`` that fits
    :class:`NearestColourTagModel`."""
    k = len(config["classes"])
    tags = np.asarray(tags)
    member = tags.astype(bool) if tags.ndim == 2 else np.eye(k, dtype=bool)[tags]
    means = np.asarray([im.reshape(-1, 3).mean(axis=0) for im in images])
    centres = np.zeros((k, 3))
    present = member.any(axis=0)
    for c in np.flatnonzero(present):
        centres[c] = means[member[:, c]].mean(axis=0)
    return NearestColourTagModel(centres, present, bool(config.get("multi_label")))
