"""Simulated tagging: an oracle answers from the true tags, driving the same TagProject verbs.

The protocol is the box one's (README, "Definitions"): the first ``initial_tags`` frames are
picked without ground truth and tagged (1 action each); then train -> predict -> review rounds,
where the oracle accepts a right tag (0) or gives the true one (1).  Every frame shown counts
as viewed.  Baselines (change points, keyframes) get the same accounting.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microlab.errors import ModelError
from microlab.metrics import confidence_report, efficiency_summary
from microlab.tagging.baselines import tag_baselines
from microlab.tagging.labels import TagClip, load_tag_clip
from microlab.tagging.project import TagProject, TagSettings


@dataclass
class TagSimulationSettings:
    """Budget and stopping of a simulated tagging session."""

    initial_tags: int = 5
    max_iterations: int = 8
    stop_when_all_accepted: bool = True


def simulate_tags(
    clip: TagClip | str | os.PathLike[str],
    *,
    settings: TagSettings | None = None,
    simulation: TagSimulationSettings | None = None,
    baselines: bool = True,
    project_path: str | os.PathLike[str] | None = None,
    trainer: Any = None,
    progress: bool = True,
    log=print,
) -> dict[str, Any]:
    """Run the tagging loop with an oracle on a tag clip; returns a JSON-ready dict.

    Keys: ``mode`` (``"classify"``), ``sequence``, ``n_frames``, ``classes``, ``iterations``
    (per iteration: actions, frames viewed, correct fraction, confidence report, seconds),
    ``final`` (``actions_to_95``, ``actions_to_100``, ``frames_viewed_to_95``,
    ``correct_frac``, label efficiency, labels per action) and ``baselines``.
    """
    clip = clip if isinstance(clip, TagClip) else load_tag_clip(clip)
    simulation = simulation or TagSimulationSettings()
    truth = clip.tags
    n = len(clip)
    tmp = None
    if project_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="microlab-tags-")
        project_path = Path(tmp.name) / f"{clip.name}.mlab"
    parts = {"settings": settings or TagSettings()}
    if trainer is not None:
        parts["trainer"] = trainer
    project = TagProject.open(project_path, video=clip.frames.path, classes=list(clip.classes),
                              **parts)
    started = time.perf_counter()
    iterations: list[dict[str, Any]] = []
    curve: list[tuple[int, int, int]] = []
    try:
        for f in project.initial_frames(simulation.initial_tags, progress=progress):
            project.tag(f, int(truth[f]))
        # A classifier needs two classes: a person who saw only one tags a few frames more.
        while len({t[0] for t in project.human_tags().values()}) < 2:
            more = project.initial_frames(simulation.initial_tags)
            if not more:
                raise ModelError(f"{clip.name}: every frame has the same tag; nothing to learn")
            for f in more:
                project.tag(f, int(truth[f]))
        for _ in range(simulation.max_iterations):
            report = project.step(progress=progress)
            labels = project.labels()
            ok = labels.tags == truth
            totals = project.action_totals(up_to_iteration=report.iteration - 1)
            machine = ~labels.human
            trust = confidence_report(labels.confidence[machine], ok[machine],
                                      threshold=project.settings.confident)
            entry = {
                "iteration": report.iteration,
                "actions": totals["actions"],
                "frames_viewed": totals["frames_viewed"],
                "correct_frac": round(float(ok.mean()), 4),
                "model_correct_frac": round(float(
                    (project.prediction()["probs"].argmax(1) == truth).mean()), 4),
                "coverage": round(report.coverage, 4),
                "train_s": round(report.train_s, 2),
                "predict_s": round(report.predict_s, 2),
                "human_frames": report.n_tagged,
                **trust,
                "expected_confident_right": (None if report.expected_confident_right is None
                                             else round(report.expected_confident_right, 4)),
                "answers": report.answers,
                "review_hit_rate": None,
            }
            iterations.append(entry)
            curve.append((entry["actions"], entry["frames_viewed"], int(ok.sum())))
            log(f"  iteration {entry['iteration']}: {entry['actions']} actions, "
                f"{entry['frames_viewed']} frames viewed -> {entry['correct_frac']:.1%} correct; "
                f"confident {entry['confident_frac']:.0%} of the other frames, "
                + ("none" if entry["confident_correct_frac"] is None
                   else f"{entry['confident_correct_frac']:.1%} of them right")
                + f"; train {entry['train_s']:.0f}s, predict {entry['predict_s']:.0f}s")
            if ok.all():
                break
            batch = project.review_queue()
            if not batch:
                break
            costs = [project.answer(item.frame, int(truth[item.frame])) for item in batch]
            entry["review_hit_rate"] = round(sum(costs) / len(batch), 4)
            if sum(costs) == 0 and simulation.stop_when_all_accepted:
                totals = project.action_totals()
                curve.append((totals["actions"], totals["frames_viewed"], int(ok.sum())))
                break
        final = efficiency_summary(curve, n)
        final["correct_frac"] = iterations[-1]["correct_frac"] if iterations else 0.0
    finally:
        elapsed = time.perf_counter() - started
        project.close()
        if tmp is not None:
            tmp.cleanup()
    result: dict[str, Any] = {
        "mode": "classify",
        "sequence": clip.name,
        "n_frames": n,
        "classes": list(clip.classes),
        "class_counts": np.bincount(truth, minlength=len(clip.classes)).tolist(),
        "n_runs": int(1 + np.count_nonzero(np.diff(truth))),
        "iterations": iterations,
        "final": final,
        "elapsed_s": round(elapsed, 1),
        "settings": {"initial_tags": simulation.initial_tags,
                     "review_batch": (settings or TagSettings()).batch_size(n)},
    }
    if baselines:
        result["baselines"] = tag_baselines(truth)
    return result


def format_tag_table(result: dict[str, Any]) -> str:
    """A plain-text comparison of a tag simulation with its baselines."""
    rows = [("microlab", result["final"]), *result.get("baselines", {}).items()]
    lines = [(f"{result['sequence']}: {result['n_frames']} frames, {len(result['classes'])} "
             f"classes, {result['n_runs']} runs of one tag"),
             (f"{'method':<14}{'actions@95%':>12}{'viewed@95%':>12}{'actions@100%':>14}"
             f"{'efficiency':>12}")]
    for name, r in rows:
        lines.append(f"{name:<14}{r['actions_to_95']:>12}{r['frames_viewed_to_95']:>12}"
                     f"{r['actions_to_100']:>14}{r['label_efficiency'] * 100:>11.1f}%")
    return "\n".join(lines)


__all__ = ["TagSimulationSettings", "format_tag_table", "simulate_tags"]
