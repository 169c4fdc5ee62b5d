"""The plain intermediate every format module reads and writes, and its bridge to a project.

A :class:`LabelSet` is what a label file holds, whatever its format: the clip it describes
(:class:`ClipInfo`: frame count, size, file names), its class names, and per labelled frame a
:class:`~microlab.boxes.Detections` (``xyxy`` in image pixels, ``class_ids`` into
``LabelSet.classes``, ``sources``, ``scores`` with NaN for "no score", ``track_ids``).  A frame
missing from ``LabelSet.frames`` is unlabelled; a frame mapped to no box is labelled "object
absent".

>>> labels = labels_from_project(project, verified_only=True)
>>> save_coco(labels, "labels.json")
>>> load_coco("labels.json", ClipInfo.from_frames(project.frames))
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

import numpy as np

from microlab.actions import Action, Import, ImportAbsent
from microlab.boxes import HUMAN_SOURCES, MACHINE_SOURCES, Detections, Source, validate_xyxy
from microlab.errors import AnnotationError, FormatError, SettingsError
from microlab.frames import FrameSource

if TYPE_CHECKING:
    from microlab.project import Project

#: Every source a label file may name (:class:`~microlab.boxes.Source` values).  Human ones
#: (:data:`~microlab.boxes.HUMAN_SOURCES`: drawn or corrected, imported, or a machine box a
#: human accepted) import as labels, as does a box whose file names no source; machine ones
#: (:data:`~microlab.boxes.MACHINE_SOURCES`) import as predictions.
ALL_SOURCES = tuple(s.value for s in (*HUMAN_SOURCES, *MACHINE_SOURCES))

DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class ClipInfo:
    """The clip a label file describes: frame count, ``(width, height)``, one file name per frame.

    Frames of a video have no file names; they get ``frame_000000.jpg``, ``frame_000001.jpg``...
    (the names CVAT and datumaro give video frames).
    """

    n_frames: int
    size: tuple[int, int]
    file_names: tuple[str, ...]
    name: str = "clip"
    fps: float = 30.0
    _by_name: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.file_names) != self.n_frames:
            raise SettingsError(
                f"ClipInfo needs one file name per frame: {self.n_frames} frames but "
                f"{len(self.file_names)} names"
            )
        lookup: dict[str, int] = {}
        for i, name in enumerate(self.file_names):
            for key in (name, PurePosixPath(name).stem):
                lookup.setdefault(key, i)
        object.__setattr__(self, "_by_name", lookup)

    @classmethod
    def from_frames(cls, frames: FrameSource, *, name: str | None = None) -> ClipInfo:
        """Describe an open clip (a video or an image folder)."""
        files = getattr(frames, "files", None)
        if files:
            names = tuple(Path(p).name for p in files)
        else:
            names = tuple(video_frame_name(i) for i in range(len(frames)))
        path = Path(frames.path)
        if name is None:
            name = path.parent.name if path.name == "img" else path.stem
        return cls(len(frames), tuple(frames.size), names, name=name or "clip",
                   fps=float(frames.fps))

    def frame_index(self, name: str) -> int | None:
        """The frame a file name refers to (full name, or stem), ignoring folders; else None."""
        base = PureWindowsPath(str(name).split("?")[-1].split("=")[-1]).name
        for key in (base, PurePosixPath(base).stem):
            if key in self._by_name:
                return self._by_name[key]
        return None

    def stem(self, frame: int) -> str:
        return PurePosixPath(self.file_names[frame]).stem

    def names_hint(self) -> str:
        """A short description of the frame names, for error messages."""
        if self.n_frames <= 3:
            return ", ".join(self.file_names)
        return f"{self.file_names[0]}, {self.file_names[1]} ... {self.file_names[-1]}"


def video_frame_name(index: int) -> str:
    return f"frame_{index:06d}.jpg"


def label_box(
    xyxy: Sequence[float],
    class_id: int = 0,
    *,
    source: Source | str = Source.HUMAN,
    score: float | None = None,
    track_id: int | None = None,
) -> Detections:
    """One box of a label file as a one-box :class:`~microlab.boxes.Detections` (a loader
    collects these per frame; :meth:`LabelSet.from_boxes` merges them)."""
    return Detections(
        np.asarray([xyxy], dtype=np.float64),
        scores=[np.nan if score is None else float(score)],
        class_ids=[int(class_id)],
        track_ids=[-1 if track_id is None else int(track_id)],
        sources=[source],
    )


def class_id_of(classes: list[str], name: str) -> int:
    """The index of class ``name`` in ``classes``, appending it when new (loaders grow their
    class list in order of first appearance)."""
    if name not in classes:
        classes.append(name)
    return classes.index(name)


def score_or_none(score: float) -> float | None:
    """A ``scores`` entry as a file writes it: NaN (no score) -> ``None``."""
    return None if math.isnan(score) else float(score)


@dataclass
class LabelSet:
    """Labels of one clip: ``frames`` maps a frame index to its boxes (no box = absent).

    ``classes`` names the boxes' ``class_ids``; it is empty when the file names no classes
    (OTB, YOLO without ``data.yaml``): every box is then class 0, the project's first class.
    """

    clip: ClipInfo
    classes: list[str]
    frames: dict[int, Detections] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_classes = max(1, len(self.classes))
        for frame, boxes in self.frames.items():
            if not isinstance(boxes, Detections):
                raise AnnotationError(
                    f"LabelSet.frames[{frame}] must be a Detections (boxes.Detections), but got "
                    f"{type(boxes).__name__}; build a frame's boxes with interop.label_box"
                )
            bad = (boxes.class_ids < 0) | (boxes.class_ids >= n_classes)
            if bad.any():
                raise AnnotationError(
                    f"LabelSet.frames[{frame}] has class id {int(boxes.class_ids[bad][0])}, but "
                    f"the label set's classes are {self.classes or '(unnamed: only class 0)'}"
                )

    @classmethod
    def from_boxes(
        cls, clip: ClipInfo, classes: list[str], frames: Mapping[int, Sequence[Detections]]
    ) -> LabelSet:
        """A label set from per-frame lists of boxes (e.g. of :func:`label_box`)."""
        return cls(clip, classes, {f: Detections.merge(list(b)) for f, b in frames.items()})

    @property
    def absent_frames(self) -> list[int]:
        return sorted(f for f, boxes in self.frames.items() if not len(boxes))

    @property
    def n_boxes(self) -> int:
        return sum(len(b) for b in self.frames.values())

    def class_name(self, class_id: int) -> str | None:
        """The name of class ``class_id``; ``None`` when the classes are unnamed."""
        return self.classes[int(class_id)] if self.classes else None

    def class_names(self) -> list[str]:
        """The classes the boxes use, in the label set's order (for a project made from a file)."""
        used = {int(c) for boxes in self.frames.values() for c in boxes.class_ids}
        return [c for i, c in enumerate(self.classes) if i in used]

    def sorted_frames(self) -> list[tuple[int, Detections]]:
        return sorted(self.frames.items(), key=lambda item: item[0])


