"""The active-learning loop: train -> predict -> label the clip -> propose a review batch.

Everything here works on a :class:`~microlab.project.Project` and goes through its store, so
the widgets, the CLI and the simulated annotator all drive the same code.  :class:`Loop` holds
the parts, each replaceable: a :class:`Trainer` that makes a :class:`Predictor` (the micro-model
by default), a :data:`ModelLoader` for stored checkpoints, and a :class:`ReviewRanker`
(:func:`~microlab.sampling.rank_review` by default).  ``project.loop`` is the project's.

Two ways to fit the clip (``LoopSettings.strategy``), registered by name in :data:`STRATEGIES`
(:func:`register_strategy` adds one of your own):

* ``"clip"`` (:func:`train_clip_model`): one micro-model trained on every human frame.
* ``"segments"`` (:func:`train_segment_models`): the clip model, then one fine-tuned copy per
  segment (the spline pieces), each trained on its own segment's human frames plus its
  neighbours'; each frame is labelled by the model of its segment.

``"clip"`` is the default: BENCHMARKS.md ("One model per clip vs one model per segment")
measures both on the shared sequences and edited scenes.  Per-segment models have not needed
clearly fewer actions than one model per clip (the gap is within run-to-run noise), and on
clips of many segments they multiply the training time.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from microlab.boxes import Detections, Source
from microlab.calibration import (
    Calibration,
    CalibrationSettings,
    absence_support,
    checked_summary,
    detector_recall,
    model_support,
    recall_by_frame,
    review_answers,
    tracker_support,
)
from microlab.errors import ModelError, SettingsError
from microlab.frames import frame_index
from microlab.labeller import SOURCE_CODE, SOURCES, LabellerSettings, Labelling, label_clip
from microlab.model import (
    Candidates,
    LabelledFrame,
    MicroModel,
    MicroModelConfig,
    train_micro_model,
)
from microlab.sampling import ReviewItem, frames_in_unseen_segments, initial_frames, rank_review
from microlab.segments import Segment, detect_cuts, frame_signatures, split_clip
from microlab.tracking import keyframe_tracks

if TYPE_CHECKING:
    from microlab.project import Project

CONFIDENT = 0.8  # a machine label at least this confident counts towards coverage


@dataclass
class LoopSettings:
    """How the loop trains, labels and proposes frames.

    Attributes:
        strategy: the name of a training strategy in :data:`STRATEGIES`: ``"clip"`` (one
            model) or ``"segments"`` (one fine-tuned model per segment).
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
        spot_checks: share of the review batch given to confident labels drawn at random
            (:func:`~microlab.sampling.spot_checks`): review would never look at them, and
            their answers calibrate what "confident" means.
        calibration: how "absent" is earned and how answers calibrate confidence
            (:mod:`microlab.calibration`).
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
    spot_checks: float = 0.2
    model: MicroModelConfig = field(default_factory=MicroModelConfig)
    labeller: LabellerSettings = field(default_factory=LabellerSettings)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)

    def __post_init__(self) -> None:
        get_strategy(self.strategy)  # an unknown name fails here, not at the first training

    def batch_size(self, n_frames: int) -> int:
        if self.review_batch is not None:
            return self.review_batch
        return int(np.clip(round(n_frames * 0.02), 5, 20))


@dataclass(repr=False)
class IterationReport:
    """What one train + predict step did; printed, a short summary.

    ``coverage`` and ``expected_confident_right`` are the loop's own estimates (no ground truth
    behind them); ``confident_checked`` is what people found when they answered confident labels
    (review and spot checks): ``(right, answered)``.
    """

    iteration: int
    model_versions: list[int]
    train_s: float
    predict_s: float
    n_human_frames: int
    coverage: float
    segments: list[dict[str, Any]]
    inference_fps: float = 0.0
    expected_confident_right: float | None = None
    confident_checked: tuple[int, int] = (0, 0)
    answers: int = 0

    def __repr__(self) -> str:
        lines = [(f"Iteration {self.iteration}: {self.n_human_frames} human frames, "
                 f"{len(self.segments)} segments; train {self.train_s:.0f} s, predict "
                 f"{self.predict_s:.0f} s ({self.inference_fps:.1f} frames/s)"),
                 (f"  coverage {self.coverage:.0%} (estimated: human frames and labels at least "
                 f"{CONFIDENT:.0%} confident)")]
        if self.expected_confident_right is not None:
            lines.append(f"  confident labels: expected {self.expected_confident_right:.0%} "
                         "right; checked by a person: "
                         f"{checked_summary(*self.confident_checked)}")
        lines.append(f"  calibration fitted on {self.answers} held-out answers")
        return "\n".join(lines)


