"""Per-frame tag files: ``labels.txt`` (one class name per line, in frame order).

A clip folder for frame classification holds ``img/`` and ``labels.txt``; an optional
``classes.txt`` (one name per line) declares the classes and their order, else they are taken
from ``labels.txt`` in order of first appearance.  Object presence ("is the object in view?")
can be derived from a box clip's ground truth instead (:func:`presence_tags`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microlab.errors import FormatError
from microlab.frames import ImageFolderFrames, open_frames

LABELS_FILE = "labels.txt"
CLASSES_FILE = "classes.txt"
PRESENCE_CLASSES = ("absent", "present")


@dataclass(frozen=True)
class TagClip:
    """A clip with one true tag per frame: ``tags[i]`` indexes ``classes``."""

    name: str
    frames: ImageFolderFrames
    classes: tuple[str, ...]
    tags: np.ndarray

    def __len__(self) -> int:
        return len(self.tags)


def parse_labels(text: str, *, n_frames: int | None = None,
                 classes: Sequence[str] | None = None,
                 source: str = LABELS_FILE) -> tuple[tuple[str, ...], np.ndarray]:
    """``(classes, class id per frame)`` from the text of a ``labels.txt``.

    Raises :class:`FormatError` naming the line for an empty line, a class not in ``classes``
    (when given), or a line count that differs from ``n_frames``.
    """
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # a trailing newline (or several) is not a frame
    known = list(classes) if classes is not None else []
    ids = []
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            raise FormatError(f"{source}, line {number}: empty line; every frame needs a class "
                              "name (one per line, in frame order)")
        if name not in known:
            if classes is not None:
                raise FormatError(f"{source}, line {number}: class {name!r} is not declared in "
                                  f"{CLASSES_FILE} ({known}); add it there or fix the line")
            known.append(name)
        ids.append(known.index(name))
    if n_frames is not None and len(ids) != n_frames:
        raise FormatError(f"{source} has {len(ids)} lines but the clip has {n_frames} frames; "
                          "write one class name per frame, in frame order")
    if not ids:
        raise FormatError(f"{source} is empty; write one class name per frame")
    return tuple(known), np.asarray(ids, int)


def format_labels(tags: Sequence[int], classes: Sequence[str]) -> str:
    """The text of a ``labels.txt`` for class ids ``tags``."""
    return "".join(f"{classes[int(t)]}\n" for t in tags)


def write_labels(folder: str | os.PathLike[str], tags: Sequence[int],
                 classes: Sequence[str]) -> Path:
    """Write ``labels.txt`` and ``classes.txt`` into a clip folder; returns the labels path."""
    folder = Path(folder)
    (folder / CLASSES_FILE).write_text("".join(f"{c}\n" for c in classes))
    path = folder / LABELS_FILE
    path.write_text(format_labels(tags, classes))
    return path


def presence_tags(present: np.ndarray) -> np.ndarray:
    """Object presence as tags: 1 (``present``) where the object is in view, else 0."""
    return np.asarray(present, bool).astype(int)


def load_tag_clip(path: str | os.PathLike[str], *, presence: bool = False) -> TagClip:
    """A clip folder with ``img/`` and ``labels.txt`` (see the module docstring).

    A box clip folder (OTB style, ``groundtruth.txt``) without ``labels.txt``, or any box clip
    with ``presence=True``, gives its object presence as tags (``absent`` / ``present``).
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FormatError(f"{folder} is not a folder; a tag clip is a folder with img/ and "
                          f"{LABELS_FILE}")
    images = folder / "img"
    frames = open_frames(images if images.is_dir() else folder)
    labels = folder / LABELS_FILE
    if labels.is_file() and not presence:
        declared = None
        if (folder / CLASSES_FILE).is_file():
            declared = [c.strip() for c in (folder / CLASSES_FILE).read_text().splitlines()
                        if c.strip()]
        classes, tags = parse_labels(labels.read_text(), n_frames=len(frames), classes=declared,
                                     source=str(labels))
        return TagClip(folder.name, frames, classes, tags)
    from microlab.sequences import GROUND_TRUTH_NAME, load_sequence

    if not (folder / GROUND_TRUTH_NAME).is_file():
        raise FormatError(f"{folder} has no {LABELS_FILE} (one class name per frame) and no box "
                          "ground truth (groundtruth.txt) to derive object presence from")
    try:
        clip = load_sequence(folder)
    except FormatError as exc:
        raise FormatError(f"{folder} has no {LABELS_FILE} and no box ground truth to derive "
                          f"object presence from ({exc})") from exc
    return TagClip(folder.name, clip.frames, PRESENCE_CLASSES, presence_tags(clip.present))


__all__ = ["CLASSES_FILE", "LABELS_FILE", "PRESENCE_CLASSES", "TagClip", "format_labels",
           "load_tag_clip", "parse_labels", "presence_tags", "write_labels"]
