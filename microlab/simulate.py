"""Simulation: replay the loop with an oracle annotator that answers from ground truth.

The oracle drives the same Project verbs the widgets use (``submit``), so the accounting is the
accounting of a real session.  Baselines (keyframe interpolation, an OpenCV tracker) run on the
same frames with the same definitions (README.md, "Definitions"); :func:`simulate` is the
protocol: initial frames picked without ground truth, then train -> predict -> review rounds.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microlab.baselines import interpolation_baseline, tracker_baseline
from microlab.boxes import is_absent
from microlab.errors import ModelError
from microlab.loop import CONFIDENT, LoopSettings, latest_labelling, segment_stats
from microlab.metrics import confidence_report, correct_mask, efficiency_summary, project_boxes
from microlab.project import Project
from microlab.sequences import Clip, load_sequence


class Oracle:
    """A simulated annotator: draws, corrects, deletes or accepts exactly as ground truth says."""

    def __init__(self, truth: np.ndarray, *, iou: float = 0.5) -> None:
        self.truth = np.asarray(truth, float)
        self.iou = iou

    def is_correct(self, project: Project, frame: int) -> bool:
        boxes = project.label(frame).boxes
        if len(boxes) > 1:
            return False  # the truth holds one object per frame
        shown = np.array([boxes[0].xyxy if boxes else [np.nan] * 4], dtype=float)
        return bool(correct_mask(shown, self.truth[frame][None], self.iou)[0])

    def label(self, project: Project, frame: int) -> int:
        """Draw the truth on a frame (or mark it absent); returns the actions spent."""
        gt = self.truth[frame]
        return project.submit(frame, [] if is_absent(gt) else [gt]).actions

    def review(self, project: Project, frame: int) -> int:
        """Accept a correct label (0 actions) or replace it with the truth."""
        if self.is_correct(project, frame):
            shown = [b.xyxy for b in project.label(frame).boxes]
            return project.submit(frame, shown).actions
        return self.label(project, frame)


@dataclass
class SimulationSettings:
    """Budget and stopping of a simulated session.

    Attributes:
        initial_labels: frames the sampler picks for the oracle before the first model.
        max_iterations: train/predict/review rounds at most.
        max_actions: stop when this many actions are spent (None: no budget).
        stop_when_all_accepted: stop when a whole review batch needed no action.
    """

    initial_labels: int = 5
    max_iterations: int = 8
    max_actions: int | None = None
    stop_when_all_accepted: bool = True


def _segment_report(project: Project, segments, truth: np.ndarray, boxes: np.ndarray,
                    confidence: np.ndarray, iteration: int) -> list[dict[str, Any]]:
    """:func:`~microlab.loop.segment_stats` of the labels made in ``iteration`` (the actions
    spent before it), with each segment's share of correct labels."""
    ok = correct_mask(boxes, truth)
    out = []
    for stats in segment_stats(project, segments, confidence, iteration=iteration - 1):
        frames = slice(stats["start"], stats["end"] + 1)
        out.append({**stats, "coverage": round(stats["coverage"], 4),
                    "correct_frac": round(float(ok[frames].mean()), 4)})
    return out