class Predictor(Protocol):
    """What the loop needs of a trained model (:class:`~microlab.model.MicroModel` is one).

    A fake with these members can stand in for the micro-model in tests.
    """

    config: MicroModelConfig  # ``config.backbone`` decides whether a warm start is possible
    threshold: float  # score above which a candidate counts as a detection
    info: dict[str, Any]  # training facts; the loop stores ``info["train_s"]``

    def predict(
        self,
        frames: Sequence[np.ndarray],
        indices: Iterable[int] | None = None,
        *,
        k: int = 5,
        progress: bool = True,
        description: str = "predict",
    ) -> Candidates:
        """``k`` candidates (boxes, scores, class ids) for each of the given frames."""
        ...

    def metadata(self) -> dict[str, Any]:
        """JSON-ready settings stored next to the checkpoint."""
        ...

    def to_bytes(self) -> bytes:
        """The checkpoint, as a :class:`ModelLoader` reads it back."""
        ...


class Trainer(Protocol):
    """Trains a model on labelled frames (:func:`~microlab.model.train_micro_model` is one).

    ``labelled`` holds every human frame, absent ones (no boxes) included; ``init`` is the
    model to start from (a warm start), or ``None`` for a fresh one.  The loop only passes as
    ``init`` a model this trainer made or the loop's :data:`ModelLoader` loaded, of the same
    ``config.backbone``.
    """

    def __call__(
        self,
        labelled: Sequence[LabelledFrame],
        config: MicroModelConfig,
        *,
        init: Predictor | None = None,
        progress: bool = True,
    ) -> Predictor: ...


ModelLoader = Callable[[bytes], Predictor]
"""Reads a stored checkpoint (what :meth:`Predictor.to_bytes` wrote) back into a model."""


class ReviewRanker(Protocol):
    """The acquisition function: which frames to review (:func:`~microlab.sampling.rank_review`
    is the default; see it for the arguments)."""

    def __call__(
        self,
        doubt: np.ndarray,
        reasons: Sequence[str],
        segments: Sequence[tuple[int, int]],
        human_frames: Sequence[int],
        *,
        n: int,
        confirmed: np.ndarray | None = None,
        explore: float = 0.5,
        segment_checks: float = 1.0,
    ) -> list[ReviewItem]: ...


class Training(NamedTuple):
    """What :meth:`Loop.train` made: model versions (the clip model first), seconds, and the
    model version responsible for each segment index."""

    versions: list[int]
    seconds: float
    responsible: dict[int, int]


class LoopState:
    """Per-project caches of the loop (frame signatures, cuts, tracker runs, last models).

    Args:
        project: the project whose store holds the checkpoints and signatures.
        load_model: reads a stored checkpoint (default :meth:`MicroModel.from_bytes`).
    """

    def __init__(self, project: Project, *, load_model: ModelLoader | None = None) -> None:
        self.project = project
        self.load_model: ModelLoader = load_model or MicroModel.from_bytes
        self._signatures: np.ndarray | None = None
        self._tracks: dict[tuple, dict[int, np.ndarray]] = {}
        self._models: dict[int, Predictor] = {}
        self.last_training: Training | None = None

    def model(self, version: int) -> Predictor:
        """A stored checkpoint, loaded once per session."""
        if version not in self._models:
            _, _, weights = self.project.store.load_model(version)
            self._models[version] = self.load_model(weights)
        return self._models[version]

    def remember(self, version: int, model: Predictor) -> None:
        self._models[version] = model

    def latest_clip_model(self) -> Predictor | None:
        """The newest model trained on the whole clip (the warm start of the next one)."""
        clip_models = [m["version"] for m in self.project.store.models()
                       if m["segment_start"] is None]
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
    def tracks_from(self, keyframes: dict[int, np.ndarray | None], cuts: Sequence[int],
                    span: int) -> dict[int, list]:
        """Tracker boxes from each present keyframe towards its neighbours (see
        :func:`~microlab.tracking.keyframe_tracks`), as ``{frame: [(box, distance, status)]}``.
        Runs are cached across iterations."""
        out: dict[int, list] = {}
        for run in keyframe_tracks(self.project.frames, keyframes, cuts, span=span,
                                   cache=self._tracks):
            for f, b in run.boxes.items():
                out.setdefault(f, []).append((b, abs(f - run.start), run.status))
        return out


