"""Project: one clip, its store, and the verbs a person (or a simulated one) uses on it.

>>> project = Project.open("clip.mlab", video="clip.mp4")     # creates the project file
>>> project.draw_box(0, (10, 20, 110, 220))                   # committed before it returns
>>> project.train(); project.predict()                        # a micro-model labels every frame
>>> project.label(57).boxes                                   # read the labels back

Layering: this module sits above the engine (:mod:`~microlab.loop`, :mod:`~microlab.metrics`,
:mod:`~microlab.interop`), which works on any object with a project's attributes and names
``Project`` only for type checkers; the widgets and the CLI sit above this module.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from microlab import interop, metrics
from microlab.actions import Accept, Action, Correct, Delete, Draw, MarkAbsent, MarkComplete, Skip
from microlab.boxes import Detections, box_iou, class_index, validate_xyxy
from microlab.errors import AnnotationError, FormatError, StoreError
from microlab.frames import FrameSource, open_frames
from microlab.interop.labels import ClipInfo
from microlab.interop.project_io import ImportSummary
from microlab.sampling import ReviewItem
from microlab.segments import Segment
from microlab.store import ACTION_COSTS, ActionRecord, BoxRecord, FrameLabel, Store

if TYPE_CHECKING:
    from microlab.loop import IterationReport, Loop, LoopSettings, LoopState


def _loop() -> ModuleType:
    """The loop module, imported on first use: it loads torch, which ``import microlab`` (and the
    spline lesson, the CLI's ``--help``) must not wait for."""
    from microlab import loop

    return loop


BoxInput = Sequence[float] | np.ndarray


def _track(track: object) -> int | None:
    """A track id as given by a person: a whole number >= 0, or None."""
    if track is None:
        return None
    if isinstance(track, bool) or not isinstance(track, (int, np.integer)) or int(track) < 0:
        raise AnnotationError(f"a track is a whole number >= 0 naming one object, but got "
                              f"{track!r}")
    return int(track)


@dataclass(frozen=True)
class SubmitResult:
    """What one submitted frame cost: actions by kind, and the new box ids."""

    frame: int
    kinds: tuple[str, ...]
    box_ids: tuple[int, ...]

    @property
    def actions(self) -> int:
        return sum(ACTION_COSTS[k] for k in self.kinds)


class Project:
    """A clip under annotation.  Open with :meth:`Project.open`."""

    def __init__(self, store: Store, frames: FrameSource) -> None:
        self.store = store
        self.frames = frames
        meta = store.meta
        self.classes: list[str] = list(meta["classes"])
        self._loop: Loop | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        video: str | os.PathLike[str] | None = None,
        *,
        classes: Sequence[str] = ("object",),
    ) -> Project:
        """Open a project file, creating it for ``video`` (a video file or a frame folder) if new.

        Args:
            path: the project file (by convention ``something.mlab``).
            video: the clip; needed when the project is new or its clip has moved.
            classes: object classes of a new project.
        """
        path = Path(path).expanduser()
        if path.exists():
            store = Store.open(path)
            try:
                return cls._open_existing(store, path, video)
            except BaseException:
                store.close()  # a refused open must not leave the project file held open
                raise
        if video is None:
            raise StoreError(
                f"project {path} does not exist yet; pass video=PATH (a video file or a folder of "
                "frames) to create it"
            )
        # One name is one class: list("person") would silently make six one-letter classes.
        classes = [classes] if isinstance(classes, str) else list(classes)
        source = Path(video).expanduser()
        frames = open_frames(source)
        if not classes or len(set(classes)) != len(classes):
            raise AnnotationError("classes must be distinct names, e.g. ['object'], "
                                  f"but got {list(classes)}")
        store = Store.create(path, {
            "frames_path": str(source.resolve()),
            "frames_path_relative": os.path.relpath(source.resolve(), path.resolve().parent),
            "n_frames": len(frames),
            "frame_size": list(frames.size),
            "fps": frames.fps,
            "classes": list(classes),
        })
        return cls(store, frames)

    @classmethod
    def _open_existing(cls, store: Store, path: Path,
                       video: str | os.PathLike[str] | None) -> Project:
        meta = store.meta
        if meta.get("task", "detect") != "detect":
            raise StoreError(f"{path} is a frame classification project; open it with "
                             "microlab.TagProject.open")
        source = Path(video).expanduser() if video is not None else _stored_frames_path(path, meta)
        frames = open_frames(source)
        if len(frames) != meta["n_frames"] or list(frames.size) != list(meta["frame_size"]):
            raise StoreError(
                f"{source} has {len(frames)} frames of "
                f"{frames.size[0]}x{frames.size[1]}, but project {path} was made for "
                f"{meta['n_frames']} frames of {meta['frame_size'][0]}x{meta['frame_size'][1]}; "
                "open it with the clip it was made for"
            )
        if video is not None and str(source.resolve()) != meta["frames_path"]:
            store.set_meta("frames_path", str(source.resolve()))
            store.set_meta("frames_path_relative",
                           os.path.relpath(source.resolve(), path.resolve().parent))
        return cls(store, frames)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        totals = self.store.action_totals()
        return (
            f"Project({str(self.store.path)!r}, frames={self.n_frames}, size={self.frame_size}, "
            f"iteration={self.iteration}, human_frames={len(self.human_frames())}, "
            f"actions={totals['actions']})"
        )

    # ------------------------------------------------------------------ clip facts
    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.frames.size

    @property
    def iteration(self) -> int:
        return self.store.iteration

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an RGB ``uint8`` array."""
        return self.frames[index]

    def add_class(self, name: str) -> int:
        """Add an object class (saved in the project at once); returns its index.  The next
        model trained learns it; boxes already drawn keep their classes."""
        if not isinstance(name, str) or not name.strip():
            raise AnnotationError(f"a class is a non-empty name, but got {name!r}")
        if name in self.classes:
            raise AnnotationError(f"class {name!r} exists already (classes: {self.classes})")
        self.store.set_meta("classes", [*self.classes, name])
        self.classes = list(self.store.meta["classes"])
        return len(self.classes) - 1

    def class_id(self, label: str | int) -> int:
        """The index of a class given by name or index (see :func:`~microlab.boxes.class_index`)."""
        return class_index(label, self.classes)

    def _box(self, xyxy: BoxInput) -> list[float]:
        return validate_xyxy(xyxy, image_size=self.frame_size).tolist()

    # ------------------------------------------------------------------ human actions
    def draw_box(self, frame: int, xyxy: BoxInput, *, label: str | int = 0,
                 track: int | None = None) -> int:
        """Record a box a human drew (1 action); returns its id.

        ``track`` names the object when a clip has several (a new number for a new object, the
        same number for the same object in every frame); one track has one box per frame.
        """
        op = Draw(self._box(xyxy), self.class_id(label), _track(track))
        return self.store.apply_actions(frame, [op])[0]

    def correct_box(self, box_id: int, xyxy: BoxInput | None = None, *,
                    label: str | int | None = None, track: int | None = None) -> int:
        """Replace a box (a model's or a human's) with a corrected one (1 action): its
        geometry (``xyxy``; ``None`` keeps it), class or track (an identity switch fixed);
        returns the new id."""
        old = self.store.box(box_id)
        box = old.xyxy if xyxy is None else self._box(xyxy)
        op = Correct(box_id, box, None if label is None else self.class_id(label), _track(track))
        return self.store.apply_actions(old.frame, [op])[0]

    def delete_box(self, box_id: int) -> None:
        """Delete a false positive or a wrong human box (1 action)."""
        old = self.store.box(box_id)
        self.store.apply_actions(old.frame, [Delete(box_id)])

    def mark_absent(self, frame: int) -> None:
        """Say the object is not in this frame (1 action)."""
        self.store.apply_actions(frame, [MarkAbsent()])

    def mark_left(self, frame: int, track: int) -> None:
        """Say one object (``track``) has left the view in this frame (1 action); the frame's
        other boxes stay."""
        self.store.apply_actions(frame, [MarkAbsent(_track(track))])

    def accept(self, frame: int) -> None:
        """Accept the frame's current machine label as correct (0 actions;
        the frame counts as viewed)."""
        label = self.label(frame)
        self.store.apply_actions(frame, [Accept(tuple(b.id for b in label.boxes))])

    def mark_partial(self, frame: int) -> None:
        """Say a frame is only partly boxed: its boxes are right, but not every object of the
        classes is boxed (0 actions).  The model learns from these boxes without taking the rest
        of the frame for background; its boxes for the other objects show in the frame's label
        and in review until the frame is accepted or :meth:`mark_complete`."""
        self.store.apply_actions(frame, [MarkComplete(False)])

    def mark_complete(self, frame: int) -> None:
        """Say every object of the classes is boxed on this frame (0 actions; the default for
        a frame a person boxed).  The model's other boxes there are dropped from its label."""
        self.store.apply_actions(frame, [MarkComplete(True)])

    def partial_frames(self) -> list[int]:
        """Frames a person boxed only partly (:meth:`mark_partial`)."""
        return self.store.partial_frames()

    def skip(self, frame: int) -> None:
        """Look at a frame and move on without a verdict (0 actions, counts as viewed)."""
        self.store.apply_actions(frame, [Skip()])

    def submit(self, frame: int, boxes: Iterable[BoxInput | Mapping[str, Any]], *,
               complete: bool = True) -> SubmitResult:
        """Record the boxes a person left on a frame, as the fewest actions that explain them.

        The boxes shown (the frame's current label) are matched to the submitted ones: an
        unchanged machine box is accepted (0), a moved or re-classed box is a correction (1), a
        new box is a draw (1), a shown box with no match is a delete (1).  Submitting no boxes
        where none were shown accepts a predicted "absent" (0) or marks the frame absent (1);
        where several were shown it marks the frame absent (1).
        Everything is committed in one transaction before this returns.

        Args:
            frame: frame index.
            boxes: ``xyxy`` sequences, or dicts with ``xyxy`` and optional ``label`` and
                ``track`` (the object's identity; a changed track is a correction, 1 action;
                none keeps the shown box's track, or gives a new box none).
            complete: every object of the frame is among ``boxes`` (the default); ``False``
                marks the frame partly boxed (see :meth:`mark_partial`).
        """
        if isinstance(boxes, (str, bytes, Mapping)) or not isinstance(boxes, Iterable):
            raise AnnotationError(
                f"boxes must be a list of boxes (xyxy sequences or dicts), but got {boxes!r}; "
                "submit [] for a frame without the object"
            )
        wanted: list[tuple[list[float], int, int | None]] = []
        for item in boxes:
            if isinstance(item, Mapping):
                if "xyxy" not in item:
                    raise AnnotationError("a submitted box dict needs an 'xyxy' entry, "
                                          f"but got {dict(item)!r}")
                wanted.append((self._box(item["xyxy"]), self.class_id(item.get("label", 0)),
                               _track(item.get("track"))))
            else:
                wanted.append((self._box(item), 0, None))
        tracks = [w[2] for w in wanted if w[2] is not None]
        twice = sorted({t for t in tracks if tracks.count(t) > 1})
        if twice:
            raise AnnotationError(f"track {twice[0]} is given to several boxes of frame {frame}; "
                                  "one object has one box per frame: give the others another "
                                  "track (or none)")
        label = self.label(frame)
        shown = list(label.boxes)
        ops = plan_submit(shown, wanted, verified=label.verified,
                          predicted=self.store.iteration > 0 or bool(shown))
        # Said after the plan: its accept (which completes a frame) must not undo a "partly".
        if (wanted and not complete) or (complete and not label.complete):
            ops = [op for op in ops if not isinstance(op, Skip)] + [MarkComplete(complete)]
        new_ids = self.store.apply_actions(frame, ops)
        return SubmitResult(frame, tuple(op.kind for op in ops), tuple(new_ids))

    # ------------------------------------------------------------------ reading
    def label(self, frame: int) -> FrameLabel:
        """The current label of one frame (human-verified, or the latest machine boxes)."""
        return self.store.labels([frame])[frame]

    def labels(self) -> dict[int, FrameLabel]:
        return self.store.labels()

    def human_frames(self) -> list[int]:
        """Frames a human has verified (drawn, corrected, accepted or marked absent)."""
        return self.store.verified_frames()

    def viewed_frames(self) -> list[int]:
        """Frames a person has looked at through the project (any recorded answer,
        skips included)."""
        return sorted({a.frame for a in self.store.actions() if a.kind != "import"})

    def has_boxes(self) -> bool:
        """True once a human has drawn (or imported, or accepted) at least one box."""
        return any(len(d) for d in self.human_labels().values())

    def actions(self, iteration: int | None = None) -> list[ActionRecord]:
        return self.store.actions(iteration)

    def action_totals(self) -> dict[str, int]:
        """``{"actions": human actions so far, "frames_viewed": frames looked at}``."""
        return self.store.action_totals()

    def human_labels(self) -> dict[int, Detections]:
        """The human-verified frames and their boxes (empty = object absent; a partly boxed
        frame gives only the boxes a person made or accepted)."""
        return {f: Detections.from_records(lab.human_boxes)
                for f, lab in self.store.labels(self.human_frames()).items()}

    # ------------------------------------------------------------------ the loop
    @property
    def loop(self) -> Loop:
        """The :class:`~microlab.loop.Loop` behind train/predict/step/review_queue, made on
        first use with default parts.  Assign one to swap parts, e.g.
        ``project.loop = Loop(project.settings, trainer=my_trainer)``."""
        if self._loop is None:
            self._loop = _loop().Loop(_loop().LoopSettings())
        return self._loop

    @loop.setter
    def loop(self, value: Loop) -> None:
        self._loop = value

    @property
    def loop_state(self) -> LoopState:
        """Caches of the active-learning loop for this session (signatures, tracker runs,
        models)."""
        return self.loop.state(self)

    @property
    def settings(self) -> LoopSettings:
        """The :class:`~microlab.loop.LoopSettings` used by train/predict/step/review_queue
        (the loop's settings)."""
        loop = self.loop
        if loop.settings is None:
            loop.settings = _loop().LoopSettings()  # kept, so that changing a field sticks
        return loop.settings

    @settings.setter
    def settings(self, value: LoopSettings) -> None:
        self.loop.settings = value

    def initial_frames(self, k: int = 5, *, progress: bool = False) -> list[int]:
        """The ``k`` frames worth labelling first: spread over the clip and its appearance."""
        return self.loop.initial_frames(self, k, progress=progress)

    def search_frames(self, k: int = 5) -> list[int]:
        """``k`` frames from shots nobody has looked at, least like the frames seen so far.

        For when every frame labelled so far was "absent": the object is elsewhere.  The
        Annotator proposes these on its own; the widgets' scrubber reaches any other frame.
        """
        return self.loop.search_frames(self, k)

    def train(self, *, progress: bool = True) -> list[int]:
        """Train the micro-model(s) on the human frames (fastai, with a progress bar).

        Returns the new model versions.  Call :meth:`predict` next (or :meth:`step` for both).
        """
        return self.loop.train(self, progress=progress).versions

    def predict(self, *, progress: bool = True) -> IterationReport:
        """Label every frame with the latest micro-model(s), store the labels and open the next
        iteration.

        Returns an :class:`~microlab.loop.IterationReport` (coverage per segment, timings).
        """
        return self.loop.predict(self, progress=progress)

    def step(self, *, progress: bool = True) -> IterationReport:
        """One iteration of the loop: :meth:`train` then :meth:`predict`."""
        return self.loop.step(self, progress=progress)

    def review_queue(self, n: int | None = None) -> list[ReviewItem]:
        """The frames most worth a human look now (:class:`~microlab.sampling.ReviewItem`)."""
        return self.loop.review_queue(self, n)

    def frame_confidence(self) -> np.ndarray:
        """Confidence in [0, 1] of every frame's current label (1 = human)."""
        return self.loop.frame_confidence(self)

    def segments(self) -> list[Segment]:
        """The clip's segments (the spline pieces) under the current settings."""
        return self.loop_state.segments(self.settings)

    def iteration_history(self) -> list[dict[str, Any]]:
        """Per iteration: actions and frames viewed so far, timings, coverage per segment."""
        return metrics.iteration_history(self)

    # ------------------------------------------------------------------ interop (export / import)
    def export(
        self,
        fmt: str,
        path: str | os.PathLike[str],
        *,
        verified_only: bool = True,
        min_score: float = 0.5,
    ) -> Path:
        """Write the labels as ``coco``, ``yolo``, ``voc``, ``cvat_video``, ``mot``,
        ``labelstudio``, ``otb`` or a format of your own (:func:`microlab.interop.register_format`).

        Args:
            fmt: the format (see :mod:`microlab.interop` for what each one keeps).
            path: the file or folder to write.
            verified_only: only human-verified frames; ``False`` adds the machine boxes of
                the other frames whose score is at least ``min_score``.
            min_score: threshold for machine boxes.
        """
        return interop.export_project(self, fmt, path, verified_only=verified_only,
                                      min_score=min_score)

    def import_labels(self, fmt: str, path: str | os.PathLike[str]) -> ImportSummary:
        """Add the labels of a file as human labels, all or nothing."""
        return interop.import_labels(self, fmt, path)


