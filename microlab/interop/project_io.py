"""A project's labels in and out: export a project, import a label file into one.

:func:`labels_from_project` turns a project into a :class:`~microlab.interop.labels.LabelSet`
(its human-verified frames, optionally confident machine boxes too); :func:`apply_labels`
writes a label set into a project as human labels, in one transaction.  :func:`export_project`
and :func:`import_labels` add the format (through :mod:`microlab.interop.registry`) and are
what ``Project.export`` and ``Project.import_labels`` call.

>>> export_project(project, "coco", "labels.json")
>>> import_labels(project, "otb", "SEQ_DIR/groundtruth.txt")
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from microlab.actions import Action, Import, ImportAbsent
from microlab.boxes import Detections, Source
from microlab.errors import AnnotationError, FormatError, SettingsError
from microlab.interop.checks import check_box, check_frame
from microlab.interop.labels import ClipInfo, LabelSet
from microlab.interop.registry import get_format, load_labels, save_labels

if TYPE_CHECKING:
    from microlab.project import Project

DEFAULT_MIN_SCORE = 0.5


def labels_from_project(
    project: Project, *, verified_only: bool = True, min_score: float = DEFAULT_MIN_SCORE
) -> LabelSet:
    """The project's labels as a :class:`LabelSet`, ready for any ``save_*`` function.

    Args:
        project: an open project.
        verified_only: only frames a human verified (drawn, corrected, accepted, imported or
            marked absent).  With ``False``, unverified frames also contribute their machine
            boxes whose score is at least ``min_score``; a machine "no box" is not exported as
            absent (only a human says an object is absent).
        min_score: threshold for machine boxes, in [0, 1].
    """
    if not 0.0 <= float(min_score) <= 1.0:
        raise SettingsError(f"min_score must be in [0, 1], but got {min_score!r}")
    classes = list(project.classes)
    frames: dict[int, Detections] = {}
    for frame, label in project.store.labels().items():
        boxes = label.detections()
        if label.verified:
            # A machine box a person settled is one a human accepted; a partly boxed frame's
            # other machine boxes are proposals (exported as machine boxes with the rest).
            human = Detections.from_records(label.human_boxes)
            sources = np.where(human.human_mask(), human.sources, Source.ACCEPTED)
            frames[frame] = replace(human, sources=sources)
            if not label.complete and not verified_only:
                proposals = boxes[len(human):]
                frames[frame] = Detections.merge(
                    [frames[frame], proposals[proposals.scores >= min_score]])
        elif not verified_only:
            kept = boxes[boxes.scores >= min_score]
            if len(kept):
                frames[frame] = kept
    return LabelSet(ClipInfo.from_frames(project.frames), classes, frames)


# ---------------------------------------------------------------------- labels -> project
@dataclass(frozen=True)
class ImportSummary:
    """What an import did."""

    source: str
    frames: int
    boxes: int
    absent_frames: int
    machine_boxes: int
    skipped_frames: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = (
            f"imported {self.boxes} boxes on {self.frames} frames "
            f"({self.absent_frames} marked absent) from {self.source}"
        )
        if self.machine_boxes:
            text += f", plus {self.machine_boxes} machine boxes as predictions"
        if self.skipped_frames:
            text += f"; kept the existing human labels of {len(self.skipped_frames)} frames"
        return text


def _class_ids(project: Project, labels: LabelSet, source: str) -> np.ndarray:
    """The project's class id of each of the label set's class ids (by name)."""
    if not labels.classes:
        return np.zeros(1, dtype=np.int64)  # unnamed classes: the project's first
    used = set(labels.class_names())
    unknown = sorted(used - set(project.classes))
    if unknown:
        raise AnnotationError(
            f"{source} uses classes {unknown} that project {project.path} does not have "
            f"(its classes are {project.classes}); import into a new project, which takes its "
            "classes from the file, or rename the classes in the file"
        )
    return np.array([project.classes.index(c) if c in project.classes else -1
                     for c in labels.classes], dtype=np.int64)


def apply_labels(project: Project, labels: LabelSet, *, source: str = "labels") -> ImportSummary:
    """Write a :class:`LabelSet` into a project as human labels, in one transaction.

    Human boxes become ``import`` actions (cost 0, the frame counts as verified), empty frames
    ``import_absent``; machine boxes (source model, tracker or interpolated) become predictions.
    Frames a human already verified keep their labels (they are listed in the summary).  If any
    box is invalid nothing is written.
    """
    clip = ClipInfo.from_frames(project.frames)
    if labels.clip.n_frames != clip.n_frames or tuple(labels.clip.size) != tuple(clip.size):
        raise FormatError(
            f"{source} describes {labels.clip.n_frames} frames of {labels.clip.size[0]}x"
            f"{labels.clip.size[1]}, but project {project.path} has {clip.n_frames} frames of "
            f"{clip.size[0]}x{clip.size[1]}; import it into a project of the same clip"
        )
    class_ids = _class_ids(project, labels, source)
    verified = set(project.store.verified_frames())
    skipped: list[int] = []
    n_frames = n_boxes = n_absent = n_machine = 0
    predictions: dict[str, dict[int, Detections]] = {}
    plan: list[tuple[int, list[Action]]] = []
    for frame, boxes in labels.sorted_frames():
        where = f"{source}, frame {frame}"
        check_frame(frame, clip, where)
        # Checked (and clipped to the image) again: a LabelSet may come from code, not a loader.
        xyxy = np.array([check_box(b, clip, where) for b in boxes.xyxy]).reshape(-1, 4)
        boxes = replace(boxes, xyxy=xyxy, class_ids=class_ids[boxes.class_ids], data={})
        human_mask = boxes.human_mask()
        human, machine = boxes[human_mask], boxes[~human_mask]
        if len(machine):
            # write_predictions takes one source per call; a frame's boxes share the first's.
            kind = machine.sources[0]
            scores = np.where(np.isnan(machine.scores), 1.0, machine.scores)
            predictions.setdefault(kind, {})[frame] = Detections(
                machine.xyxy, scores, machine.class_ids, sources=machine.sources,
                track_ids=machine.track_ids,
            )
            n_machine += len(machine)
        if len(human) or not len(boxes):
            if frame in verified:
                skipped.append(frame)
                continue
            # A file's object identities (MOT ids, CVAT tracks, COCO track_id) stay the
            # project's tracks.
            ops: list[Action] = [
                Import(b, int(c), None if t < 0 else int(t))
                for b, c, t in zip(human.xyxy, human.class_ids, human.track_ids)
            ] or [ImportAbsent()]
            plan.append((frame, ops))
            n_frames += 1
            n_boxes += len(human)
            n_absent += not len(human)
    store = project.store
    with store.transaction():
        for frame, ops in plan:
            store.apply_actions(frame, ops)
        for kind, preds in predictions.items():
            store.write_predictions(preds, source=kind)
    return ImportSummary(source, n_frames, n_boxes, n_absent, n_machine, tuple(skipped))


def export_project(
    project: Project,
    fmt: str,
    path: str | Path,
    *,
    verified_only: bool = True,
    min_score: float = DEFAULT_MIN_SCORE,
) -> Path:
    """Write a project's labels in format ``fmt`` at ``path``; see :func:`labels_from_project`."""
    spec = get_format(fmt)
    labels = labels_from_project(project, verified_only=verified_only, min_score=min_score)
    options = dict(spec.clip_options(project.frames)) if spec.clip_options else {}
    return save_labels(labels, spec, path, **options)


def import_labels(project: Project, fmt: str, path: str | Path) -> ImportSummary:
    """Read a label file and add it to ``project`` as human labels (one transaction)."""
    labels = load_labels(fmt, path, ClipInfo.from_frames(project.frames))
    return apply_labels(project, labels, source=str(path))