# ---------------------------------------------------------------------- helpers
def _refuse_several_objects_of_a_class(human: dict[int, Detections], classes: list[str]) -> None:
    """This loop labels one object per class and frame; a frame a person boxed with several of
    one class needs the multi-object loop (it would learn them and keep only one)."""
    for frame, det in sorted(human.items()):
        ids, counts = np.unique(det.class_ids, return_counts=True)
        if counts.size and counts.max() > 1:
            name = classes[int(ids[counts.argmax()])]
            raise ModelError(
                f"frame {frame} has {counts.max()} boxes of {name!r}: project.step() labels one "
                "object per class and frame. For several objects per clip use the multi-object "
                "loop: loop = ml.MultiLoop(); loop.step(project); loop.review_queue(project) "
                "(README: Several objects per clip)")


def labelled_frames(project: Project, frames: Sequence[int] | None = None) -> list[LabelledFrame]:
    """The human frames (all, or ``frames``) as training examples: a person's boxes, and whether
    the frame is boxed whole (:meth:`~microlab.project.Project.mark_partial`)."""
    human = project.human_labels()
    partial = set(project.partial_frames())
    return [LabelledFrame(project.frame(f), human[f], complete=f not in partial)
            for f in (sorted(human) if frames is None else frames)]


def _combine(labellings: list[Labelling]) -> Labelling:
    """One labelling per class -> the first class's labelling with per-frame minimum confidence.

    (Multi-class labels are written per class by :func:`_write_labels`; confidence and doubt
    take the weakest class.)"""
    if len(labellings) == 1:
        return labellings[0]
    first = labellings[0]
    conf = np.min([lab.confidence for lab in labellings], axis=0)
    weakest = np.argmin([lab.confidence for lab in labellings], axis=0)
    reasons = [labellings[w].doubt_reason[t] for t, w in enumerate(weakest)]
    confirmed = np.all([lab.confirmed for lab in labellings], axis=0)
    combined = Labelling(first.boxes, conf, first.source, first.score, reasons, confirmed)
    combined.per_class = labellings  # type: ignore[attr-defined]
    return combined


def _earn_absence(labelling: Labelling, support: np.ndarray) -> None:
    """Cap the confidence of "absent" by the evidence that the object would have been found."""
    _cap(labelling, ~labelling.present, support, "absent, but the model may miss it here")


def _cap(labelling: Labelling, where: np.ndarray, support: np.ndarray, reason: str) -> None:
    """Lower the confidence of the labels ``where`` to ``support``; those it makes unconfident
    get ``reason`` as their doubt."""
    capped = where & (support < labelling.confidence)
    labelling.confidence = np.where(capped, support, labelling.confidence)
    for t in np.flatnonzero(capped & (support < CONFIDENT)):
        labelling.doubt_reason[t] = reason


def _write_labels(project: Project, labelling: Labelling, model_version: int) -> None:
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
    project: Project, segments: Sequence[Segment], confidence: np.ndarray,
    iteration: int | None = None
) -> list[dict[str, Any]]:
    """Per segment: coverage (human or confident labels), actions spent in it, human frames.

    ``iteration`` counts only the actions of iterations up to it (default: all of them).
    """
    human = set(project.human_frames())
    actions = project.actions() if iteration is None else [a for a in project.actions()
                                                           if a.iteration <= iteration]
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


