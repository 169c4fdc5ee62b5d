"""Multi-object clips in the MOT layout: ``img/`` + ``gt.txt`` (+ ``classes.txt``).

``gt.txt`` has one row per box: ``frame,id,x,y,w,h,conf,class_id,visibility`` with 1-based
frames and class ids, pixel boxes from the top-left corner (a tenth column, MOT15's world
coordinate, is ignored).  Rows with ``conf`` 0 are "ignore" regions in the MOT challenge and
are left out.  ``classes.txt`` names the classes, one per line (class id k is line k); without
it every class id gets a generic name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microlab.boxes import Detections, xywh_to_xyxy
from microlab.errors import FormatError
from microlab.frames import ImageFolderFrames, open_frames

GT_FILE = "gt.txt"
CLASSES_FILE = "classes.txt"


@dataclass(frozen=True)
class MultiClip:
    """A clip with every object boxed: ``truth[i]`` holds frame ``i``'s boxes, each with its
    identity (``track_ids``) and class (``class_ids``, 0-based into ``classes``)."""

    name: str
    frames: ImageFolderFrames
    truth: tuple[Detections, ...]
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.truth)

    @property
    def identities(self) -> list[int]:
        """Every true identity, sorted."""
        return sorted({int(t) for d in self.truth for t in d.track_ids})

    @property
    def n_boxes(self) -> int:
        return sum(len(d) for d in self.truth)

    def track(self, identity: int) -> np.ndarray:
        """One identity's boxes as ``(n, 4)`` ``xyxy``, NaN rows where it is not in view."""
        out = np.full((len(self), 4), np.nan)
        for i, d in enumerate(self.truth):
            hit = np.flatnonzero(d.track_ids == identity)
            if hit.size:
                out[i] = d.xyxy[hit[0]]
        return out


def parse_gt(text: str, *, n_frames: int, n_classes: int | None = None,
             source: str = GT_FILE) -> list[Detections]:
    """Per-frame :class:`~microlab.boxes.Detections` from the text of a MOT ``gt.txt``.

    Raises :class:`FormatError` naming the line and the fix for a wrong column count, a value
    that is not a number, a frame outside ``1..n_frames``, a non-positive size, a duplicate
    ``(frame, id)`` or a class id missing from ``classes.txt`` (``n_classes``).
    """
    rows: dict[int, list[tuple[int, int, list[float]]]] = {}
    seen: dict[tuple[int, int], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        if len(parts) not in (9, 10):
            raise FormatError(f"{source}, line {number}: {len(parts)} columns; a MOT gt.txt row "
                              "has 9: frame,id,x,y,w,h,conf,class_id,visibility")
        try:
            values = [float(p) for p in parts[:9]]
        except ValueError as exc:
            raise FormatError(f"{source}, line {number}: {exc}; every column must be a number"
                              ) from exc
        frame, identity, x, y, w, h, conf, class_id, _ = values
        if frame != int(frame) or not 1 <= frame <= n_frames:
            raise FormatError(f"{source}, line {number}: frame {parts[0]} is not one of the "
                              f"clip's frames 1..{n_frames} (frames are 1-based); check that "
                              "img/ holds every frame")
        if identity != int(identity) or identity < 0:
            raise FormatError(f"{source}, line {number}: id {parts[1]} must be a whole number "
                              ">= 0")
        if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
            raise FormatError(f"{source}, line {number}: box {parts[2:6]} needs finite x, y and "
                              "a positive width and height")
        if conf == 0:
            continue  # an "ignore" region in the MOT challenge, not an object
        if class_id != int(class_id) or class_id < 1 or (
                n_classes is not None and class_id > n_classes):
            known = "" if n_classes is None else f" (classes.txt lists {n_classes})"
            raise FormatError(f"{source}, line {number}: class id {parts[7]} is not a line of "
                              f"{CLASSES_FILE}{known}; class ids are 1-based line numbers")
        key = (int(frame), int(identity))
        if key in seen:
            raise FormatError(f"{source}, line {number}: id {key[1]} has a second box in frame "
                              f"{key[0]} (first on line {seen[key]}); one identity is one "
                              "object, so give the other box its own id")
        seen[key] = number
        rows.setdefault(int(frame) - 1, []).append((int(identity), int(class_id) - 1,
                                                    [x, y, w, h]))
    out = []
    for i in range(n_frames):
        items = rows.get(i, [])
        if not items:
            out.append(Detections.empty())
            continue
        xywh = np.asarray([r[2] for r in items], float)
        out.append(Detections(xywh_to_xyxy(xywh), class_ids=np.asarray([r[1] for r in items]),
                              track_ids=np.asarray([r[0] for r in items])))
    return out


def load_multi_clip(path: str | os.PathLike[str]) -> MultiClip:
    """A MOT-layout clip folder (see the module docstring)."""
    folder = Path(path).expanduser()
    gt = folder / GT_FILE
    if not gt.is_file():
        raise FormatError(f"{folder} has no {GT_FILE}; a multi-object clip folder holds img/ "
                          f"and {GT_FILE} (frame,id,x,y,w,h,conf,class_id,visibility)")
    images = folder / "img"
    frames = open_frames(images if images.is_dir() else folder)
    classes_path = folder / CLASSES_FILE
    classes = None
    if classes_path.is_file():
        classes = [c.strip() for c in classes_path.read_text().splitlines() if c.strip()]
    truth = parse_gt(gt.read_text(), n_frames=len(frames),
                     n_classes=None if classes is None else len(classes), source=str(gt))
    if classes is None:
        top = max((int(d.class_ids.max()) + 1 for d in truth if len(d)), default=1)
        classes = [f"class {k + 1}" for k in range(top)]
    return MultiClip(folder.name, frames, tuple(truth), tuple(classes))


__all__ = ["CLASSES_FILE", "GT_FILE", "MultiClip", "load_multi_clip", "parse_gt"]