def simulate(
    sequence: Clip | str | os.PathLike[str],
    *,
    loop: LoopSettings | None = None,
    settings: SimulationSettings | None = None,
    baselines: bool = True,
    project_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
    log=print,
) -> dict[str, Any]:
    """Run the loop with an oracle on an OTB-style sequence and compare with the baselines.

    Returns a JSON-ready dict: ``sequence``, ``n_frames``, ``iterations`` (per iteration: actions,
    frames viewed, correct fraction at IoU 0.5 and 0.7, train/predict seconds, segments),
    ``final`` (actions and frames viewed to reach 95%/100%, label efficiency, labels per action)
    and ``baselines`` (the same five keys for interpolation and tracker).
    """
    seq = sequence if isinstance(sequence, Clip) else load_sequence(sequence)
    loop = loop or LoopSettings()
    settings = settings or SimulationSettings()
    truth = seq.ground_truth
    n = len(seq)
    oracle = Oracle(truth)
    tmp = None
    if project_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="microlab-sim-")
        project_path = Path(tmp.name) / f"{seq.name}.mlab"
    project = Project.open(project_path, video=seq.frames.path)
    project.settings = loop
    started = time.perf_counter()
    iterations: list[dict[str, Any]] = []
    curve: list[tuple[int, int, int]] = []
    try:
        for f in project.initial_frames(settings.initial_labels, progress=progress):
            oracle.label(project, f)
        # A model needs one box: if every pick said "absent", the person labels a few more.
        while not project.has_boxes():
            more = project.initial_frames(settings.initial_labels)
            if not more:
                raise ModelError(f"{seq.name}: the object is absent from every frame; "
                                 "nothing to learn")
            for f in more:
                oracle.label(project, f)
        for _ in range(settings.max_iterations):
            report = project.step(progress=progress)
            boxes = project_boxes(project)
            ok = correct_mask(boxes, truth)
            ok7 = correct_mask(boxes, truth, 0.7)
            totals = project.store.action_totals(up_to_iteration=report.iteration - 1)
            confidence = project.frame_confidence()
            machine = np.setdiff1d(np.arange(n), project.human_frames())
            trust = confidence_report(confidence[machine], ok[machine], threshold=CONFIDENT)
            arrays = latest_labelling(project)
            # The micro-model alone (its best candidate above threshold), before the labeller.
            above = arrays["candidates_scores"][:, 0] >= float(arrays["threshold"])
            alone = np.where(above[:, None], arrays["candidates_xyxy"][:, 0], np.nan)
            entry = {
                "iteration": report.iteration,
                "actions": totals["actions"],
                "frames_viewed": totals["frames_viewed"],
                "correct_frac": round(float(ok.mean()), 4),
                "correct_frac_iou07": round(float(ok7.mean()), 4),
                "model_correct_frac": round(float(correct_mask(alone, truth).mean()), 4),
                "coverage": round(report.coverage, 4),
                "train_s": round(report.train_s, 2),
                "predict_s": round(report.predict_s, 2),
                "inference_fps": round(report.inference_fps, 1),
                "human_frames": report.n_human_frames,
                # Over the machine-labelled frames: is a label called confident right?
                **trust,
                # ... and what the loop expected without ground truth, beside it
                "expected_confident_right": (None if report.expected_confident_right is None
                                             else round(report.expected_confident_right, 4)),
                "answers": report.answers,
                "review_hit_rate": None,  # filled in once this iteration's review batch is answered
                "segments": _segment_report(project, project.segments(), truth, boxes, confidence,
                                            report.iteration),
            }
            iterations.append(entry)
            curve.append((entry["actions"], entry["frames_viewed"], int(ok.sum())))
            log(
                f"  iteration {entry['iteration']}: {entry['actions']} actions, "
                f"{entry['frames_viewed']} frames viewed -> {entry['correct_frac'] * 100:.1f}% "
                "correct (IoU 0.7: "
                f"{entry['correct_frac_iou07'] * 100:.1f}%); "
                f"confident {entry['confident_frac'] * 100:.0f}% of the other frames, "
                + ("none" if entry["confident_correct_frac"] is None
                   else f"{entry['confident_correct_frac'] * 100:.1f}% of them right")
                + ("" if entry["expected_confident_right"] is None
                   else f" (expected {entry['expected_confident_right'] * 100:.1f}%)")
                + f"; train {entry['train_s']:.0f}s, "
                f"predict {entry['predict_s']:.0f}s"
            )
            if ok.all():
                break
            if settings.max_actions is not None and entry["actions"] >= settings.max_actions:
                break
            batch = project.review_queue()
            if not batch:
                break
            costs = [oracle.review(project, item.frame) for item in batch]
            spent = sum(costs)
            # The share of proposed frames that needed a fix: high early means review finds errors.
            entry["review_hit_rate"] = round(sum(c > 0 for c in costs) / len(batch), 4)
            if spent == 0 and settings.stop_when_all_accepted:
                # Record what the accepted review cost in views, then stop.
                totals = project.action_totals()
                curve.append((totals["actions"], totals["frames_viewed"], int(ok.sum())))
                break
        final = efficiency_summary(curve, n)
    finally:
        elapsed = time.perf_counter() - started
        project.close()
        if tmp is not None:
            tmp.cleanup()
    result: dict[str, Any] = {
        "sequence": seq.name,
        "n_frames": n,
        "frame_size": list(seq.frames.size),
        "n_absent": int((~seq.present).sum()),
        "iterations": iterations,
        "final": final,
        "elapsed_s": round(elapsed, 1),
        "settings": {"strategy": loop.strategy, "initial_labels": settings.initial_labels,
                     "review_batch": loop.batch_size(n), "backbone": loop.model.backbone},
    }
    if baselines:
        result["baselines"] = run_baselines(seq, progress=progress)
    return result


