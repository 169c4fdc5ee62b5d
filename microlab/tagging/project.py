"""TagProject: frame classification of one clip, and its loop.

>>> project = TagProject.open("clip.mlab", video="clip.mp4", classes=["street", "shop", "car"])
>>> for f in project.initial_frames():          # frames spread over time and appearance
...     project.tag(f, "street")                 # 1 action each, committed before it returns
>>> report = project.step()                      # train -> predict every frame -> smooth
>>> project.review_queue()                       # the frames most likely wrong
>>> project.accept(57); project.tag(58, "shop")  # 0 and 1 action
>>> project.labels().tags                        # one tag per frame (or a 0/1 row, multi-label)

The micro-model is a timm classifier fine-tuned by fastai on the tagged frames
(:mod:`microlab.model.classifier`).  Its per-frame probabilities are smoothed in time by a
cut-aware hidden Markov model (:mod:`microlab.tagging.smoothing`) with the human tags fixed, so
one tag per shot often labels the whole shot.  Confidence is earned: in a shot nobody tagged it
is capped by how often the model was right on such shots when a person checked, and it is
calibrated on the held-out review answers of the project (:mod:`microlab.calibration`).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microlab.calibration import Calibration, checked_summary, wilson_interval
from microlab.errors import AnnotationError, ModelError, SettingsError, StateError, StoreError
from microlab.frames import FrameSource, frame_index, open_frames
from microlab.sampling import ReviewItem, diverse_frames, initial_frames, rank_review
from microlab.segments import Segment, detect_cuts, frame_signatures, split_clip
from microlab.stopping import SegmentVerdict, verdicts_from_reviews
from microlab.store import Store, TagRecord
from microlab.tagging.smoothing import SmoothingSettings, smooth_multi, smooth_single

TASK = "classify"
SMALL_FRAMES_BYTES = 1 << 30  # frames at the model's input size kept in memory up to this
CONFIDENT = 0.9  # a machine tag at least this confident counts towards coverage
# The evidence behind a machine tag: a person's tag carried along its run (the same tag, in
# the same shot, with no change in between), or the model alone.
PROPAGATED, MODEL = "propagated", "model"
KINDS = (PROPAGATED, MODEL)


def split_at(segments: Sequence[Segment], frames: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` ranges of ``segments``, each also cut where a new piece starts at one
    of ``frames``."""
    starts = sorted({int(f) for f in frames})
    out = []
    for seg in segments:
        a = seg.start
        for f in starts:
            if seg.start < f <= seg.end:
                out.append((a, f - 1))
                a = f
        out.append((a, seg.end))
    return out


def evidence_kinds(tags: np.ndarray, cuts: Sequence[int],
                   human: Mapping[int, Sequence[int]]) -> np.ndarray:
    """Per frame, :data:`PROPAGATED` where its run of equal tags inside one shot holds a frame
    a person tagged, else :data:`MODEL`."""
    tags = np.asarray(tags)
    n = len(tags)
    flat = tags.reshape(n, -1)
    new_run = np.zeros(n, bool)
    if n:
        new_run[0] = True
        new_run[1:] = np.any(flat[1:] != flat[:-1], axis=1)
    for c in cuts:
        if 0 < int(c) < n:
            new_run[int(c)] = True
    run_id = np.cumsum(new_run) - 1
    reached = {int(run_id[int(f)]) for f in human}
    return np.where(np.isin(run_id, sorted(reached)), PROPAGATED, MODEL)


