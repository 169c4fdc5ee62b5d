"""Metrics: correctness against ground truth, actions, label efficiency, per segment and iteration.

Definitions (as in README.md, "Definitions"): a label is correct when its box has IoU >= 0.5 with
the ground truth, or when there is no box and the object is absent.  Label efficiency =
1 - actions / correct labels; labels per action = correct labels / actions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from microlab.boxes import paired_iou, present_mask
from microlab.errors import AnnotationError

if TYPE_CHECKING:
    from microlab.project import Project


def frame_ious(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """IoU per frame of ``(n, 4)`` labels vs ground truth; NaN rows mean absent.

    Both absent: 1.  One absent, the other present: -1 (a miss or a false box, worse than any
    overlap).
    """
    boxes = np.asarray(boxes, float)
    truth = np.asarray(truth, float)
    pa = present_mask(boxes)
    pt = present_mask(truth)
    out = np.where(pa == pt, 1.0, -1.0)
    both = pa & pt
    out[both] = paired_iou(boxes[both], truth[both])
    return out


def correct_mask(boxes: np.ndarray, truth: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Which frames are labelled correctly (see the module docstring).

    The one definition of a correct label: every metric, the baselines and the simulated
    annotator call it.
    """
    ious = frame_ious(boxes, truth)
    absent_both = ~present_mask(boxes) & ~present_mask(truth)
    return absent_both | (ious >= iou)


def project_boxes(project: Project, class_id: int = 0) -> np.ndarray:
    """The current label of every frame as ``(n, 4)``, NaN where absent (best box of the class)."""
    out = np.full((project.n_frames, 4), np.nan)
    for f, lab in project.labels().items():
        boxes = [b for b in lab.boxes if b.class_id == class_id]
        if boxes:
            best = max(boxes, key=lambda b: -1.0 if b.score is None and not b.source.is_human
                       else (2.0 if b.score is None else b.score))
            out[f] = best.xyxy
    return out


def efficiency_summary(
    curve: Sequence[tuple[int, int, int]], n_frames: int, *,
    final_fix: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Actions and frames viewed to reach 95% and 100% correct, label efficiency, labels/action.

    Args:
        curve: ``(actions, frames_viewed, correct_frames)`` after each step, in order.
        n_frames: clip length.
        final_fix: ``(actions, correct_frames)`` of the state a final pass starts from (the
            last state by default).  The final pass fixes each remaining wrong frame with one
            action and, since finding them means looking at every frame, views the whole clip.
    """
    out: dict[str, Any] = {}
    last_actions, _last_viewed, last_correct = curve[-1]
    start_actions, start_correct = final_fix or (last_actions, last_correct)
    for name, share in (("95", 0.95), ("100", 1.0)):
        need = math.ceil(share * n_frames - 1e-9)
        reached = next(((a, v) for a, v, c in curve if c >= need), None)
        if reached is None:
            reached = (start_actions + need - start_correct, n_frames)
        out[f"actions_to_{name}"] = int(reached[0])
        out[f"frames_viewed_to_{name}"] = int(reached[1])
    a100 = out["actions_to_100"]
    out["label_efficiency"] = float(1 - a100 / n_frames)
    out["labels_per_action"] = float(n_frames / a100) if a100 else float("inf")
    return out


def iteration_history(project: Project) -> list[dict[str, Any]]:
    """Per iteration of a project: cumulative actions and frames viewed when its labels were made,
    train/predict seconds, coverage and per-segment stats."""
    out = []
    for it in project.store.iterations():
        idx = it["iteration"]
        totals = (project.store.action_totals(up_to_iteration=idx - 1) if idx > 0
                  else {"actions": 0, "frames_viewed": 0})
        out.append({
            "iteration": idx,
            "actions": totals["actions"],
            "frames_viewed": totals["frames_viewed"],
            "train_s": it["train_s"] or 0.0,
            "predict_s": it["predict_s"] or 0.0,
            "coverage": it["stats"].get("coverage", 0.0),
            "segments": it["stats"].get("segments", []),
        })
    return out


def segment_correctness(
    project: Project, truth: np.ndarray, segments: Sequence[Any] | None = None, *, iou: float = 0.5
) -> list[float]:
    """Share of correct current labels in each segment (default: the project's segments)."""
    truth = np.asarray(truth, float)
    if truth.shape != (project.n_frames, 4):
        raise AnnotationError(
            f"truth must be ({project.n_frames}, 4) xyxy rows for this clip, "
            f"but got shape {truth.shape}"
        )
    ok = correct_mask(project_boxes(project), truth, iou)
    segments = project.segments() if segments is None else segments
    return [float(ok[s.start : s.end + 1].mean()) for s in segments]


def correctness_history(project: Project, truth: np.ndarray, *,
                        iou: float = 0.5) -> list[dict[str, Any]]:
    """Correct share of the labels each prediction made, and of the labels now, with the work spent.

    One entry per iteration >= 1 (the labels as predicted, against the actions and frames viewed
    before them, as in :func:`iteration_history`), then one ``"now"`` entry for the current
    labels after the latest reviews.  This is the curve :func:`efficiency_summary` reads and the
    one the baselines' ``curve`` is compared with.
    """
    truth = np.asarray(truth, float)
    if truth.shape != (project.n_frames, 4):
        raise AnnotationError(
            f"truth must be ({project.n_frames}, 4) xyxy rows for this clip, "
            f"but got shape {truth.shape}"
        )
    out: list[dict[str, Any]] = []
    for entry in iteration_history(project):
        it = entry["iteration"]
        data = project.store.load_arrays(it, "labelling") if it > 0 else None
        if data is None:
            continue
        ok = correct_mask(data["boxes"], truth, iou)
        out.append({"iteration": it, "actions": entry["actions"],
                    "frames_viewed": entry["frames_viewed"], "correct_frac": float(ok.mean())})
    totals = project.action_totals()
    ok = correct_mask(project_boxes(project), truth, iou)
    out.append({"iteration": "now", "actions": totals["actions"],
                "frames_viewed": totals["frames_viewed"], "correct_frac": float(ok.mean())})
    return out


def confidence_report(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    threshold: float = 0.8,
    bins: int = 10,
) -> dict[str, float | None]:
    """How far per-frame confidence can be trusted, measured against ground truth.

    Returns:
        ``confident_frac``: the share of frames with confidence >= ``threshold``;
        ``confident_correct_frac``: the share of those that are correct (the precision of
        "confident"; ``None`` when no frame is confident);
        ``ece``: the expected calibration error, over ``bins`` equal-width confidence bins, the
        frame-weighted mean of |share correct - mean confidence| per bin (``None`` without
        frames).

    Pass the machine-labelled frames only: human frames are right by definition and would
    make any confidence look calibrated.
    """
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    ok = np.asarray(correct, dtype=bool).reshape(-1)
    if conf.shape != ok.shape:
        raise AnnotationError(
            f"confidence and correct need one value per frame, but got {conf.shape} and {ok.shape}"
        )
    if np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
        raise AnnotationError("confidence must be finite values in [0, 1]")
    n = conf.size
    if n == 0:
        return {"confident_frac": 0.0, "confident_correct_frac": None, "ece": None}
    confident = conf >= threshold
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.sum() / n * abs(float(ok[members].mean()) - float(conf[members].mean()))
    return {
        "confident_frac": round(float(confident.mean()), 4),
        "confident_correct_frac": (round(float(ok[confident].mean()), 4) if confident.any()
                                   else None),
        "ece": round(ece, 4),
    }