FIVE_KEYS = ("actions_to_95", "actions_to_100", "frames_viewed_to_95", "label_efficiency",
             "labels_per_action")


BASELINES_VERSION = 2  # bump when the baselines' protocol changes, to invalidate cached results


def run_baselines(seq: Clip, *, progress: bool = False, cache: bool = True) -> dict[str, Any]:
    """Interpolation and CSRT tracker baselines on a sequence (frames cached in memory).

    Both are deterministic, so results are cached by the clip's content (ground truth and
    frame files) under :func:`microlab.datasets.cache_dir`.
    """
    import hashlib

    import cv2

    from microlab.datasets import cache_dir

    digest = hashlib.sha1(np.ascontiguousarray(seq.ground_truth).tobytes())
    digest.update(f"{BASELINES_VERSION} {cv2.__version__} {len(seq)} {seq.frames.size}".encode())
    for path in getattr(seq.frames, "files", [])[:: max(1, len(seq) // 50)]:
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    cached = cache_dir() / "baselines" / f"{seq.name}-{digest.hexdigest()[:16]}.json"
    if cache and cached.is_file():
        return json.loads(cached.read_text())
    frames = FrameCache(seq.frames)
    out = {}
    t = time.perf_counter()
    out["interpolation"] = interpolation_baseline(seq.ground_truth)
    out["interpolation"]["elapsed_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    out["tracker"] = tracker_baseline(frames, seq.ground_truth, progress=progress)
    out["tracker"]["elapsed_s"] = round(time.perf_counter() - t, 1)
    if cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(out, default=float))
    return out


class FrameCache:
    """Decoded frames kept in memory: the tracker baseline re-reads stretches many times."""

    def __init__(self, frames) -> None:
        self.frames = frames
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self._cache:
            self._cache[i] = self.frames[i]
        return self._cache[i]


def format_table(result: dict[str, Any]) -> str:
    """A plain-text comparison table of a simulation result."""
    n = result["n_frames"]
    baselines = result.get("baselines", {})
    rows = [("microlab", result["final"])] + [(k, v) for k, v in baselines.items()]
    lines = [
        f"{result['sequence']}: {n} frames",
        (f"{'method':<14}{'actions@95%':>12}{'viewed@95%':>12}{'actions@100%':>14}"
         f"{'efficiency':>12}{'labels/action':>15}"),
    ]
    for name, r in rows:
        lpa = r["labels_per_action"]
        lines.append(
            f"{name:<14}{r['actions_to_95']:>12}{r['frames_viewed_to_95']:>12}"
            f"{r['actions_to_100']:>14}{r['label_efficiency'] * 100:>11.1f}%"
            f"{lpa if math.isinf(lpa) else round(lpa, 1):>15}"
        )
    return "\n".join(lines)


def save_result(result: dict[str, Any], path: str | os.PathLike[str]) -> None:
    Path(path).write_text(json.dumps(result, indent=2, default=float) + "\n")