def plan_submit(
    shown: Sequence[BoxRecord],
    wanted: Sequence[tuple[list[float], int] | tuple[list[float], int, int | None]],
    *,
    verified: bool,
    predicted: bool,
    tolerance_px: float = 0.5,
) -> list[Action]:
    """The actions that turn the shown boxes into the wanted ones (see :meth:`Project.submit`);
    a wanted box is ``(xyxy, class_id)`` or ``(xyxy, class_id, track)``, where a track of
    ``None`` keeps the shown box's."""
    from scipy.optimize import linear_sum_assignment

    wanted = [(w[0], w[1], w[2] if len(w) > 2 else None) for w in wanted]
    ops: list[Action] = []
    if not wanted and not shown:
        if verified:
            return [Skip()]
        return [Accept()] if predicted else [MarkAbsent()]
    if not wanted and len(shown) > 1:
        # Clearing a frame of several boxes is one "absent", not one delete per box.
        return [MarkAbsent()]
    pairs: list[tuple[int, int]] = []
    if shown and wanted:
        iou = box_iou(np.array([b.xyxy for b in shown]), np.array([w[0] for w in wanted]))
        same_class = np.array([[b.class_id == w[1] for w in wanted] for b in shown])
        same_track = np.array([[w[2] is not None and b.track_id == w[2] for w in wanted]
                               for b in shown])
        # Any two boxes of one class may pair (a moved box is one correction, not delete + draw);
        # a box of the same named track first, then overlapping ones.
        cost = np.where(same_class, 1.0 - iou, 2.0 - iou) - np.where(same_track, 1.0, 0.0)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols)]
    matched_shown = {r for r, _ in pairs}
    matched_wanted = {c for _, c in pairs}
    accepted: list[int] = []
    for r, c in pairs:
        box, (xyxy, cls, track) = shown[r], wanted[c]
        retracked = track is not None and box.track_id != track
        unchanged = (np.abs(np.asarray(box.xyxy) - np.asarray(xyxy)).max() <= tolerance_px
                     and box.class_id == cls and not retracked)
        if unchanged:
            accepted.append(box.id)
        else:
            ops.append(Correct(box.id, xyxy, cls, track if retracked else None))
    for r, box in enumerate(shown):
        if r not in matched_shown:
            ops.append(Delete(box.id))
    for c, (xyxy, cls, track) in enumerate(wanted):
        if c not in matched_wanted:
            ops.append(Draw(xyxy, cls, track))
    if accepted and not all(b.by_person for b in shown if b.id in accepted):
        ops.insert(0, Accept(tuple(accepted)))
    if not ops:
        ops.append(Skip() if verified else Accept(tuple(accepted)))
    return ops