@dataclass
class TagSettings:
    """Settings of the frame-classification loop.

    Attributes:
        model: classifier settings (:class:`~microlab.model.classifier.TagModelConfig` fields:
            ``backbone``, ``pretrained``, ``steps``, ...); the classes come from the project.
        smoothing: how strongly tags stick together in time.
        review_batch: frames per review batch (default: 2% of the clip, 5 to 20).
        max_segment: longest segment (spline piece) in frames; review spreads over segments.
        spot_checks: share of each review batch given to confident tags drawn at random.
        confident: what counts as confident (coverage, spot checks).
        pieces: local models along the clip (the spline picture): 1 is one model per video;
            with more, each run of segments of about ``n_frames / pieces`` frames whose tags
            cover two classes gets a model of its own trained on those tags alone, and the
            clip model labels the rest.  BENCHMARKS.md, "Frame classification", measures both.
    """

    model: dict[str, Any] = field(default_factory=dict)
    smoothing: SmoothingSettings = field(default_factory=SmoothingSettings)
    review_batch: int | None = None
    max_segment: int = 150
    spot_checks: float = 0.2
    confident: float = CONFIDENT
    pieces: int = 1

    def __post_init__(self) -> None:
        if int(self.pieces) != self.pieces or self.pieces < 1:
            raise SettingsError(f"pieces must be a whole number >= 1, but got {self.pieces!r}")

    def batch_size(self, n_frames: int) -> int:
        if self.review_batch is not None:
            return self.review_batch
        return int(np.clip(round(n_frames * 0.02), 5, 20))


@dataclass(frozen=True)
class TagLabels:
    """Every frame's tags: ``tags`` is ``(n,)`` class ids (one tag per frame) or ``(n, classes)``
    booleans (multi-label); ``confidence`` in [0, 1] (1 on human frames); ``human`` marks the
    frames a person tagged or accepted; ``kinds`` says what a machine tag rests on."""

    tags: np.ndarray
    confidence: np.ndarray
    human: np.ndarray
    kinds: tuple[str, ...]
    iteration: int

    def names(self, classes: Sequence[str]) -> list[str]:
        """Each frame's tags as text (``"a+b"`` for several, ``""`` for none)."""
        if self.tags.ndim == 1:
            return [classes[int(t)] if t >= 0 else "" for t in self.tags]
        return ["+".join(c for c, on in zip(classes, row) if on) for row in self.tags]


@dataclass(repr=False)
class TagIterationReport:
    """What one train + predict step did; printed, a short summary."""

    iteration: int
    n_tagged: int
    train_s: float
    predict_s: float
    coverage: float
    expected_confident_right: float | None
    confident_checked: tuple[int, int]
    answers: int
    n_frames: int

    def __repr__(self) -> str:
        checked = "checked by a person: " + checked_summary(*self.confident_checked)
        expected = ("" if self.expected_confident_right is None
                    else f"expected {self.expected_confident_right:.0%} right; ")
        return "\n".join([
            (f"Iteration {self.iteration}: {self.n_tagged} tagged frames of {self.n_frames}; "
            f"train {self.train_s:.0f} s, predict {self.predict_s:.0f} s"),
            (f"  coverage {self.coverage:.0%} (estimated: human tags and tags at least "
            f"{CONFIDENT:.0%} confident)"),
            f"  confident tags: {expected}{checked}",
            f"  calibration fitted on {self.answers} held-out answers",
        ])


Trainer = Callable[..., Any]
"""``trainer(images, tags, config, progress=...) -> model`` with ``model.probabilities(frames)``,
``model.to_bytes()`` and ``model.info``: :func:`~microlab.model.classifier.train_tag_model`."""


def _default_trainer(images, tags, config, *, progress=True):
    from microlab.model.classifier import TagModelConfig, train_tag_model

    return train_tag_model(images, tags, TagModelConfig(**config), progress=progress)


