"""The active-learning loop: train -> predict -> label the clip -> propose a review batch.

Everything here works on a :class:`~microlab.project.Project` and goes through its store, so
the widgets, the CLI and the simulated annotator all drive the same code.

Two ways to fit the clip (``LoopSettings.strategy``):

* ``"clip"``: one micro-model trained on every human frame of the clip.
* ``"segments"``: the clip model, then one fine-tuned copy per segment (the spline pieces),
  each trained on its own segment's human frames plus its neighbours'; each frame is labelled
  by the model of its segment.

``"clip"`` is the default: BENCHMARKS.md ("One model per clip vs one model per segment")
measures both on the shared sequences and edited scenes.  Per-segment models have not needed
clearly fewer actions than one model per clip (the gap is within run-to-run noise), and on
clips of many segments they multiply the training time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from microlab.boxes import Detections
from microlab.errors import ModelError, SettingsError
from microlab.frames import frame_index
from microlab.labeller import SOURCES, LabellerSettings, Labelling, label_clip
from microlab.model import (
    Candidates,
    LabelledFrame,
    MicroModel,
    MicroModelConfig,
    train_micro_model,
)
from microlab.sampling import ReviewItem, frames_in_unseen_segments, initial_frames, rank_for_review
from microlab.segments import Segment, detect_cuts, frame_signatures, split_clip
from microlab.tracking import keyframe_tracks

if TYPE_CHECKING:
    from microlab.project import Project

CONFIDENT = 0.8  # a machine label at least this confident counts towards coverage


@dataclass
class LoopSettings:
    """How the loop trains, labels and proposes frames.

    Attributes:
        strategy: ``"clip"`` (one model) or ``"segments"`` (one fine-tuned model per segment).
        segment_length: longest segment, in frames (segments also break at scene cuts).
        review_batch: frames proposed per iteration (default: about 2% of the clip, 5 to 20).
        use_tracker: propagate human boxes with a tracker as one more cue.
        track_span: how far (frames) a tracker follows a human box in each direction (it stops
            earlier at the next human frame or a cut).
        warm_start: start each retraining from the previous clip model.
        warm_steps_fraction: share of the usual training steps used when warm starting.
        candidates: model candidates kept per frame.
        explore: review priority given to unconfirmed frames far from any human label.
        segment_checks: share of the review batch that may go to segments no person has
            looked at yet (one frame each); the rest goes to the most doubtful frames.
    """

    strategy: str = "clip"
    segment_length: int = 150
    review_batch: int | None = None
    use_tracker: bool = True
    track_span: int = 300
    warm_start: bool = True
    warm_steps_fraction: float = 0.6
    candidates: int = 5
    explore: float = 0.5
    segment_checks: float = 1.0
    model: MicroModelConfig = field(default_factory=MicroModelConfig)
    labeller: LabellerSettings = field(default_factory=LabellerSettings)

    def __post_init__(self) -> None:
        if self.strategy not in ("clip", "segments"):
            raise SettingsError(f"strategy must be 'clip' or 'segments', but got {self.strategy!r}")

    def batch_size(self, n_frames: int) -> int:
        if self.review_batch is not None:
            return self.review_batch
        return int(np.clip(round(n_frames * 0.02), 5, 20))


@dataclass
class IterationReport:
    """What one train + predict step did."""

    iteration: int
    model_versions: list[int]
    train_s: float
    predict_s: float
    n_human_frames: int
    coverage: float
    segments: list[dict[str, Any]]
    inference_fps: float = 0.0


class LoopState:
    """Per-project caches of the loop (frame signatures, cuts, tracker runs, last models)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._signatures: np.ndarray | None = None
        self._tracks: dict[tuple, dict[int, np.ndarray]] = {}
        self._models: dict[int, MicroModel] = {}
        self.last_training: tuple[list[int], float, dict[int, int]] | None = None

    def model(self, version: int) -> MicroModel:
        """A stored checkpoint, loaded once per session."""
        if version not in self._models:
            _, _, weights = self.project.store.load_model(version)
            self._models[version] = MicroModel.from_bytes(weights)
        return self._models[version]

    def remember(self, version: int, model: MicroModel) -> None:
        self._models[version] = model

    def latest_clip_model(self) -> MicroModel | None:
        """The newest model trained on the whole clip (the warm start of the next one)."""
        clip_models = [m["version"] for m in self.project.store.models() if m["segment_start"] is None]
        return self.model(clip_models[-1]) if clip_models else None

    # ------------------------------------------------------------------ clip structure
    def signatures(self, *, progress: bool = False) -> np.ndarray:
        if self._signatures is None:
            stored = self.project.store.load_arrays(0, "signatures")
            if stored is not None:
                self._signatures = stored["signatures"]
            else:
                self._signatures = frame_signatures(self.project.frames, progress=progress)
                self.project.store.save_arrays(0, "signatures", {"signatures": self._signatures})
        return self._signatures

    def cuts(self) -> list[int]:
        return detect_cuts(self.signatures())

    def segments(self, settings: LoopSettings) -> list[Segment]:
        return split_clip(self.project.n_frames, self.cuts(), max_length=settings.segment_length)

    # ------------------------------------------------------------------ tracker cue
    def tracks_from(self, keyframes: dict[int, np.ndarray | None], cuts: Sequence[int], span: int) -> dict[int, list]:
        """Tracker boxes from each present keyframe towards its neighbours (see
        :func:`~microlab.tracking.keyframe_tracks`), as ``{frame: [(box, distance, status)]}``.
        Runs are cached across iterations."""
        out: dict[int, list] = {}
        for run in keyframe_tracks(self.project.frames, keyframes, cuts, span=span, cache=self._tracks):
            for f, b in run.boxes.items():
                out.setdefault(f, []).append((b, abs(f - run.start), run.status))
        return out


