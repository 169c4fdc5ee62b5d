"""Simulated labelling of every object of a clip: an oracle answers from the MOT ground truth.

The oracle names objects by their true identities (the person's track numbers).  Reviewing a
frame it matches the boxes on show to the true ones (IoU >= 0.5): a match with the right track
is accepted (0), with the wrong track its identity is corrected (1); a box matching nothing is
corrected onto a missed object it overlaps (1) or deleted (1); a missed object is drawn (1).
Accounting as in :mod:`microlab.multi.identity`; baselines per identity as in
:mod:`microlab.multi.baselines`.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microlab.actions import Accept, Correct, Delete, Draw, MarkAbsent, MarkComplete
from microlab.boxes import box_iou
from microlab.multi.baselines import multi_baselines
from microlab.multi.clip import MultiClip, load_multi_clip
from microlab.multi.identity import identity_scores, motmetrics_idf1
from microlab.multi.loop import MultiLoop, MultiSettings


class MultiOracle:
    """A simulated annotator who knows every object's box and identity."""

    def __init__(self, clip: MultiClip, *, iou: float = 0.5) -> None:
        self.clip = clip
        self.iou = iou

    def label(self, project, frame: int, *, most: int | None = None) -> int:
        """Box every object of a frame (or mark it empty); returns the actions spent.

        ``most``: box only ``most`` objects, as a person starting cheaply on a crowded frame
        would: the largest of each class in turn (the largest of every class, then the second
        largest, ...), and mark the frame partly boxed when some are left.
        """
        truth = self.clip.truth[frame]
        if not len(truth):
            project.store.apply_actions(frame, [MarkAbsent()])
            return 1
        areas = _areas(truth.xyxy)
        by_size = np.argsort(-areas, kind="stable")
        rank_in_class = np.empty(len(truth), int)
        for cls in np.unique(truth.class_ids):
            members = [i for i in by_size if truth.class_ids[i] == cls]
            rank_in_class[members] = np.arange(len(members))
        order = np.lexsort((-areas, rank_in_class))
        chosen = order if most is None else order[:max(1, int(most))]
        ops: list = [Draw(tuple(truth.xyxy[i]), int(truth.class_ids[i]), int(truth.track_ids[i]))
                     for i in sorted(chosen)]
        if len(chosen) < len(truth):
            ops.append(MarkComplete(False))
        project.store.apply_actions(frame, ops)
        return sum(op.cost for op in ops)

    def review(self, project, frame: int) -> int:
        """Fix a frame's boxes to the truth with the fewest actions; returns them."""
        from scipy.optimize import linear_sum_assignment

        truth = self.clip.truth[frame]
        label = project.label(frame)
        shown = list(label.boxes)
        ops: list = []
        matched_truth: set[int] = set()
        matched_shown: set[int] = set()
        if shown and len(truth):
            overlap = box_iou(np.asarray([b.xyxy for b in shown]), truth.xyxy)
            rows, cols = linear_sum_assignment(-overlap)
            for r, c in zip(rows, cols):
                if overlap[r, c] >= self.iou:
                    matched_shown.add(r)
                    matched_truth.add(c)
                    box, gt_id = shown[r], int(truth.track_ids[c])
                    gt_class = int(truth.class_ids[c])
                    if box.track_id == gt_id and box.class_id == gt_class:
                        ops.append(Accept((box.id,)))
                    else:
                        ops.append(Correct(box.id, box.xyxy, gt_class, gt_id))
        missed = [c for c in range(len(truth)) if c not in matched_truth]
        for r, box in enumerate(shown):
            if r in matched_shown:
                continue
            # A loose box on a missed object is one correction; anything else is a false box.
            near = [c for c in missed
                    if box_iou(np.asarray([box.xyxy]), truth.xyxy[c][None])[0, 0] > 0.1]
            if near:
                c = near[0]
                missed.remove(c)
                ops.append(Correct(box.id, tuple(truth.xyxy[c]), int(truth.class_ids[c]),
                                   int(truth.track_ids[c])))
            else:
                ops.append(Delete(box.id))
        for c in missed:
            ops.append(Draw(tuple(truth.xyxy[c]), int(truth.class_ids[c]),
                            int(truth.track_ids[c])))
        if not ops:
            ops = [Accept(())]  # an empty frame shown empty: accepted
        if not label.complete:
            ops.append(MarkComplete(True))  # every object of the frame is now boxed
        project.store.apply_actions(frame, ops)
        return sum(op.cost for op in ops)