# ---------------------------------------------------------------------- checks used by loaders
def check_box(xyxy: Sequence[float], clip: ClipInfo,
              where: str) -> tuple[float, float, float, float]:
    """Validate one box read from a file; raise :class:`FormatError` naming ``where``."""
    try:
        values = [float(v) for v in xyxy]
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: box coordinates must be numbers, "
                          f"but got {list(xyxy)!r}") from exc
    if any(math.isnan(v) for v in values):
        raise FormatError(f"{where}: box {values} has NaN coordinates")
    try:
        box = validate_xyxy(values, image_size=clip.size, min_size=1e-6)
    except AnnotationError as exc:
        raise FormatError(f"{where}: {exc}") from exc
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def check_frame(index: int, clip: ClipInfo, where: str, *, one_based: bool = False) -> int:
    """Validate a frame number read from a file; returns the 0-based index."""
    first = 1 if one_based else 0
    last = clip.n_frames - 1 + first
    if not first <= index <= last:
        raise FormatError(
            f"{where}: frame {index} is outside this clip, whose frames are numbered "
            f"{first}..{last} ({clip.n_frames} frames); is the file for another clip?"
        )
    return index - first


def frame_from_name(name: str, clip: ClipInfo, where: str) -> int:
    """The frame a file name in a label file refers to; raise naming ``where`` when unknown."""
    index = clip.frame_index(name)
    if index is None:
        raise FormatError(
            f"{where}: image {name!r} is not a frame of this clip (its frames are named "
            f"{clip.names_hint()}); import the labels with the clip they were made for"
        )
    return index


def check_source(value: object, where: str) -> str:
    text = str(value).strip().lower()
    if text not in ALL_SOURCES:
        raise FormatError(f"{where}: source must be one of {', '.join(ALL_SOURCES)}, "
                          f"but got {value!r}")
    return text