def _stored_frames_path(project_path: Path, meta: Mapping[str, Any]) -> Path:
    """Where the clip is: the recorded absolute path, or the same place relative to the project."""
    absolute = Path(meta["frames_path"])
    if absolute.exists():
        return absolute
    relative = (project_path.resolve().parent / meta.get("frames_path_relative", "")).resolve()
    if meta.get("frames_path_relative") and relative.exists():
        return relative
    raise StoreError(
        f"the clip of project {project_path} is not at {absolute} any more; "
        f"open it with Project.open({str(project_path)!r}, video=NEW_PATH)"
    )


def import_into(
    project_path: str | os.PathLike[str],
    frames: str | os.PathLike[str] | None,
    fmt: str,
    labels_path: str | os.PathLike[str],
    *,
    classes: Iterable[str] | None = None,
) -> tuple[Project, ImportSummary]:
    """Like :func:`import_project`, also returning the :class:`~microlab.interop.ImportSummary`."""
    project_path = Path(project_path).expanduser()
    if project_path.exists():
        project = Project.open(project_path, video=frames)
        try:
            return project, project.import_labels(fmt, labels_path)
        except BaseException:
            project.close()
            raise
    if frames is None:
        raise FormatError(
            f"project {project_path} does not exist yet; give the clip (a video or a folder of "
            "frames) to create it"
        )
    # Read the file before creating anything, so a malformed file leaves no project behind.
    clip = ClipInfo.from_frames(open_frames(frames))
    labels = interop.load_labels(fmt, labels_path, clip)
    names = list(classes) if classes is not None else (labels.class_names() or ["object"])
    project = Project.open(project_path, video=frames, classes=names)
    try:
        summary = interop.apply_labels(project, labels, source=str(labels_path))
    except BaseException:
        project.close()
        for leftover in (project_path, Path(f"{project_path}-wal"), Path(f"{project_path}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    return project, summary


def import_project(
    project_path: str | os.PathLike[str],
    frames: str | os.PathLike[str] | None,
    fmt: str,
    labels_path: str | os.PathLike[str],
    *,
    classes: Iterable[str] | None = None,
) -> Project:
    """Import a label file into a project, creating the project for ``frames`` if it is new.

    Args:
        project_path: the project file (``something.mlab``).
        frames: the clip (video file or folder of frames); needed when the project is new.
        fmt: a format name (see :func:`microlab.interop.list_formats`).
        labels_path: the label file or folder.
        classes: classes of a new project; default the class names the file uses.

    Returns:
        The open project (close it when done).

    Example:
        >>> project = import_project("seq.mlab", "SEQ_DIR", "otb", "SEQ_DIR/groundtruth.txt")
    """
    return import_into(project_path, frames, fmt, labels_path, classes=classes)[0]