def _areas(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])


@dataclass
class MultiSimulationSettings:
    """How the simulated person starts and stops.

    Attributes:
        initial_frames: frames boxed before the first model.
        initial_boxes: box at most this many objects of each initial frame (the largest),
            marking the frame partly boxed; ``None`` boxes every object.
        max_iterations: rounds of train, predict and review.
        stop_when_all_accepted: stop when a review batch needs no action.
    """

    initial_frames: int = 2
    initial_boxes: int | None = None
    max_iterations: int = 6
    stop_when_all_accepted: bool = True


def _labels(project) -> list:
    labels = project.store.labels()
    return [labels[f].detections() for f in range(project.n_frames)]


def simulate_multi(clip: MultiClip | str | os.PathLike[str], *,
                   settings: MultiSettings | None = None,
                   simulation: MultiSimulationSettings | None = None,
                   baselines: bool = True, project_path: str | os.PathLike[str] | None = None,
                   progress: bool = True, log=print) -> dict[str, Any]:
    """Label every object of a MOT-layout clip with the loop and an oracle; JSON-ready result.

    Keys: ``mode`` (``"multi"``), ``sequence``, ``n_frames``, ``n_objects``, ``n_boxes``,
    ``iterations`` (actions, frames viewed, % correct at IoU 0.5 and 0.7, IDF1, seconds),
    ``final`` (``actions_to_95``, ``actions_to_100``, ``frames_viewed_to_95``, ``correct_frac``,
    ``idf1``, ``idf1_motmetrics``) and ``baselines``.
    """
    from microlab.project import Project

    clip = clip if isinstance(clip, MultiClip) else load_multi_clip(clip)
    simulation = simulation or MultiSimulationSettings()
    loop = MultiLoop(settings)
    oracle = MultiOracle(clip)
    tmp = None
    if project_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="microlab-multi-")
        project_path = Path(tmp.name) / f"{clip.name}.mlab"
    project = Project.open(project_path, video=clip.frames.path, classes=list(clip.classes))
    truth = list(clip.truth)
    iterations: list[dict[str, Any]] = []
    curve: list[tuple[int, int, float]] = []
    started = time.perf_counter()
    try:
        most = simulation.initial_boxes
        for f in project.initial_frames(simulation.initial_frames, progress=progress):
            oracle.label(project, f, most=most)
        while not project.has_boxes():
            more = project.initial_frames(simulation.initial_frames)
            if not more:
                raise ValueError(f"{clip.name}: no object in any frame")
            for f in more:
                oracle.label(project, f, most=most)
        for _ in range(simulation.max_iterations):
            report = loop.step(project, progress=progress)
            labels = _labels(project)
            scores = identity_scores(labels, truth)
            strict = identity_scores(labels, truth, iou=0.7)
            totals = project.store.action_totals(up_to_iteration=report.iteration - 1)
            entry = {"iteration": report.iteration, "actions": totals["actions"],
                     "frames_viewed": totals["frames_viewed"],
                     "correct_frac": round(scores.correct_frac, 4),
                     "correct_frac_iou07": round(strict.correct_frac, 4),
                     "idf1": round(scores.idf1, 4), "idtp": scores.idtp, "idfp": scores.idfp,
                     "idfn": scores.idfn, "tracks": report.n_tracks,
                     "train_s": round(report.train_s, 2), "predict_s": round(report.predict_s, 2),
                     "review_hit_rate": None}
            iterations.append(entry)
            curve.append((entry["actions"], entry["frames_viewed"], scores.correct_frac))
            log(f"  iteration {entry['iteration']}: {entry['actions']} actions, "
                f"{entry['frames_viewed']} frames viewed -> {scores.correct_frac:.1%} correct "
                f"(IoU 0.7: {strict.correct_frac:.1%}), IDF1 {scores.idf1:.3f}, "
                f"{report.n_tracks} tracks; train {report.train_s:.0f}s, predict "
                f"{report.predict_s:.0f}s")
            if scores.correct_frac >= 1.0:
                break
            batch = loop.review_queue(project)
            if not batch:
                break
            costs = [oracle.review(project, item.frame) for item in batch]
            entry["review_hit_rate"] = round(sum(c > 0 for c in costs) / len(batch), 4)
            if sum(costs) == 0 and simulation.stop_when_all_accepted:
                totals = project.store.action_totals()
                curve.append((totals["actions"], totals["frames_viewed"], scores.correct_frac))
                break
        final_labels = _labels(project)
        final_scores = identity_scores(final_labels, truth)
        final = _summary(curve, len(clip), clip.n_boxes)
        final.update(correct_frac=round(final_scores.correct_frac, 4),
                     idf1=round(final_scores.idf1, 4))
        try:
            final["idf1_motmetrics"] = round(motmetrics_idf1(final_labels, truth), 4)
        except ImportError:
            final["idf1_motmetrics"] = None
    finally:
        elapsed = time.perf_counter() - started
        project.close()
        if tmp is not None:
            tmp.cleanup()
    result = {"mode": "multi", "sequence": clip.name, "n_frames": len(clip),
              "n_objects": len(clip.identities), "n_boxes": clip.n_boxes,
              "classes": list(clip.classes), "iterations": iterations, "final": final,
              "elapsed_s": round(elapsed, 1),
              "settings": {"initial_frames": simulation.initial_frames,
                           "initial_boxes": simulation.initial_boxes,
                           "max_iterations": simulation.max_iterations,
                           "review_batch": loop.settings.batch_size(len(clip)),
                           "warm_start": loop.settings.warm_start}}
    if baselines:
        result["baselines"] = {
            "iou05": multi_baselines(clip, iou=0.5),
        }
    return result