def _settings_summary(settings: LoopSettings) -> dict[str, Any]:
    out = asdict(settings)
    out["model"] = {k: out["model"][k] for k in ("backbone", "steps", "max_input_side")}
    return out


def latest_labelling(project: Project) -> dict[str, np.ndarray] | None:
    """The arrays saved by the latest :meth:`Loop.step`, or ``None`` before the first one."""
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


def review_items(project: Project, frames: Sequence[int]) -> list[ReviewItem]:
    """Review items for frames a person picked (e.g. clicked on a timeline), in the given order.

    Each carries the same doubt as :meth:`Loop.review_queue` would give it (``1 - confidence``
    of its current label) and the labeller's reason; human frames have doubt 0.
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


# ---------------------------------------------------------------------- training strategies
@dataclass
class TrainingRun:
    """What a training strategy works with: one :meth:`Loop.train` call's project and parts.

    A strategy trains with :meth:`fit` (which also stores and caches each model) and returns the
    versions it made, the clip model first, and the version responsible for each segment index
    of :meth:`segments`.

    Attributes:
        project: the project being trained on.
        settings: the loop's settings.
        trainer: the loop's :class:`Trainer`.
        state: the loop's caches for this project.
        human: the human labels, ``{frame: Detections}`` (absent frames hold no box).
        config: the model config, with the project's classes.
        progress: show progress bars.
    """

    project: Project
    settings: LoopSettings
    trainer: Trainer
    state: LoopState
    human: dict[int, Detections]
    config: MicroModelConfig
    progress: bool = True

    @property
    def frames(self) -> list[int]:
        """The human frames, in order."""
        return sorted(self.human)

    def segments(self) -> list[Segment]:
        return self.state.segments(self.settings)

    def fit(
        self,
        frames: Sequence[int],
        config: MicroModelConfig,
        *,
        init: Predictor | None = None,
        segment: tuple[int, int] | None = None,
    ) -> tuple[int, Predictor]:
        """Train on ``frames`` (human frames), store the model (for ``segment``, or the clip when
        ``None``) and return its version and the model."""
        labelled = labelled_frames(self.project, frames)
        model = self.trainer(labelled, config, init=init, progress=self.progress)
        version = self.project.store.save_model(
            config=model.metadata(), weights=model.to_bytes(), segment=segment,
            train_s=model.info["train_s"], n_labels=len(labelled),
        )
        self.state.remember(version, model)
        return version, model

    def fit_clip_model(self) -> tuple[int, Predictor]:
        """The model of the whole clip, warm started from the previous one when the settings say
        so and the backbone is the same (with fewer steps)."""
        config, settings = self.config, self.settings
        previous = self.state.latest_clip_model() if settings.warm_start else None
        if previous is not None and previous.config.backbone == config.backbone:
            warm = replace(config, steps=max(config.steps_per_epoch,
                                             round(config.steps * settings.warm_steps_fraction)))
            return self.fit(self.frames, warm, init=previous)
        return self.fit(self.frames, config, init=None)


Strategy = Callable[[TrainingRun], tuple[list[int], dict[int, int]]]
"""Trains the models of a project: ``strategy(run) -> (versions, {segment index: version})``."""

#: The training strategies by name (``LoopSettings.strategy``), in registration order.
STRATEGIES: dict[str, Strategy] = {}


def register_strategy(name: str, strategy: Strategy, *, replace: bool = False) -> Strategy:
    """Add a training strategy under ``name``, so ``LoopSettings(strategy=name)`` uses it.

    A taken name is refused unless ``replace=True`` (then the new one takes its place).

    Returns:
        ``strategy``, so a module can keep a reference to it.

    Example:
        >>> def newest_only(run):  # one model, on the ten newest human frames
        ...     version, _ = run.fit(run.frames[-10:], run.config)
        ...     return [version], {i: version for i in range(len(run.segments()))}
        >>> register_strategy("newest", newest_only)
        >>> project.settings = LoopSettings(strategy="newest")
    """
    if not isinstance(name, str) or not name:
        raise SettingsError(f"a strategy name must be a non-empty string, but got {name!r}")
    if not callable(strategy):
        raise SettingsError(f"strategy {name!r} must be a function of a TrainingRun, but got "
                            f"{type(strategy).__name__}")
    if name in STRATEGIES and not replace:
        raise SettingsError(f"strategy {name!r} is already registered; pass replace=True to "
                            "replace it, or register yours under another name")
    STRATEGIES[name] = strategy
    return strategy


def list_strategies() -> list[str]:
    """Names of the registered training strategies, in registration order."""
    return list(STRATEGIES)


def get_strategy(name: str) -> Strategy:
    """A registered training strategy by name.

    Raises:
        SettingsError: no such strategy; the message lists the known ones and suggests the
            closest.
    """
    if isinstance(name, str) and name in STRATEGIES:
        return STRATEGIES[name]
    names = [repr(n) for n in STRATEGIES] or ["a registered one"]
    known = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
    close = difflib.get_close_matches(str(name), list(STRATEGIES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SettingsError(f"strategy must be {known}, but got {name!r}{hint}")


def train_clip_model(run: TrainingRun) -> tuple[list[int], dict[int, int]]:
    """Strategy ``"clip"``: one model on every human frame, responsible for every segment."""
    version, _ = run.fit_clip_model()
    return [version], {i: version for i in range(len(run.segments()))}


def train_segment_models(run: TrainingRun) -> tuple[list[int], dict[int, int]]:
    """Strategy ``"segments"``: the clip model, then per segment with a human box a copy
    fine-tuned (half the steps) on the human frames of that segment and its two neighbours;
    a segment without a human box keeps the clip model."""
    clip_version, clip_model = run.fit_clip_model()
    config = run.config
    versions = [clip_version]
    responsible: dict[int, int] = {}
    segments = run.segments()
    for i, seg in enumerate(segments):
        own = [f for f in run.frames if f in seg]
        if not any(len(run.human[f]) for f in own):
            responsible[i] = clip_version
            continue
        lo, hi = segments[max(0, i - 1)].start, segments[min(len(segments) - 1, i + 1)].end
        near = [f for f in run.frames if lo <= f <= hi]
        fine = replace(config, steps=max(config.steps_per_epoch, config.steps // 2),
                       seed=config.seed + i + 1)
        version, _ = run.fit(near, fine, init=clip_model, segment=(seg.start, seg.end))
        versions.append(version)
        responsible[i] = version
    return versions, responsible


register_strategy("clip", train_clip_model)
register_strategy("segments", train_segment_models)


# ---------------------------------------------------------------------- the loop
class Loop:
    """The active-learning loop over a project: train -> predict -> label -> propose a review.

    Its parts are parameters, so any of them can be swapped (a fake model in tests, another
    acquisition function); ``__init__`` only stores them (scikit-learn's convention) and the
    defaults are resolved when used.  The caches of the project it works on live in
    :attr:`state_` (a :class:`LoopState`, made on first use).

    Args:
        settings: how to train, label and propose frames (default :class:`LoopSettings`).
        trainer: trains a model on the human frames (default
            :func:`~microlab.model.train_micro_model`).
        ranker: orders frames for review (default :func:`~microlab.sampling.rank_review`).
        load_model: reads a stored checkpoint (default :meth:`MicroModel.from_bytes`).

    Example:
        >>> project.loop = Loop(LoopSettings(review_batch=4), trainer=my_trainer)
        >>> project.step()          # trains with my_trainer, labels every frame
        >>> project.review_queue()  # the injected ranker's picks
    """

    def __init__(
        self,
        settings: LoopSettings | None = None,
        *,
        trainer: Trainer | None = None,
        ranker: ReviewRanker | None = None,
        load_model: ModelLoader | None = None,
    ) -> None:
        self.settings = settings
        self.trainer = trainer
        self.ranker = ranker
        self.load_model = load_model

    def __repr__(self) -> str:
        parts = {"trainer": self.trainer, "ranker": self.ranker, "load_model": self.load_model}
        given = [f"{k}={getattr(v, '__name__', v)!r}" for k, v in parts.items() if v is not None]
        return f"Loop({', '.join([repr(self.settings), *given])})"

    # ------------------------------------------------------------------ parts, resolved
    def _settings(self) -> LoopSettings:
        return self.settings if self.settings is not None else LoopSettings()

    def _trainer(self) -> Trainer:
        return self.trainer if self.trainer is not None else train_micro_model

    def _ranker(self) -> ReviewRanker:
        return self.ranker if self.ranker is not None else rank_review

    def state(self, project: Project) -> LoopState:
        """The caches for ``project``: made on first use, and again for another project."""
        state: LoopState | None = getattr(self, "state_", None)
        if state is None or state.project is not project:
            state = self.state_ = LoopState(project, load_model=self.load_model)
        return state

    # ------------------------------------------------------------------ frames to label
    def initial_frames(self, project: Project, k: int = 5, *, progress: bool = False) -> list[int]:
        """The ``k`` frames to label first (spread over time and appearance); excludes human
        frames."""
        state = self.state(project)
        done = project.human_frames()
        picks = initial_frames(state.signatures(progress=progress), k + len(done), exclude=done)
        return [f for f in picks if f not in done][:k]

    def search_frames(self, project: Project, k: int = 5) -> list[int]:
        """``k`` frames from shots nobody has looked at yet: where to look for an object not
        found so far (see :func:`~microlab.sampling.frames_in_unseen_segments`)."""
        state = self.state(project)
        segments = [(s.start, s.end) for s in state.segments(self._settings())]
        return frames_in_unseen_segments(state.signatures(), segments, project.viewed_frames(), k)

    # ------------------------------------------------------------------ train, predict
    def train(self, project: Project, *, progress: bool = True) -> Training:
        """Train the model(s) on the human frames and store them."""
        settings = self._settings()
        trainer = self._trainer()
        state = self.state(project)
        human = project.human_labels()
        if not any(len(d) for d in human.values()):
            seen = len(human)
            raise ModelError(
                f"no human box yet ({seen} frame{'s' if seen != 1 else ''} marked absent): a "
                "micro-model needs at least one box of the object. Box it on a frame where it is "
                "visible: project.search_frames() proposes frames from shots nobody has seen, the "
                "Annotator's scrubber reaches any frame, and project.draw_box(frame, (x0, y0, x1, "
                "y1)) records it"
            )
        _refuse_several_objects_of_a_class(human, project.classes)
        started = time.perf_counter()
        run = TrainingRun(project, settings, trainer, state, human,
                          replace(settings.model, classes=list(project.classes)), progress=progress)
        versions, responsible = get_strategy(settings.strategy)(run)
        state.last_training = Training(versions, time.perf_counter() - started, responsible)
        return state.last_training

    def predict_candidates(
        self,
        project: Project,
        responsible: dict[int, int],
        *,
        progress: bool = True,
    ) -> tuple[Candidates, float]:
        """Run each model over the segments it is responsible for: the heavy half of
        :meth:`predict`, which reads the project and writes nothing (so it can run in another
        process on a copy, see :mod:`microlab.collection`).

        Returns the candidates of every frame and the model-inference seconds."""
        settings = self._settings()
        state = self.state(project)
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
        return (Candidates(np.arange(n), xyxy, scores, class_ids, float(np.median(thresholds))),
                inference_s)

    def predict_labels(
        self,
        project: Project,
        responsible: dict[int, int],
        *,
        progress: bool = True,
        candidates: tuple[Candidates, float] | None = None,
    ) -> tuple[Labelling, Candidates, float, float]:
        """Run the models over their segments (or take ``candidates``, with their inference
        seconds, from :meth:`predict_candidates` run elsewhere), then the labeller over the
        whole clip; stores nothing (:meth:`predict` does).

        Returns the labelling, the raw candidates, total seconds and model-inference seconds."""
        started = time.perf_counter()
        if candidates is None:
            found, inference_s = self.predict_candidates(project, responsible, progress=progress)
        else:
            found, inference_s = candidates
        labelling = self.label_candidates(project, found)
        elapsed = time.perf_counter() - started + (inference_s if candidates is not None else 0.0)
        return labelling, found, elapsed, inference_s

    def label_candidates(
        self, project: Project, candidates: Candidates, *,
        human: Mapping[int, Detections] | None = None,
    ) -> Labelling:
        """The labeller over the whole clip from the models' candidates, with confidence capped
        where it is not earned (:mod:`microlab.calibration`), before calibration.

        ``human`` replaces the project's human labels (to replay an earlier iteration)."""
        settings = self._settings()
        state = self.state(project)
        n = project.n_frames
        human = project.human_labels() if human is None else human
        cuts = state.cuts()
        labellings = []
        for cls in range(len(project.classes)):
            keyframes: dict[int, np.ndarray | None] = {}
            for f, det in human.items():
                mine = det.xyxy[det.class_ids == cls]
                keyframes[f] = mine[0] if len(mine) else None
            tracks = (state.tracks_from(keyframes, cuts, settings.track_span)
                      if settings.use_tracker else {})
            mask = candidates.class_ids == cls
            mine_xyxy = np.where(mask[..., None], candidates.xyxy, np.nan)
            mine_scores = np.where(mask, candidates.scores, 0.0)
            labelling = label_clip(
                n,
                candidates_xyxy=mine_xyxy,
                candidates_scores=mine_scores,
                threshold=candidates.threshold,
                keyframes=keyframes,
                tracks=tracks,
                cuts=cuts,
                settings=settings.labeller,
            )
            estimate = detector_recall(mine_xyxy, mine_scores, candidates.threshold, tracks,
                                       hit_iou=settings.calibration.hit_iou)
            recall = recall_by_frame(n, keyframes=keyframes, cuts=cuts, recall=estimate,
                                     settings=settings.calibration)
            _earn_absence(labelling, absence_support(n, keyframes=keyframes, cuts=cuts,
                                                     recall=recall,
                                                     settings=settings.calibration))
            from_tracker = labelling.source == SOURCE_CODE[Source.TRACKER]
            _cap(labelling, from_tracker,
                 tracker_support(labelling.boxes, from_tracker, tracks, keyframes, recall,
                                 settings.calibration),
                 "a tracker box this far from a person's box is unchecked")
            _cap(labelling, labelling.source == SOURCE_CODE[Source.MODEL],
                 model_support(n, keyframes=keyframes, candidates_xyxy=mine_xyxy,
                               candidates_scores=mine_scores, threshold=candidates.threshold,
                               cuts=cuts, precision=estimate.precision,
                               settings=settings.calibration),
                 "the model missed a person's box near here")
            labellings.append(labelling)
        return _combine(labellings)

    def calibration(self, project: Project, *, before: int | None = None) -> Calibration:
        """The map from capped to calibrated confidence, fitted on every answer a person gave
        to a frame the loop had labelled (see :func:`~microlab.calibration.review_answers`);
        ``before`` keeps only answers given before that iteration (to replay it)."""
        first: dict[int, int] = {}
        for action in project.actions():
            if action.kind not in ("skip", "import") and action.frame is not None:
                first.setdefault(int(action.frame), int(action.iteration))
        if before is not None:
            first = {f: it for f, it in first.items() if it < before}
        labellings = {}
        for it in sorted(set(first.values())):
            arrays = project.store.load_arrays(it, "labelling")
            if arrays is not None:
                labellings[it] = arrays
        human = {f: (d.xyxy[0] if len(d) else None) for f, d in project.human_labels().items()}
        conf, kinds, ok = review_answers(labellings, first, human)
        return Calibration.fit(conf, kinds, ok, self._settings().calibration)

    def _last_training(self, project: Project) -> Training:
        """The models of the latest :meth:`train`; after a reopen, the latest stored ones."""
        state = self.state(project)
        if state.last_training is not None:
            return state.last_training
        models = project.store.models()
        if not models:
            raise ModelError("no micro-model yet: call project.train() first")
        latest_iteration = models[-1]["iteration"]
        fresh = [m for m in models if m["iteration"] == latest_iteration]
        clip_version = next(m["version"] for m in fresh if m["segment_start"] is None)
        responsible = {}
        for i, seg in enumerate(state.segments(self._settings())):
            own = [m["version"] for m in fresh
                   if m["segment_start"] == seg.start and m["segment_end"] == seg.end]
            responsible[i] = own[0] if own else clip_version
        state.last_training = Training([m["version"] for m in fresh], 0.0, responsible)
        return state.last_training

    def predict(self, project: Project, *, progress: bool = True,
                candidates: tuple[Candidates, float] | None = None) -> IterationReport:
        """Label every frame with the latest models, store it, and open the next iteration.

        ``candidates`` (with their inference seconds) are the models' raw output when it was
        computed elsewhere (:meth:`predict_candidates` in a worker)."""
        settings = self._settings()
        state = self.state(project)
        versions, train_s, responsible = self._last_training(project)
        labelling, candidates, predict_s, inference_s = self.predict_labels(
            project, responsible, progress=progress, candidates=candidates)
        inference_fps = project.n_frames / max(inference_s, 1e-6)
        capped = labelling.confidence.copy()
        calibration = self.calibration(project)
        labelling.confidence = calibration.apply(
            capped, [str(SOURCES[int(code)]) for code in labelling.source])
        _write_labels(project, labelling, versions[0])
        human = set(project.human_frames())
        confidence = labelling.confidence.copy()
        confidence[list(human)] = 1.0
        capped[list(human)] = 1.0
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
        project.store.save_segments(iteration, [(s.start, s.end, responsible[i])
                                                for i, s in enumerate(segments)])
        project.store.save_arrays(iteration, "labelling", {
            "boxes": labelling.boxes,
            "confidence": confidence,
            "capped_confidence": capped,  # before calibration: what later answers are fit on
            "source": labelling.source,
            "score": labelling.score,
            "reason": np.asarray(labelling.doubt_reason, dtype=str),
            "confirmed": labelling.confirmed,
            "candidates_xyxy": candidates.xyxy,
            "candidates_scores": candidates.scores,
            "candidates_class_ids": candidates.class_ids,
            "threshold": np.asarray(candidates.threshold),
        })
        machine = np.setdiff1d(np.arange(project.n_frames), list(human))
        confident = confidence[machine][confidence[machine] >= CONFIDENT]
        return IterationReport(iteration, versions, train_s, predict_s, len(human), coverage,
                               seg_stats, inference_fps,
                               float(confident.mean()) if len(confident) else None,
                               calibration.checked(CONFIDENT), calibration.n_answers)

    def step(self, project: Project, *, progress: bool = True) -> IterationReport:
        """One loop iteration: train, predict, label, store, and open the next iteration."""
        self.train(project, progress=progress)
        return self.predict(project, progress=progress)

    # ------------------------------------------------------------------ review
    def frame_confidence(self, project: Project) -> np.ndarray:
        """Confidence of each frame's current label (see :func:`frame_confidence`)."""
        return frame_confidence(project)

    def review_queue(self, project: Project, n: int | None = None) -> list[ReviewItem]:
        """The frames most worth a human look now, most urgent first: the ranker's order
        (:func:`~microlab.sampling.rank_review` by default) over the latest labelling's doubt
        (``1 - confidence``), reasons and segments.  Empty before the first prediction."""
        data = latest_labelling(project)
        if data is None:
            return []
        settings = self._settings()
        n = settings.batch_size(project.n_frames) if n is None else n
        segments = [(s.start, s.end) for s in self.state(project).segments(settings)]
        return self._ranker()(
            1.0 - data["confidence"].astype(float),
            [str(r) for r in data["reason"]],
            segments,
            project.human_frames(),
            n=n,
            # "verified" in stores of 0.x versions; absent from the oldest
            confirmed=data.get("confirmed", data.get("verified")),
            explore=settings.explore,
            segment_checks=settings.segment_checks,
            # the cue behind each label, for spot checks of each kind (older stores lack it)
            kinds=([str(SOURCES[int(c)]) for c in data["source"]] if "source" in data
                   else None),
            spot_checks=settings.spot_checks,
            seed=project.iteration,
        )