class PiecewiseTagModel:
    """The clip model, with local models over pieces of the clip: each frame's probabilities
    come from the model of its piece where there is one, else from the clip model."""

    def __init__(self, clip_model: Any, local: Sequence[tuple[int, int, Any]]) -> None:
        self.clip_model = clip_model
        self.local = list(local)
        self.size = getattr(clip_model, "size", None)
        self.info = {"train_s": sum(m.info.get("train_s") or 0.0
                                    for m in [clip_model, *(m for _, _, m in self.local)])}

    def probabilities(self, frames: Iterable[np.ndarray], *,
                      progress: Callable[[int], Any] | None = None) -> np.ndarray:
        frames = list(frames)
        owner = np.full(len(frames), -1)
        for i, (start, end, _) in enumerate(self.local):
            owner[start:end + 1] = i
        out: np.ndarray | None = None
        for i, model in [(-1, self.clip_model), *((i, m) for i, (_, _, m) in
                                                 enumerate(self.local))]:
            where = np.flatnonzero(owner == i)
            if not len(where):
                continue
            probs = np.asarray(model.probabilities([frames[j] for j in where], progress=progress))
            if out is None:
                out = np.zeros((len(frames), probs.shape[1]), float)
            out[where] = probs
        assert out is not None
        return out


class TagProject:
    """A clip whose frames get tags.  Open with :meth:`TagProject.open`.

    Parts are injected: ``trainer`` builds the model (a fake one in tests), ``ranker`` is the
    acquisition function (:func:`~microlab.sampling.rank_review`).
    """

    def __init__(self, store: Store, frames: FrameSource, *,
                 settings: TagSettings | None = None, trainer: Trainer | None = None,
                 ranker: Callable[..., list[ReviewItem]] = rank_review) -> None:
        self.store = store
        self.frames = frames
        meta = store.meta
        self.classes: list[str] = list(meta["classes"])
        self.multi_label: bool = bool(meta.get("multi_label", False))
        self.settings = settings or TagSettings()
        self.trainer = trainer or _default_trainer
        self.ranker = ranker
        self._signatures: np.ndarray | None = None
        self._small: dict[tuple[int, int], np.ndarray] = {}

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str], video: str | os.PathLike[str] | None = None, *,
             classes: Sequence[str] | None = None, multi_label: bool = False,
             **parts: Any) -> TagProject:
        """Open a frame-classification project, creating it for ``video`` if new.

        Args:
            path: the project file (``something.mlab``).
            video: the clip (a video file or a folder of frames); needed when new.
            classes: the tag names of a new project (two at least, one tag per frame unless
                ``multi_label``).
            multi_label: each frame may carry several tags, or none.
            parts: ``settings``, ``trainer`` or ``ranker`` (see the class).
        """
        path = Path(path).expanduser()
        if path.exists():
            store = Store.open(path)
            try:
                meta = store.meta
                if meta.get("task", "detect") != TASK:
                    raise StoreError(f"{path} is a box project; open it with "
                                     "microlab.Project.open")
                source = Path(video).expanduser() if video else Path(meta["frames_path"])
                frames = open_frames(source)
                if len(frames) != meta["n_frames"]:
                    raise StoreError(f"{source} has {len(frames)} frames, but {path} was made for "
                                     f"{meta['n_frames']}; open it with the clip it was made for")
                if classes is not None and list(classes) != meta["classes"]:
                    raise AnnotationError(f"{path} has classes {meta['classes']}, not "
                                          f"{list(classes)}; leave classes out to reopen it")
                return cls(store, frames, **parts)
            except BaseException:
                store.close()
                raise
        if video is None:
            raise StoreError(f"project {path} does not exist yet; pass video=PATH (a video file "
                             "or a folder of frames) to create it")
        classes = [classes] if isinstance(classes, str) else list(classes or [])
        need = 1 if multi_label else 2
        if len(classes) < need or len(set(classes)) != len(classes) or not all(
                isinstance(c, str) and c.strip() for c in classes):
            raise AnnotationError(
                f"classes must be at least {need} distinct non-empty names, e.g. "
                f"['indoor', 'outdoor'], but got {classes}")
        source = Path(video).expanduser()
        frames = open_frames(source)
        store = Store.create(path, {
            "task": TASK,
            "frames_path": str(source.resolve()),
            "n_frames": len(frames),
            "frame_size": list(frames.size),
            "fps": frames.fps,
            "classes": classes,
            "multi_label": bool(multi_label),
        })
        return cls(store, frames, **parts)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> TagProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        totals = self.action_totals()
        return (f"TagProject({str(self.store.path)!r}, frames={self.n_frames}, "
                f"classes={self.classes}, multi_label={self.multi_label}, "
                f"iteration={self.iteration}, tagged={len(self.human_tags())}, "
                f"actions={totals['actions']})")

    # ------------------------------------------------------------------ clip facts
    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def iteration(self) -> int:
        return self.store.iteration

    def frame(self, index: int) -> np.ndarray:
        return self.frames[frame_index(index, self.n_frames)]

    def class_ids(self, tags: str | int | Sequence[str | int]) -> tuple[int, ...]:
        """Class ids of tags given by name or id; refuses unknown ones with the known listed."""
        items = [tags] if isinstance(tags, (str, int, np.integer)) else list(tags)
        out = []
        for t in items:
            if isinstance(t, (bool, np.bool_)):
                raise AnnotationError(f"a tag is a class name or id, not {t!r}")
            if isinstance(t, (int, np.integer)):
                if not 0 <= int(t) < len(self.classes):
                    raise AnnotationError(f"tag id {t} is not a class; the classes are "
                                          f"{list(enumerate(self.classes))}")
                out.append(int(t))
            elif t in self.classes:
                out.append(self.classes.index(t))
            else:
                raise AnnotationError(f"unknown tag {t!r}; the classes are {self.classes} "
                                      "(add a class when opening a new project)")
        out = sorted(set(out))
        if not self.multi_label and len(out) != 1:
            raise AnnotationError(f"this project takes exactly one tag per frame, but got "
                                  f"{items}; open it with multi_label=True for several")
        return tuple(out)

    # ------------------------------------------------------------------ human answers
    def tag(self, frame: int, tags: str | int | Sequence[str | int]) -> None:
        """Set a frame's tags (1 action), committed before this returns."""
        frame = frame_index(frame, self.n_frames)
        ids = self.class_ids(tags)
        self.store.record_tags([(frame, "tag", ids, self._shown(frame))])

    def accept(self, frame: int) -> None:
        """Confirm the tags the machine gives a frame (0 actions)."""
        frame = frame_index(frame, self.n_frames)
        shown = self._shown(frame)
        if shown is None:
            raise StateError(f"frame {frame} has no machine tag to accept yet; tag it instead")
        self.store.record_tags([(frame, "accept", shown, shown)])

    def answer(self, frame: int, tags: str | int | Sequence[str | int]) -> int:
        """What a reviewer does: accept when ``tags`` are what the machine shows (0 actions),
        else tag (1).  Returns the actions spent."""
        frame = frame_index(frame, self.n_frames)
        ids = self.class_ids(tags)
        if self._shown(frame) == ids:
            self.accept(frame)
            return 0
        self.store.record_tags([(frame, "tag", ids, self._shown(frame))])
        return 1

    def skip(self, frame: int) -> None:
        """Record a frame viewed and left untagged (0 actions)."""
        frame = frame_index(frame, self.n_frames)
        self.store.record_tags([(frame, "skip", (), self._shown(frame))])

    def human_tags(self) -> dict[int, tuple[int, ...]]:
        """``{frame: class ids}`` of every frame a person tagged or accepted."""
        return self.store.human_tags()

    def tag_log(self) -> list[TagRecord]:
        return self.store.tag_log()

    def action_totals(self, *, up_to_iteration: int | None = None) -> dict[str, int]:
        """Actions (each tag is 1) and frames viewed."""
        return self.store.tag_totals(up_to_iteration=up_to_iteration)

    def _shown(self, frame: int) -> tuple[int, ...] | None:
        """The machine's tags of a frame in the latest prediction, if any."""
        arrays = self.prediction()
        if arrays is None:
            return None
        row = arrays["tags"][frame]
        return (int(row),) if row.ndim == 0 else tuple(int(c) for c in np.flatnonzero(row))

    # ------------------------------------------------------------------ clip structure
    def signatures(self, *, progress: bool = False) -> np.ndarray:
        """Appearance signatures of every frame (computed once, kept in the project file)."""
        if self._signatures is None:
            stored = self.store.load_arrays(0, "signatures")
            if stored is None:
                self._signatures = frame_signatures(self.frames, progress=progress)
                self.store.save_arrays(0, "signatures", {"signatures": self._signatures})
            else:
                self._signatures = stored["signatures"]
        return self._signatures

    def cuts(self) -> list[int]:
        """Frames where a new shot starts."""
        return detect_cuts(self.signatures())

    def segments(self) -> list[Segment]:
        """Shots, split into pieces of at most ``settings.max_segment`` frames."""
        return split_clip(self.n_frames, self.cuts(), max_length=self.settings.max_segment)

    def initial_frames(self, k: int = 5, *, progress: bool = False) -> list[int]:
        """``k`` frames to tag first, as unlike each other as the clip allows (one per shot,
        farthest first: :func:`~microlab.sampling.diverse_frames`); when every shot has been
        seen, frames spread over time (:func:`~microlab.sampling.initial_frames`)."""
        done = sorted(self.human_tags())
        sig = self.signatures(progress=progress)
        segments = [(s.start, s.end) for s in self.segments()]
        picks = diverse_frames(sig, segments, k, exclude=done)
        if len(picks) < k:
            more = initial_frames(sig, k + len(done) + len(picks), exclude=done + picks)
            picks += [f for f in more if f not in done and f not in picks][:k - len(picks)]
        return sorted(picks)

    # ------------------------------------------------------------------ the loop
    def _model_settings(self) -> dict[str, Any]:
        return {**self.settings.model, "classes": list(self.classes),
                "multi_label": self.multi_label}

    def _tag_matrix(self, tags: Sequence[tuple[int, ...]]) -> np.ndarray:
        if self.multi_label:
            out = np.zeros((len(tags), len(self.classes)), np.float32)
            for i, t in enumerate(tags):
                out[i, list(t)] = 1
            return out
        return np.asarray([t[0] for t in tags], int)

    def train(self, *, progress: bool = True) -> Any:
        """Train a classifier on the tagged frames and keep it in the project file."""
        human = self.human_tags()
        if not human:
            raise ModelError("no tagged frames yet: tag a few frames (initial_frames() proposes "
                             "them) before training")
        if not self.multi_label and len({t[0] for t in human.values()}) < 2:
            raise ModelError(
                f"every tagged frame says {self.classes[next(iter(human.values()))[0]]!r}: tag "
                "at least one frame of another class so the model can tell classes apart")
        model = self._fit(sorted(human), human, None, progress=progress)
        local = []
        for start, end in self.pieces() if self.settings.pieces > 1 else ():
            mine = [f for f in sorted(human) if start <= f <= end]
            if self.multi_label or len({human[f][0] for f in mine}) >= 2:
                local.append((start, end, self._fit(mine, human, (start, end),
                                                    progress=progress)))
        return PiecewiseTagModel(model, local) if local else model

    def _fit(self, frames: list[int], human: Mapping[int, tuple[int, ...]],
             piece: tuple[int, int] | None, *, progress: bool) -> Any:
        model = self.trainer([self.frames[f] for f in frames],
                             self._tag_matrix([human[f] for f in frames]),
                             self._model_settings(), progress=progress)
        self.store.save_model(config={"kind": "tags", **self._model_settings()},
                              weights=model.to_bytes(), train_s=model.info.get("train_s"),
                              n_labels=len(frames), segment=piece)
        return model

    def pieces(self) -> list[tuple[int, int]]:
        """``(start, end)`` of each piece (``settings.pieces`` runs of whole segments, of
        about equal length) that may get a local model."""
        target = self.n_frames / self.settings.pieces
        out: list[tuple[int, int]] = []
        start = 0
        for seg in self.segments():
            if seg.end + 1 - start >= target * 0.999 or seg.end == self.n_frames - 1:
                out.append((start, seg.end))
                start = seg.end + 1
        return out

    def predict(self, model: Any, *, progress: bool = True) -> dict[str, np.ndarray]:
        """Classify every frame, smooth in time, cap and calibrate; returns the arrays (not yet
        stored: :meth:`step` stores them with the new iteration)."""
        from tqdm.auto import tqdm

        with tqdm(total=self.n_frames, desc="tag frames", unit="frame", disable=not progress,
                  leave=False) as bar:
            probs = model.probabilities(self._frames_at(getattr(model, "size", None)),
                                        progress=bar.update)
        return self.label_from(probs)

    def _frames_at(self, size: tuple[int, int] | None) -> Iterable[np.ndarray]:
        """Every frame, at the model's input ``size`` when it has one: decoded and shrunk once
        per session and kept (while the clip fits in ``SMALL_FRAMES_BYTES``), so a later
        iteration pays only for the network."""
        if size is None:
            return (self.frames[i] for i in range(self.n_frames))
        from microlab.model.classifier import resize_for_model  # torch: loaded on first use

        size = (int(size[0]), int(size[1]))
        if size not in self._small:
            if self.n_frames * size[0] * size[1] * 3 > SMALL_FRAMES_BYTES:
                return (resize_for_model(self.frames[i], size) for i in range(self.n_frames))
            self._small = {size: np.stack([resize_for_model(self.frames[i], size)
                                           for i in range(self.n_frames)])}
        return iter(self._small[size])

    def label_from(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Tags, confidence and evidence kinds of every frame from classifier probabilities
        ``(n, classes)`` and the human tags (the part of :meth:`predict` after the model)."""
        probs = np.asarray(probs, float)
        n, k = self.n_frames, len(self.classes)
        if probs.shape != (n, k):
            raise ModelError(f"the model gave probabilities of shape {probs.shape}; expected "
                             f"({n}, {k})")
        human = self.human_tags()
        cuts = self.cuts()
        if self.multi_label:
            tags, post = smooth_multi(probs, cuts, human, self.settings.smoothing)
            confidence = np.min(np.maximum(post, 1 - post), axis=1)
        else:
            fixed = {f: t[0] for f, t in human.items()}
            tags, post = smooth_single(probs, cuts, fixed, self.settings.smoothing)
            confidence = post[np.arange(n), tags]
        kinds = evidence_kinds(tags, cuts, human)
        # A tag that no person's tag reaches is the model's alone: cap it by how often the
        # model was right on such tags when a person checked (the lower end of the 95%
        # interval; 0 while unchecked).
        right, checked = self._model_record()
        cap = wilson_interval(right, checked)[0]
        capped = np.where(kinds == MODEL, np.minimum(confidence, cap), confidence)
        calibration = self.calibration()
        calibrated = calibration.apply(capped, kinds) if calibration.n_answers else capped
        human_mask = np.zeros(n, bool)
        human_mask[list(human)] = True
        calibrated[human_mask] = 1.0
        return {"probs": probs, "posterior": post, "tags": tags, "raw_confidence": confidence,
                "capped_confidence": capped, "confidence": calibrated, "kinds": kinds,
                "human": human_mask, "untagged_shot_cap": np.asarray(cap)}

    def _answers(self, *, before: int | None = None) -> list[tuple[dict[str, np.ndarray], int,
                                                                   TagRecord]]:
        """``(prediction on show, frame, first answer)`` for every frame answered after a
        prediction (the held-out evidence: the model had not seen these tags)."""
        first: dict[int, TagRecord] = {}
        for r in self.tag_log():
            # Imported tags answer no prediction: they are no evidence of how right it was.
            if r.kind not in ("skip", "import") and r.frame not in first:
                first[r.frame] = r
        out = []
        cache: dict[int, dict[str, np.ndarray] | None] = {}
        for frame, r in first.items():
            if r.iteration < 1 or (before is not None and r.iteration >= before):
                continue
            if r.iteration not in cache:
                cache[r.iteration] = self.store.load_arrays(r.iteration, "tags")
            arrays = cache[r.iteration]
            if arrays is not None:
                out.append((arrays, frame, r))
        return out

    def _right(self, arrays: Mapping[str, np.ndarray], frame: int, record: TagRecord) -> bool:
        row = arrays["tags"][frame]
        shown = (int(row),) if row.ndim == 0 else tuple(int(c) for c in np.flatnonzero(row))
        return shown == tuple(record.classes)

    def _model_record(self) -> tuple[int, int]:
        """``(right, checked)``: the answers to tags that rested on the model alone."""
        right = checked = 0
        for arrays, frame, record in self._answers():
            if str(arrays["kinds"][frame]) == MODEL:
                checked += 1
                right += self._right(arrays, frame, record)
        return right, checked

    def calibration(self, *, before: int | None = None) -> Calibration:
        """The map from capped confidence to the share a person found right, fitted on the
        answers given to earlier predictions (held out from the model that made them)."""
        answers = self._answers(before=before)
        conf = [float(a["capped_confidence"][f]) for a, f, _ in answers]
        kinds = [str(a["kinds"][f]) for a, f, _ in answers]
        ok = [self._right(a, f, r) for a, f, r in answers]
        return Calibration.fit(np.asarray(conf), kinds, np.asarray(ok, bool))

    def step(self, *, progress: bool = True) -> TagIterationReport:
        """Train, tag every frame, and open the next iteration (its review batch)."""
        t0 = time.perf_counter()
        model = self.train(progress=progress)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        arrays = self.predict(model, progress=progress)
        predict_s = time.perf_counter() - t1
        coverage = float((arrays["confidence"] >= self.settings.confident).mean())
        machine = ~arrays["human"]
        confident = machine & (arrays["confidence"] >= self.settings.confident)
        expected = float(arrays["confidence"][confident].mean()) if confident.any() else None
        calibration = self.calibration()
        stats = {"coverage": coverage, "expected_confident_right": expected,
                 "answers": calibration.n_answers,
                 "confident_checked": list(calibration.checked(self.settings.confident))}
        n_models = 1 + len(getattr(model, "local", ()))
        versions = [m["version"] for m in self.store.models()[-n_models:]]
        iteration = self.store.start_iteration(model_versions=versions,
                                               train_s=train_s, predict_s=predict_s, stats=stats)
        self.store.save_arrays(iteration, "tags", arrays)
        return TagIterationReport(iteration, len(self.human_tags()), train_s, predict_s, coverage,
                                  expected, tuple(stats["confident_checked"]),
                                  calibration.n_answers, self.n_frames)

    def prediction(self, iteration: int | None = None) -> dict[str, np.ndarray] | None:
        """The arrays of the latest prediction (or of ``iteration``), ``None`` before any."""
        it = self.iteration if iteration is None else int(iteration)
        for i in range(it, 0, -1):
            arrays = self.store.load_arrays(i, "tags")
            if arrays is not None:
                return arrays
        return None

    def labels(self) -> TagLabels:
        """Every frame's tags now: human tags where given, else the latest prediction."""
        n, k = self.n_frames, len(self.classes)
        arrays = self.prediction()
        human = self.human_tags()
        if arrays is None:
            tags = np.zeros((n, k), bool) if self.multi_label else np.full(n, -1)
            confidence = np.zeros(n)
            kinds = ["none"] * n
        else:
            tags = arrays["tags"].copy()
            confidence = arrays["confidence"].astype(float).copy()
            kinds = [str(s) for s in arrays["kinds"]]
        mask = np.zeros(n, bool)
        for f, t in human.items():
            mask[f] = True
            confidence[f] = 1.0
            kinds[f] = "human"
            if self.multi_label:
                tags[f] = False
                tags[f, list(t)] = True
            else:
                tags[f] = t[0]
        return TagLabels(tags, confidence, mask, tuple(kinds), self.iteration)

    def segment_verdicts(self, *, coverage_target: float = 0.95) -> list[SegmentVerdict]:
        """The stopping rule of :mod:`microlab.stopping` for each segment's tags: ``"done"``
        when nearly all its frames are tagged by a person or confidently, and the last frames a
        person answered there after a prediction were all accepted as shown; ``"check"`` when
        covered but nobody has answered a prediction there yet (coverage alone is the model's
        opinion of itself); ``"continue"`` or ``"label"`` otherwise."""
        labels = self.labels()
        covered = labels.confidence >= self.settings.confident
        segments = [(s.start, s.end) for s in self.segments()]
        reviews: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for r in self.tag_log():
            if r.iteration >= 1 and r.kind in ("tag", "accept"):
                reviews[r.frame][r.iteration] += r.cost
        return verdicts_from_reviews(
            segments, [float(covered[a:b + 1].mean()) for a, b in segments],
            [int(labels.human[a:b + 1].sum()) for a, b in segments], reviews, self.iteration,
            coverage_target=coverage_target)

    def review_queue(self, n: int | None = None) -> list[ReviewItem]:
        """The frames most worth a look: doubtful tags first, one per untagged segment, then a
        few confident ones at random (spot checks: they keep "confident" honest)."""
        arrays = self.prediction()
        if arrays is None:
            raise StateError("nothing predicted yet: call step() first")
        n = self.settings.batch_size(self.n_frames) if n is None else int(n)
        labels = self.labels()
        # Capped tags tie (every unchecked model tag is capped alike): the model's own
        # certainty, smoothed, orders them.
        doubt = 1.0 - (labels.confidence + arrays["raw_confidence"]) / 2
        reasons = [f"confidence {c:.2f}" for c in labels.confidence]
        # A model run inside a shot a person tagged differently: one of them is wrong.
        shot = np.cumsum(np.isin(np.arange(self.n_frames), self.cuts()))
        tagged_shots = {int(shot[f]) for f in np.flatnonzero(arrays["human"])}
        clash = (np.asarray(labels.kinds) == MODEL) & np.isin(shot, sorted(tagged_shots))
        doubt = np.where(clash, np.maximum(doubt, 0.9), doubt)
        raw = arrays["probs"]
        disagree = (np.argmax(raw, axis=1) != labels.tags if not self.multi_label
                    else np.any((raw >= 0.5) != labels.tags, axis=1))
        doubt = np.where(disagree, np.maximum(doubt, 0.5 + doubt / 2), doubt)
        for i in np.flatnonzero(disagree):
            reasons[i] = "the frame's own prediction differs from its smoothed tag"
        for i in np.flatnonzero(clash):
            reasons[i] = "differs from the tag a person gave in this shot"
        doubt[labels.human] = 0.0
        viewed = {r.frame for r in self.tag_log() if r.iteration == self.iteration}
        excluded = sorted(set(np.flatnonzero(labels.human).tolist()) | viewed)
        # A tag that changes inside a shot splits it: each side is its own claim to check.
        rows = labels.tags.reshape(self.n_frames, -1)
        changes = np.flatnonzero(np.any(rows[1:] != rows[:-1], axis=1)) + 1
        segments = split_at(self.segments(), changes)
        items = self.ranker(doubt, reasons, segments, excluded, n=n, kinds=list(labels.kinds),
                            spot_checks=self.settings.spot_checks, seed=self.iteration)
        return [item for item in items if item.frame not in viewed]


__all__ = ["CONFIDENT", "KINDS", "TagIterationReport", "TagLabels", "TagProject", "TagSettings"]