def _summary(curve: list[tuple[int, int, float]], n_frames: int, n_boxes: int) -> dict[str, Any]:
    """Actions and frames viewed to reach 95% / 100% correct; past the last state a final pass
    fixes each remaining wrong box with one action and views every frame."""
    out: dict[str, Any] = {}
    last_actions, _, last_share = curve[-1]
    for name, share in (("95", 0.95), ("100", 1.0)):
        reached = next(((a, v) for a, v, c in curve if c >= share - 1e-9), None)
        if reached is None:
            # Each remaining wrong box is about one action (a draw, a fix or a delete).
            missing = int(np.ceil((share - last_share) * n_boxes))
            reached = (last_actions + max(missing, 1), n_frames)
        out[f"actions_to_{name}"] = int(reached[0])
        out[f"frames_viewed_to_{name}"] = int(reached[1])
    out["label_efficiency"] = float(1 - out["actions_to_100"] / max(n_boxes, 1))
    return out


def format_multi_table(result: dict[str, Any]) -> str:
    """A plain-text comparison of a multi-object simulation with its baselines."""
    f = result["final"]
    head = (f"{result['sequence']}: {result['n_frames']} frames, {result['n_objects']} "
            f"objects, {result['n_boxes']} boxes; IDF1 {f['idf1']:.3f} (py-motmetrics: "
            f"{f['idf1_motmetrics']})")
    lines = [head,
             f"{'method':<14}{'actions@95%':>12}{'viewed@95%':>12}{'actions@100%':>14}"]
    rows = [("microlab", f)]
    rows += [(name, b) for name, b in result.get("baselines", {}).get("iou05", {}).items()]
    for name, r in rows:
        lines.append(f"{name:<14}{r['actions_to_95']:>12}{r['frames_viewed_to_95']:>12}"
                     f"{r['actions_to_100']:>14}")
    return "\n".join(lines)


def save_multi_result(result: dict[str, Any], path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps(result, indent=2, default=float) + "\n")


__all__ = ["MultiOracle", "MultiSimulationSettings", "format_multi_table", "save_multi_result",
           "simulate_multi"]
