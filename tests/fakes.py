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
        int(f): Detections.empty() if b is None else Detections(np.asarray([b], float), np.array([score]))
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