def check_score(value: object, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{where}: score must be a number in [0, 1], but got {value!r}") from exc
    if not 0.0 <= score <= 1.0:
        raise FormatError(f"{where}: score must be a number in [0, 1], but got {value!r}")
    return score


def fmt_number(value: float, digits: int = 3) -> str:
    """A coordinate as short text: ``12.5``, ``7``, never ``1e-05``."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def link_tracks(labels: LabelSet) -> dict[tuple[int, int], int]:
    """Give every box an object identity for track formats: ``(frame, box index) -> track id``.

    Boxes are linked per class from one labelled frame to the next by nearest centre (Hungarian
    matching), so a clip with one object per class gets one track per class.  Track ids are
    0-based, contiguous, in order of first appearance.
    """
    from scipy.optimize import linear_sum_assignment

    ids: dict[tuple[int, int], int] = {}
    next_id = 0
    last_centre: dict[int, dict[int, np.ndarray]] = {}
    for frame, boxes in labels.sorted_frames():
        by_class: dict[int, list[int]] = {}
        for i, class_id in enumerate(boxes.class_ids):
            by_class.setdefault(int(class_id), []).append(i)
        for class_id, indices in by_class.items():
            tracks = last_centre.setdefault(class_id, {})
            xyxy = boxes.xyxy[indices]
            centres = (xyxy[:, :2] + xyxy[:, 2:]) / 2
            assigned: dict[int, int] = {}
            if tracks:
                track_ids = list(tracks)
                previous = np.array([tracks[t] for t in track_ids])
                cost = np.linalg.norm(centres[:, None, :] - previous[None, :, :], axis=2)
                rows, cols = linear_sum_assignment(cost)
                assigned = {int(r): track_ids[int(c)] for r, c in zip(rows, cols)}
            for row, i in enumerate(indices):
                if row not in assigned:
                    assigned[row] = next_id
                    next_id += 1
                ids[(frame, i)] = assigned[row]
                tracks[assigned[row]] = centres[row]
    return ids


# ---------------------------------------------------------------------- project -> labels
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
            # A machine box on a verified frame is one a human accepted.
            sources = np.where(boxes.human_mask(), boxes.sources, Source.ACCEPTED)
            frames[frame] = replace(boxes, sources=sources)
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
                machine.xyxy, scores, machine.class_ids, sources=machine.sources
            )
            n_machine += len(machine)
        if len(human) or not len(boxes):
            if frame in verified:
                skipped.append(frame)
                continue
            ops: list[Action] = [
                Import(b, int(c)) for b, c in zip(human.xyxy, human.class_ids)
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


# ---------------------------------------------------------------------- the format registry
@dataclass(frozen=True)
class LabelFormat:
    """One label format: its module's ``save``/``load`` functions and what ``path`` names."""

    name: str
    description: str
    path_kind: str  # "file" or "folder"
    aliases: tuple[str, ...] = ()


FORMATS: dict[str, LabelFormat] = {
    f.name: f
    for f in (
        LabelFormat("coco", "COCO detection JSON (one file)", "file", ("coco_json",)),
        LabelFormat("yolo", "Ultralytics YOLO: data.yaml + labels/train/*.txt (a folder)", "folder",
                    ("ultralytics", "yolo_ultralytics")),
        LabelFormat("voc", "Pascal VOC XML: Annotations/*.xml + ImageSets (a folder)", "folder",
                    ("pascal_voc", "pascal")),
        LabelFormat("cvat_video", "CVAT for video 1.1 XML (one file)", "file",
                    ("cvat", "cvat_xml")),
        LabelFormat("mot", "MOT challenge gt/gt.txt + seqinfo.ini (a folder)", "folder",
                    ("mot_seq", "motchallenge")),
        LabelFormat("labelstudio", "Label Studio tasks JSON (one file)", "file",
                    ("label_studio", "ls")),
        LabelFormat("otb", "OTB groundtruth.txt, one x,y,w,h line per frame (one file)", "file",
                    ("groundtruth",)),
    )
}


def get_format(name: str) -> LabelFormat:
    """Look a format up by name or alias (case and ``-`` insensitive)."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    for fmt in FORMATS.values():
        if key == fmt.name or key in fmt.aliases:
            return fmt
    names = list(FORMATS) + [a for f in FORMATS.values() for a in f.aliases]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise FormatError(f"unknown label format {name!r}{hint} Known formats: {', '.join(FORMATS)}")


def _module(fmt: LabelFormat):
    import importlib

    return importlib.import_module(f"microlab.interop.{fmt.name}")


def save_labels(labels: LabelSet, fmt: str, path: str | Path, **options: object) -> Path:
    """Write ``labels`` with the ``save_<fmt>`` function of the format's module."""
    spec = get_format(fmt)
    return getattr(_module(spec), f"save_{spec.name}")(labels, path, **options)


def load_labels(fmt: str, path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a label file with the ``load_<fmt>`` function of the format's module."""
    spec = get_format(fmt)
    path = Path(path).expanduser()
    if not path.exists():
        raise FormatError(f"label {spec.path_kind} {path} does not exist; check the path")
    return getattr(_module(spec), f"load_{spec.name}")(path, clip)


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
    options: dict[str, object] = {}
    files = getattr(project.frames, "files", None)
    if spec.name == "yolo" and files:
        options["image_files"] = list(files)
    return save_labels(labels, spec.name, path, **options)


def import_labels(project: Project, fmt: str, path: str | Path) -> ImportSummary:
    """Read a label file and add it to ``project`` as human labels (one transaction)."""
    labels = load_labels(fmt, path, ClipInfo.from_frames(project.frames))
    return apply_labels(project, labels, source=str(path))
