"""The label set: the plain intermediate every format module reads and writes.

A :class:`LabelSet` is what a label file holds, whatever its format: the clip it describes
(:class:`ClipInfo`: frame count, size, file names), its class names, and per labelled frame a
:class:`~microlab.boxes.Detections` (``xyxy`` in image pixels, ``class_ids`` into
``LabelSet.classes``, ``sources``, ``scores`` with NaN for "no score", ``track_ids``).  A frame
missing from ``LabelSet.frames`` is unlabelled; a frame mapped to no box is labelled "object
absent".  The helpers below build one (:func:`label_box`, :func:`class_id_of`) and write one
(:func:`score_or_none`, :func:`fmt_number`, :func:`link_tracks`).

>>> clip = ClipInfo(2, (640, 480), ("a.jpg", "b.jpg"))
>>> labels = LabelSet(clip, ["cat"], {0: label_box((10, 20, 60, 90), 0), 1: Detections.empty()})
>>> labels.absent_frames
[1]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from microlab.boxes import HUMAN_SOURCES, MACHINE_SOURCES, Detections, Source
from microlab.errors import AnnotationError, SettingsError
from microlab.frames import FrameSource

#: Every source a label file may name (:class:`~microlab.boxes.Source` values).  Human ones
#: (:data:`~microlab.boxes.HUMAN_SOURCES`: drawn or corrected, imported, or a machine box a
#: human accepted) import as labels, as does a box whose file names no source; machine ones
#: (:data:`~microlab.boxes.MACHINE_SOURCES`) import as predictions.
ALL_SOURCES = tuple(s.value for s in (*HUMAN_SOURCES, *MACHINE_SOURCES))


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


def fmt_number(value: float, digits: int = 3) -> str:
    """A coordinate as short text: ``12.5``, ``7``, never ``1e-05``."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def link_tracks(labels: LabelSet) -> dict[tuple[int, int], int]:
    """Give every box an object identity for track formats: ``(frame, box index) -> track id``.

    Where every box already names its object (``track_ids >= 0``: a project with several
    objects, whose people gave the tracks), those identities are kept.  Otherwise boxes are
    linked per class from one labelled frame to the next by nearest centre (Hungarian
    matching), so a clip with one object per class gets one track per class.  Track ids are
    0-based, contiguous, in order of first appearance.
    """
    from scipy.optimize import linear_sum_assignment

    frames = labels.sorted_frames()
    if any(len(b) for _, b in frames) and all((b.track_ids >= 0).all() for _, b in frames):
        order: dict[int, int] = {}
        named: dict[tuple[int, int], int] = {}
        for frame, boxes in frames:
            for i, track in enumerate(boxes.track_ids):
                named[(frame, i)] = order.setdefault(int(track), len(order))
        return named
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