# ---------------------------------------------------------------------- helpers
def _labelled_frames(project: Project, frames: Sequence[int]) -> list[LabelledFrame]:
    human = project.human_labels()
    return [LabelledFrame(project.frame(f), human[f]) for f in frames]


def choose_initial_frames(project: Project, k: int = 5, *, progress: bool = False) -> list[int]:
    """The ``k`` frames to label first (spread over time and appearance); excludes human frames."""
    state = project.loop_state
    done = project.human_frames()
    picks = initial_frames(state.signatures(progress=progress), k + len(done), exclude=done)
    return [f for f in picks if f not in done][:k]


def choose_search_frames(project: Project, settings: LoopSettings, k: int = 5) -> list[int]:
    """``k`` frames from shots nobody has looked at yet: where to look for an object not found
    so far (see :func:`~microlab.sampling.frames_in_unseen_segments`)."""
    state = project.loop_state
    segments = [(s.start, s.end) for s in state.segments(settings)]
    return frames_in_unseen_segments(state.signatures(), segments, project.viewed_frames(), k)


def train(project: Project, settings: LoopSettings, *, progress: bool = True) -> tuple[list[int], float, dict[int, int]]:
    """Train the micro-model(s) on the human frames; returns model versions, seconds, and the
    model version responsible for each segment index."""
    state = project.loop_state
    human = project.human_labels()
    if not any(len(d) for d in human.values()):
        seen = len(human)
        raise ModelError(
            f"no human box yet ({seen} frame{'s' if seen != 1 else ''} marked absent): a micro-model "
            "needs at least one box of the object. Box it on a frame where it is visible: "
            "project.search_frames() proposes frames from shots nobody has seen, the Annotator's "
            "scrubber reaches any frame, and project.draw_box(frame, (x0, y0, x1, y1)) records it"
        )
    started = time.perf_counter()
    config = replace(settings.model, classes=list(project.classes))
    frames = sorted(human)
    labelled = _labelled_frames(project, frames)
    previous = state.latest_clip_model() if settings.warm_start else None
    if settings.warm_start and previous is not None and previous.config.backbone == config.backbone:
        warm = replace(config, steps=max(config.steps_per_epoch, round(config.steps * settings.warm_steps_fraction)))
        clip_model = train_micro_model(labelled, warm, init=previous, progress=progress)
    else:
        clip_model = train_micro_model(labelled, config, progress=progress)
    clip_version = project.store.save_model(
        config=clip_model.metadata(), weights=clip_model.to_bytes(), segment=None,
        train_s=clip_model.info["train_s"], n_labels=len(labelled),
    )
    state.remember(clip_version, clip_model)
    versions = [clip_version]
    responsible: dict[int, int] = {}
    segments = state.segments(settings)
    if settings.strategy == "segments":
        for i, seg in enumerate(segments):
            own = [f for f in frames if f in seg]
            if not any(len(human[f]) for f in own):
                responsible[i] = clip_version
                continue
            near = [f for f in frames if segments[max(0, i - 1)].start <= f <= segments[min(len(segments) - 1, i + 1)].end]
            fine = replace(config, steps=max(config.steps_per_epoch, config.steps // 2), seed=config.seed + i + 1)
            model = train_micro_model(_labelled_frames(project, near), fine, init=clip_model, progress=progress)
            version = project.store.save_model(
                config=model.metadata(), weights=model.to_bytes(), segment=(seg.start, seg.end),
                train_s=model.info["train_s"], n_labels=len(near),
            )
            state.remember(version, model)
            versions.append(version)
            responsible[i] = version
    else:
        responsible = {i: clip_version for i in range(len(segments))}
    state.last_training = (versions, time.perf_counter() - started, responsible)
    return state.last_training


def predict_labels(
    project: Project,
    settings: LoopSettings,
    responsible: dict[int, int],
    *,
    progress: bool = True,
) -> tuple[Labelling, Candidates, float, float]:
    """Run the models over their segments, then the labeller over the whole clip; stores nothing
    (:func:`predict_and_store` does).

    Returns the labelling, the raw candidates, total seconds and model-inference seconds."""
    state = project.loop_state
    started = time.perf_counter()
    n = project.n_frames
    segments = state.segments(settings)
    k = settings.candidates
    xyxy = np.full((n, k, 4), np.nan, np.float32)
    scores = np.zeros((n, k), np.float32)
    class_ids = np.zeros((n, k), np.int64)
    thresholds = np.zeros(n, np.float32)
    by_model: dict[int, list[int]] = {}
    for i, seg in enumerate(segments):
        by_model.setdefault(responsible[i], []).extend(seg.frames)
    inference_s = 0.0
    for version, frames in by_model.items():
        model = state.model(version)
        tic = time.perf_counter()
        cand = model.predict(project.frames, frames, k=k, progress=progress,
                             description=f"predict (model {version})")
        xyxy[frames], scores[frames], class_ids[frames] = cand.xyxy, cand.scores, cand.class_ids
        thresholds[frames] = model.threshold
        inference_s += time.perf_counter() - tic
    candidates = Candidates(np.arange(n), xyxy, scores, class_ids, float(np.median(thresholds)))

    human = project.human_labels()
    cuts = state.cuts()
    labellings = []
    for cls in range(len(project.classes)):
        keyframes: dict[int, np.ndarray | None] = {}
        for f, det in human.items():
            mine = det.xyxy[det.class_ids == cls]
            keyframes[f] = mine[0] if len(mine) else None
        tracks = state.tracks_from(keyframes, cuts, settings.track_span) if settings.use_tracker else {}
        mask = class_ids == cls
        labellings.append(label_clip(
            n,
            candidates_xyxy=np.where(mask[..., None], xyxy, np.nan),
            candidates_scores=np.where(mask, scores, 0.0),
            threshold=float(np.median(thresholds)),
            keyframes=keyframes,
            tracks=tracks,
            cuts=cuts,
            settings=settings.labeller,
        ))
    return _combine(labellings), candidates, time.perf_counter() - started, inference_s


def _combine(labellings: list[Labelling]) -> Labelling:
    """One labelling per class -> the first class's labelling with per-frame minimum confidence.

    (Multi-class labels are written per class by :func:`write_labels`; confidence and doubt
    take the weakest class.)"""
    if len(labellings) == 1:
        return labellings[0]
    first = labellings[0]
    conf = np.min([lab.confidence for lab in labellings], axis=0)
    weakest = np.argmin([lab.confidence for lab in labellings], axis=0)
    reasons = [labellings[w].doubt_reason[t] for t, w in enumerate(weakest)]
    verified = np.all([lab.verified for lab in labellings], axis=0)
    combined = Labelling(first.boxes, conf, first.source, first.score, reasons, verified)
    combined.per_class = labellings  # type: ignore[attr-defined]
    return combined


def write_labels(project: Project, labelling: Labelling, model_version: int) -> None:
    """Store the labeller's boxes as the machine labels of every frame."""
    per_class = getattr(labelling, "per_class", [labelling])
    width, height = project.frame_size
    predictions: dict[int, Detections] = {}
    sources: dict[int, list[str]] = {}
    for t in range(project.n_frames):
        dets, names = [], []
        for cls, lab in enumerate(per_class):
            name = SOURCES[int(lab.source[t])]
            if lab.present[t] and name != "human":
                dets.append(lab.detections(t, cls))
                names.append(name)
        merged = Detections.merge(dets)
        # Boxes are stored inside the frame, so a person accepting one re-submits a valid box.
        merged.xyxy = np.clip(merged.xyxy, 0, [width, height, width, height])
        predictions[t] = merged
        sources[t] = names
    project.store.write_predictions(predictions, model_version=model_version, box_sources=sources)


def covered_mask(confidence: np.ndarray, human: Sequence[int] | set[int]) -> np.ndarray:
    """Which frames count towards coverage: human frames and machine labels at least
    :data:`CONFIDENT`."""
    covered = np.asarray(confidence, dtype=float) >= CONFIDENT
    covered[list(human)] = True
    return covered


def segment_stats(
    project: Project, segments: Sequence[Segment], confidence: np.ndarray, iteration: int | None = None
) -> list[dict[str, Any]]:
    """Per segment: coverage (human or confident labels), actions spent in it, human frames.

    ``iteration`` counts only the actions of iterations up to it (default: all of them).
    """
    human = set(project.human_frames())
    actions = project.actions() if iteration is None else [a for a in project.actions() if a.iteration <= iteration]
    covered = covered_mask(confidence, human)
    out = []
    for seg in segments:
        frames = np.arange(seg.start, seg.end + 1)
        out.append({
            "start": seg.start,
            "end": seg.end,
            "coverage": float(covered[frames].mean()),
            "actions": int(sum(a.cost for a in actions if seg.start <= a.frame <= seg.end)),
            "human_frames": int(sum(f in human for f in frames)),
        })
    return out


def predict_and_store(project: Project, settings: LoopSettings, *, progress: bool = True) -> IterationReport:
    """Label every frame with the latest models, store it, and open the next iteration."""
    state = project.loop_state
    if state.last_training is None:
        models = project.store.models()
        if not models:
            raise ModelError("no micro-model yet: call project.train() first")
        latest_iteration = models[-1]["iteration"]
        fresh = [m for m in models if m["iteration"] == latest_iteration]
        clip_version = next(m["version"] for m in fresh if m["segment_start"] is None)
        responsible = {}
        for i, seg in enumerate(state.segments(settings)):
            own = [m["version"] for m in fresh if m["segment_start"] == seg.start and m["segment_end"] == seg.end]
            responsible[i] = own[0] if own else clip_version
        state.last_training = ([m["version"] for m in fresh], 0.0, responsible)
    versions, train_s, responsible = state.last_training
    labelling, candidates, predict_s, inference_s = predict_labels(project, settings, responsible, progress=progress)
    inference_fps = project.n_frames / max(inference_s, 1e-6)
    write_labels(project, labelling, versions[0])
    human = set(project.human_frames())
    confidence = labelling.confidence.copy()
    confidence[list(human)] = 1.0
    segments = state.segments(settings)
    seg_stats = segment_stats(project, segments, confidence)
    for i, stats in enumerate(seg_stats):
        stats["model_version"] = responsible[i]
    coverage = float(covered_mask(confidence, human).mean())
    iteration = project.store.start_iteration(
        model_versions=versions, train_s=train_s, predict_s=predict_s,
        stats={"coverage": coverage, "segments": seg_stats, "inference_fps": inference_fps,
               "settings": _settings_summary(settings)},
    )
    state.last_training = None
    project.store.save_segments(iteration, [(s.start, s.end, responsible[i]) for i, s in enumerate(segments)])
    project.store.save_arrays(iteration, "labelling", {
        "boxes": labelling.boxes,
        "confidence": confidence,
        "source": labelling.source,
        "score": labelling.score,
        "reason": np.asarray(labelling.doubt_reason, dtype=str),
        "verified": labelling.verified,
        "candidates_xyxy": candidates.xyxy,
        "candidates_scores": candidates.scores,
        "candidates_class_ids": candidates.class_ids,
        "threshold": np.asarray(candidates.threshold),
    })
    return IterationReport(iteration, versions, train_s, predict_s, len(human), coverage, seg_stats, inference_fps)


def step(project: Project, settings: LoopSettings, *, progress: bool = True) -> IterationReport:
    """One loop iteration: train, predict, label, store, and open the next iteration."""
    train(project, settings, progress=progress)
    return predict_and_store(project, settings, progress=progress)


def _settings_summary(settings: LoopSettings) -> dict[str, Any]:
    out = asdict(settings)
    out["model"] = {k: out["model"][k] for k in ("backbone", "steps", "max_input_side")}
    return out


def latest_labelling(project: Project) -> dict[str, np.ndarray] | None:
    """The arrays saved by the latest :func:`step`, or ``None`` before the first one."""
    for it in range(project.iteration, 0, -1):
        data = project.store.load_arrays(it, "labelling")
        if data is not None:
            return data
    return None


def frame_confidence(project: Project) -> np.ndarray:
    """Confidence of each frame's current label: 1 for human frames, 0 before any prediction."""
    data = latest_labelling(project)
    conf = np.zeros(project.n_frames) if data is None else data["confidence"].astype(float).copy()
    conf[project.human_frames()] = 1.0
    return conf


def review_queue(project: Project, settings: LoopSettings, n: int | None = None) -> list[ReviewItem]:
    """The frames most worth a human look now, most urgent first.

    Doubt is ``1 - confidence`` of each machine label, averaged with its neighbours so that
    the start of a doubtful stretch (where one correction fixes many frames once the model
    retrains and the tracker re-propagates) outranks an isolated flicker.  Confidence only
    compares the cues of one frame: where the model and an unchecked tracker run agree on the
    wrong object, it is high.  So frames that no confirmed evidence reaches gain priority with
    their distance from the nearest human frame (exploration), and long unchecked stretches
    get looked at.  Frames are spaced apart and no segment takes more than half the batch.

    A segment (a shot, after a cut) that no person has looked at yet gets one frame first, its
    most doubtful: a whole shot can be labelled confidently on the wrong object (a look-alike),
    and nothing inside it would say so.  Accepting that frame costs no action; it is also what
    the stopping rule needs to call the segment done.
    """
    data = latest_labelling(project)
    if data is None:
        return []
    n_frames = project.n_frames
    n = settings.batch_size(n_frames) if n is None else n
    human = project.human_frames()
    doubt = 1.0 - data["confidence"].astype(float)
    doubt[human] = 0.0
    window = np.ones(5) / 5
    smoothed = np.convolve(doubt, window, mode="same")
    priority = 0.5 * doubt + 0.5 * smoothed
    reasons = [str(r) for r in data["reason"]]
    if "verified" in data and human:
        distance = np.abs(np.arange(n_frames)[:, None] - np.asarray(human)[None, :]).min(axis=1)
        scale = max(30.0, n_frames / (2 * max(n, 1)))
        explore = settings.explore * np.minimum(1.0, distance / scale) * ~data["verified"].astype(bool)
        for t in np.flatnonzero(explore > priority):
            reasons[t] = "far from human labels, unconfirmed"
        priority = priority + explore
    priority[human] = 0.0
    segments = project.loop_state.segments(settings)
    seg_ids = np.zeros(project.n_frames, np.int64)
    for i, seg in enumerate(segments):
        seg_ids[seg.start : seg.end + 1] = i
    gap = max(3, n_frames // (4 * max(n, 1)))
    checks = _segment_checks(segments, set(human), priority, int(n * settings.segment_checks))
    for t in checks:
        reasons[t] = "no one has checked this segment yet"
    rest = rank_for_review(priority, reasons, n=n - len(checks), exclude=list(human) + checks, min_gap=gap,
                           segment_ids=seg_ids, per_segment=n if len(segments) == 1 else max(1, (n + 1) // 2))
    first = [ReviewItem(t, float(priority[t]), reasons[t]) for t in checks]
    return sorted(first + rest, key=lambda item: -item.priority)


def _segment_checks(segments: Sequence[Segment], human: set[int], priority: np.ndarray, n: int) -> list[int]:
    """One frame (the most doubtful) of each segment without a human frame, at most ``n``,
    the most doubtful segments first."""
    picks = []
    for seg in segments:
        frames = np.asarray(seg.frames)
        if any(int(f) in human for f in frames):
            continue
        picks.append(int(frames[np.argmax(priority[frames])]))
    picks.sort(key=lambda t: -priority[t])
    return picks[:n]


def review_items(project: Project, frames: Sequence[int]) -> list[ReviewItem]:
    """Review items for frames a person picked (e.g. clicked on a timeline), in the given order.

    Each carries the same doubt as :func:`review_queue` would give it (``1 - confidence`` of
    its current label) and the labeller's reason; human frames have doubt 0.
    """
    frames = [frame_index(f, project.n_frames) for f in frames]
    data = latest_labelling(project)
    confidence = frame_confidence(project)
    human = set(project.human_frames())
    items = []
    for f in frames:
        if f in human:
            reason = "labelled by a person"
        elif data is None:
            reason = "no prediction yet"
        else:
            reason = str(data["reason"][f])
        items.append(ReviewItem(f, float(1.0 - confidence[f]), reason))
    return items
