"""Per-frame tags in and out: CSV, JSON, CVAT for images 1.1 and Label Studio.

Each format is a pair of plain functions over one plain intermediate, :class:`TagSet` (the clip,
the class names, one :class:`FrameTags` per tagged frame): ``save_tags_<format>(tags, path)``
and ``load_tags_<format>(path, clip, classes, multi_label=...)``.  :data:`TAG_FORMATS` binds them
to names; :func:`export_tags` and :func:`import_tags` do the same for a
:class:`~microlab.tagging.TagProject`:

>>> export_tags(project, "tags.csv", "csv")                          # human and machine tags
>>> export_tags(project, "tags.xml", "cvat", include_machine=False)   # a person's tags only
>>> import_tags(project, "from_cvat.xml", "cvat")                     # 0 actions, all or nothing

Frames are 0-based everywhere (frame 0 is the clip's first frame); a record may name its frame
by number or by image file name (the project's frame files for a folder of images, else
``frame_000123.jpg``, the names CVAT and datumaro give video frames).

The formats:

* ``csv``: the header ``frame,tags,confidence,source``, then one line per tagged frame;
  ``tags`` joins several class names with ``;`` (multi-label; empty = none of the classes),
  ``confidence`` is the machine's (empty for a person's tags), ``source`` is ``human`` or
  ``machine``.  Preserves everything.
* ``json``: ``{"classes", "multi_label", "n_frames", "frames": [{"frame", "image", "tags",
  "confidence", "source"}, ...]}``.  Preserves everything.
* ``cvat`` (CVAT for images 1.1 XML): the ``<meta><task><labels>`` block (labels of type
  ``tag`` with a ``confidence`` text attribute), then one ``<image id name width height>`` per
  frame of the clip holding a ``<tag label="..." source="manual|auto">`` per tag.  Lost: a
  multi-label frame a person marked with none of the classes (CVAT lists untouched images the
  same way, so an image without tags reads as untagged).  Reading: an image whose tags are all
  ``auto`` is a machine frame; any other source (``manual``, ``semi-auto``, ``file``...) makes
  the whole image a person's.
* ``labelstudio`` (Label Studio tasks JSON): one task per frame (``data`` = ``{"image",
  "frame"}``); a person's tags are an ``annotation``, machine tags a ``prediction`` with its
  ``score``; each holds one ``choices`` result (``from_name`` ``"tag"``, ``to_name``
  ``"image"``, ``value.choices``).  :func:`labelstudio_tag_config` gives the matching labelling
  config.  Reading takes, per task, the last annotation not cancelled, else the last prediction,
  and merges every ``choices`` result in it.  Preserves everything.

Importing brings a person's tags in as ``import`` records (0 actions, not frames viewed), in
one store call: a file with any bad record (an unknown class, a frame outside the clip, a frame
twice, several tags on a one-tag project, a malformed line) is refused with the file and the
line or record named, and nothing is stored.  Machine tags in a file are not imported (the
project's model makes its own); frames a person already tagged keep their tags.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from microlab._version import __version__
from microlab.errors import AnnotationError, FormatError, SettingsError
from microlab.interop._xml import parse_xml, sub, write_xml
from microlab.interop.coco import load_json
from microlab.interop.labels import ClipInfo, fmt_number

if TYPE_CHECKING:
    from microlab.tagging.project import TagProject

HUMAN, MACHINE = "human", "machine"
SOURCES = (HUMAN, MACHINE)
CSV_HEADER = ("frame", "tags", "confidence", "source")
CSV_SEPARATOR = ";"
FROM_NAME, TO_NAME = "tag", "image"  # Label Studio: the Choices control and the Image it tags
CONFIDENCE_ATTRIBUTE = "confidence"  # CVAT: the attribute that carries a machine tag's confidence
#: CVAT's ``source`` of a tag; only ``auto`` is a machine's.
CVAT_SOURCES = ("manual", "auto", "semi-auto", "file", "consensus")
JSON_FORMAT = "microlab.tags"


@dataclass(frozen=True)
class FrameTags:
    """One frame's tags in a tag file.

    Attributes:
        frame: 0-based frame index.
        tags: class names, in the order of the classes (empty: none of them, multi-label only).
        source: ``"human"`` (a person's tags) or ``"machine"`` (the model's).
        confidence: the machine's confidence in [0, 1]; ``None`` for a person's tags.
    """

    frame: int
    tags: tuple[str, ...]
    source: str = HUMAN
    confidence: float | None = None

    @property
    def human(self) -> bool:
        return self.source == HUMAN


@dataclass(frozen=True)
class TagSet:
    """What a tag file holds: the clip it describes, the class names, and the tagged frames
    (sorted by frame, each at most once).  Checked on creation: every tag is a class, every
    frame is in the clip, one tag per frame unless ``multi_label``."""

    clip: ClipInfo
    classes: tuple[str, ...]
    multi_label: bool = False
    frames: tuple[FrameTags, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        rows = tuple(sorted(self.frames, key=lambda r: r.frame))
        object.__setattr__(self, "frames", rows)
        n = self.clip.n_frames
        for i, r in enumerate(rows):
            if not 0 <= r.frame < n:
                raise AnnotationError(f"frame {r.frame} is outside the clip (frames 0..{n - 1})")
            if i and rows[i - 1].frame == r.frame:
                raise AnnotationError(f"frame {r.frame} is listed twice; keep one of them")
            unknown = [t for t in r.tags if t not in self.classes]
            if unknown:
                raise AnnotationError(f"frame {r.frame}: unknown tags {unknown}; the classes are "
                                      f"{list(self.classes)}")
            if not self.multi_label and len(r.tags) != 1:
                raise AnnotationError(f"frame {r.frame} has tags {list(r.tags)}, but a one-tag "
                                      "set needs exactly one per frame (multi_label=True for more)")
            if r.source not in SOURCES:
                raise AnnotationError(f"frame {r.frame}: source must be one of {SOURCES}, "
                                      f"not {r.source!r}")
            if r.confidence is not None and not 0.0 <= r.confidence <= 1.0:
                raise AnnotationError(f"frame {r.frame}: confidence must be in [0, 1], "
                                      f"not {r.confidence}")

    def by_frame(self) -> dict[int, FrameTags]:
        return {r.frame: r for r in self.frames}

    def human_tags(self) -> dict[int, tuple[str, ...]]:
        """``{frame: class names}`` of the frames a person tagged."""
        return {r.frame: r.tags for r in self.frames if r.human}


# ---------------------------------------------------------------------- checking what is read
class _Reader:
    """Collects the records of one file, checking each where it was read, so an error names
    the file and the line or record (``where``)."""

    def __init__(self, path: Path, clip: ClipInfo, classes: Sequence[str],
                 multi_label: bool) -> None:
        self.path = path
        self.clip = clip
        self.classes = tuple(classes)
        self.multi_label = bool(multi_label)
        self.rows: list[FrameTags] = []
        self._seen: dict[int, str] = {}

    def frame(self, value: object, where: str) -> int:
        """A 0-based frame number, or the name of one of the clip's images."""
        n = self.clip.n_frames
        number = value.strip() if isinstance(value, str) else value
        if isinstance(number, str) and re.fullmatch(r"[+-]?\d+", number):
            number = int(number)
        if isinstance(number, int) and not isinstance(number, bool):
            if not 0 <= number < n:
                raise FormatError(
                    f"{where}: frame {number} is outside this clip, whose frames are numbered "
                    f"0..{n - 1} (0-based, {n} frames); is the file for another clip?")
            return number
        if isinstance(number, str) and number:
            return self.image(number, where)
        raise FormatError(f"{where}: expected a frame number (0-based) or an image file name, "
                          f"but got {value!r}")

    def image(self, name: str, where: str) -> int:
        """The frame of an image file name (folders and URL prefixes ignored)."""
        index = self.clip.frame_index(name)
        if index is None:
            raise FormatError(
                f"{where}: {name!r} is neither a frame number (0-based) nor an image of this "
                f"clip (its frames are named {self.clip.names_hint()}); import the tags with "
                "the clip they were made for")
        return index

    def tags(self, names: Sequence[str], where: str) -> tuple[str, ...]:
        out: list[str] = []
        for name in names:
            if name not in self.classes:
                raise FormatError(
                    f"{where}: unknown class {name!r}; the project's classes are "
                    f"{list(self.classes)}; rename it in the file, or import into a project "
                    "that has this class")
            if name not in out:
                out.append(name)
        if not self.multi_label and len(out) > 1:
            raise FormatError(
                f"{where}: {len(out)} tags {out} on one frame, but this project takes exactly one "
                "tag per frame; keep one, or import into a project opened with multi_label=True")
        if not self.multi_label and not out:
            raise FormatError(
                f"{where}: no tag, but this project takes exactly one tag per frame; write one "
                f"of {list(self.classes)} or leave the frame out")
        return tuple(sorted(out, key=self.classes.index))

    def add(self, where: str, frame: int, names: Sequence[str], *, source: str = HUMAN,
            confidence: float | None = None) -> None:
        if frame in self._seen:
            raise FormatError(f"{where}: frame {frame} is already tagged by {self._seen[frame]}; "
                              "a file tags each frame once, keep one of the two")
        self._seen[frame] = where.removeprefix(f"{self.path}").lstrip(": ") or where
        self.rows.append(FrameTags(frame, self.tags(names, where), source,
                                   None if source == HUMAN else confidence))

    def result(self) -> TagSet:
        return TagSet(self.clip, self.classes, self.multi_label, tuple(self.rows))


def _confidence(value: object, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not 0.0 <= number <= 1.0:
        raise FormatError(f"{where}: confidence must be a number in [0, 1] (or empty for a "
                          f"person's tags), but got {value!r}")
    return number


def _source(value: object, where: str) -> str:
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return HUMAN
    if text not in SOURCES:
        raise FormatError(f"{where}: source must be 'human' or 'machine' (empty: human), "
                          f"but got {value!r}")
    return text


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read {path} as UTF-8 text: {exc}") from exc


def _confidence_text(value: float | None) -> str:
    return "" if value is None else fmt_number(value, 6)


def _prepare(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------- csv
def save_tags_csv(tags: TagSet, path: str | Path) -> Path:
    """Write ``frame,tags,confidence,source`` lines (frames 0-based; see the module docstring).

    Raises:
        FormatError: a class name holds ``;`` (the separator of several tags) or a line break.
    """
    bad = [c for c in tags.classes if CSV_SEPARATOR in c or "\n" in c or "\r" in c]
    if bad:
        raise FormatError(f"class names {bad} hold ';' or a line break, which the csv tag format "
                          "cannot write; export as json instead")
    path = _prepare(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for r in tags.frames:
            writer.writerow([r.frame, CSV_SEPARATOR.join(r.tags), _confidence_text(r.confidence),
                             r.source])
    return path


def load_tags_csv(path: str | Path, clip: ClipInfo, classes: Sequence[str], *,
                  multi_label: bool = False) -> TagSet:
    """Read a tag CSV file written by :func:`save_tags_csv` (or by hand).

    The header names the columns (any order; ``frame`` and ``tags`` are required, others are
    ignored).  ``frame`` is a 0-based frame number or an image file name; blank lines are
    skipped.
    """
    path = Path(path)
    reader = _Reader(path, clip, classes, multi_label)
    lines = csv.reader(io.StringIO(_read_text(path)))
    expected = ",".join(CSV_HEADER)
    try:
        header = next(lines, None)
        if header is None:
            raise FormatError(f"{path} is empty; expected the header line {expected} then one "
                              "line per tagged frame")
        names = [h.strip().lower() for h in header]
        if "frame" not in names or "tags" not in names:
            raise FormatError(f"{path} line 1: expected the header {expected}, but got "
                              f"{','.join(header)!r}; add the header line (frames are 0-based)")
        column = {name: names.index(name) for name in CSV_HEADER if name in names}
        for cells in lines:
            where = f"{path} line {lines.line_num}"
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise FormatError(f"{where}: expected {len(header)} comma-separated values "
                                  f"({','.join(header)}), but got {len(cells)}: "
                                  f"{','.join(cells)!r}")
            cell = {name: cells[i] for name, i in column.items()}
            frame = reader.frame(cell["frame"], where)
            text = cell["tags"].strip()
            tags = [t.strip() for t in text.split(CSV_SEPARATOR)] if text else []
            if any(not t for t in tags):
                raise FormatError(f"{where}: empty class name in tags {text!r}; separate "
                                  f"several tags with a single '{CSV_SEPARATOR}'")
            source = _source(cell.get("source"), where)
            reader.add(where, frame, tags, source=source,
                       confidence=_confidence(cell.get("confidence"), where))
    except csv.Error as exc:
        raise FormatError(f"{path} line {lines.line_num}: not valid CSV ({exc})") from exc
    return reader.result()


# ---------------------------------------------------------------------- json
def tags_document(tags: TagSet) -> dict[str, Any]:
    """The JSON document :func:`save_tags_json` writes, as plain Python data."""
    return {
        "format": JSON_FORMAT,
        "version": 1,
        "classes": list(tags.classes),
        "multi_label": tags.multi_label,
        "n_frames": tags.clip.n_frames,
        "frames": [{"frame": r.frame, "image": tags.clip.file_names[r.frame],
                    "tags": list(r.tags), "confidence": r.confidence, "source": r.source}
                   for r in tags.frames],
    }


def save_tags_json(tags: TagSet, path: str | Path) -> Path:
    """Write the classes, ``multi_label`` and one record per tagged frame (0-based frames)."""
    path = _prepare(path)
    path.write_text(json.dumps(tags_document(tags), indent=1) + "\n", encoding="utf-8")
    return path


def _record_frame(reader: _Reader, record: dict[str, Any], where: str) -> int:
    """A record's frame: its ``frame`` number, else its ``image`` name (when both are given,
    they must agree)."""
    if record.get("frame") is None:
        if record.get("image") is None:
            raise FormatError(f"{where}: a record needs 'frame' (0-based) or 'image', "
                              f"but got {record!r}")
        return reader.frame(record["image"], where)
    frame = reader.frame(record["frame"], where)
    image = record.get("image")
    named = reader.clip.frame_index(image) if isinstance(image, str) else None
    if named is not None and named != frame:
        raise FormatError(f"{where}: 'frame' is {frame} but 'image' {image!r} is frame {named} "
                          "of this clip; fix one of the two")
    return frame


def load_tags_json(path: str | Path, clip: ClipInfo, classes: Sequence[str], *,
                   multi_label: bool = False) -> TagSet:
    """Read a tag JSON file written by :func:`save_tags_json` (a bare list of records too)."""
    path = Path(path)
    reader = _Reader(path, clip, classes, multi_label)
    doc = load_json(path)
    if isinstance(doc, dict):
        if "n_frames" in doc and doc["n_frames"] != clip.n_frames:
            raise FormatError(f"{path}: the file describes {doc['n_frames']} frames but the clip "
                              f"has {clip.n_frames}; import it with the clip it was made for")
        records = doc.get("frames")
    else:
        records = doc
    if not isinstance(records, list):
        raise FormatError(f"{path}: expected an object with a 'frames' list of records "
                          f"({{\"frame\", \"tags\", ...}}), but got {type(records).__name__}")
    for i, record in enumerate(records):
        where = f"{path}: frames[{i}]"
        if not isinstance(record, dict):
            raise FormatError(f"{where}: expected a record object, but got {record!r}")
        frame = _record_frame(reader, record, where)
        tags = record.get("tags")
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise FormatError(f"{where}: 'tags' must be a list of class names, but got {tags!r}")
        reader.add(where, frame, tags, source=_source(record.get("source"), where),
                   confidence=_confidence(record.get("confidence"), where))
    return reader.result()


# ---------------------------------------------------------------------- cvat for images
def cvat_tags_tree(tags: TagSet) -> ET.Element:
    """The CVAT for images 1.1 document for ``tags`` (see the module docstring)."""
    clip = tags.clip
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    root = ET.Element("annotations")
    sub(root, "version", "1.1")
    meta = sub(root, "meta")
    task = sub(meta, "task")
    for name, text in (("id", "0"), ("name", clip.name), ("size", str(clip.n_frames)),
                       ("mode", "annotation"), ("overlap", "0"), ("bugtracker", ""),
                       ("flipped", "False"), ("created", now), ("updated", now)):
        sub(task, name, text)
    labels = sub(task, "labels")
    for name in tags.classes:
        label = sub(labels, "label")
        sub(label, "name", name)
        sub(label, "type", "tag")
        attribute = sub(sub(label, "attributes"), "attribute")
        for field, text in (("name", CONFIDENCE_ATTRIBUTE), ("mutable", "False"),
                            ("input_type", "text"), ("default_value", ""), ("values", "")):
            sub(attribute, field, text)
    sub(meta, "dumped", now)
    rows = tags.by_frame()
    width, height = (str(v) for v in clip.size)
    for frame in range(clip.n_frames):
        image = sub(root, "image", id=str(frame), name=clip.file_names[frame], width=width,
                    height=height)
        row = rows.get(frame)
        for name in row.tags if row else ():
            tag = sub(image, "tag", label=name, source="manual" if row.human else "auto")
            if row.confidence is not None:
                sub(tag, "attribute", _confidence_text(row.confidence), name=CONFIDENCE_ATTRIBUTE)
    return root


def save_tags_cvat(tags: TagSet, path: str | Path) -> Path:
    """Write a CVAT for images 1.1 XML file: one ``<image>`` per frame, ``<tag>`` elements."""
    path = _prepare(path)
    write_xml(cvat_tags_tree(tags), path)
    return path


def load_tags_cvat(path: str | Path, clip: ClipInfo, classes: Sequence[str], *,
                   multi_label: bool = False) -> TagSet:
    """Read the ``<tag>`` elements of a CVAT for images 1.1 XML file (other shapes are ignored).

    An image is matched to a frame by its ``name``, or by its ``id`` when it has no name.
    """
    path = Path(path)
    reader = _Reader(path, clip, classes, multi_label)
    doc = parse_xml(path)
    root = doc.root
    if root.tag != "annotations":
        raise doc.error(root, "a CVAT XML file's root element must be <annotations>")
    images = root.findall("image")
    if not images and root.find("track") is not None:
        raise doc.error(root.find("track"), "this is CVAT for video (tracks), which holds no "
                        "tags; export the task as 'CVAT for images 1.1'")
    for image in images:
        where = doc.where(image)
        name = image.attrib.get("name", "").strip()
        # A name is always a file name here (CVAT writes paths), even one of digits only.
        frame = reader.image(name, where) if name else reader.frame(doc.attr(image, "id", int),
                                                                     where)
        elements = image.findall("tag")
        if not elements:
            continue  # an untouched image
        names, sources, confidences = [], [], []
        for element in elements:
            here = doc.where(element)
            names.append(doc.attr(element, "label", str))
            source = element.attrib.get("source", "manual").strip().lower() or "manual"
            if source not in CVAT_SOURCES:
                raise doc.error(element, f"source must be one of {', '.join(CVAT_SOURCES)}, "
                                f"but got {source!r}")
            sources.append(source)
            values = {a.attrib.get("name"): a.text for a in element.findall("attribute")}
            confidences.append(_confidence(values.get(CONFIDENCE_ATTRIBUTE), here))
        machine = all(s == "auto" for s in sources)
        known = [c for c in confidences if c is not None]
        reader.add(where, frame, names, source=MACHINE if machine else HUMAN,
                   confidence=min(known) if known else None)
    return reader.result()


# ---------------------------------------------------------------------- label studio
def labelstudio_tag_config(classes: Sequence[str], *, multi_label: bool = False) -> str:
    """The Label Studio labelling config that matches :func:`save_tags_labelstudio`'s tasks."""
    choices = "".join(f"    <Choice value={quoteattr(c)}/>\n" for c in classes)
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" '
        f'choice="{"multiple" if multi_label else "single"}">\n'
        f"{choices}"
        "  </Choices>\n"
        "</View>\n"
    )


def _choices(row: FrameTags) -> dict[str, Any]:
    region: dict[str, Any] = {"id": f"f{row.frame}", "type": "choices", "from_name": FROM_NAME,
                              "to_name": TO_NAME, "value": {"choices": list(row.tags)}}
    if row.confidence is not None:
        region["score"] = row.confidence
    return region


def labelstudio_tag_tasks(tags: TagSet, *, image_url: str = "{name}") -> list[dict[str, Any]]:
    """The Label Studio tasks for ``tags`` as plain Python data (see :func:`save_tags_labelstudio`).
    """
    rows = tags.by_frame()
    tasks = []
    for frame in range(tags.clip.n_frames):
        name = tags.clip.file_names[frame]
        task: dict[str, Any] = {"id": frame + 1,
                                "data": {"image": image_url.format(name=name, index=frame),
                                         "frame": frame}}
        row = rows.get(frame)
        # A multi-label frame with none of the classes is a result without choices.
        result = [_choices(row)] if row and row.tags else []
        if row is not None and row.human:
            task["annotations"] = [{"result": result, "was_cancelled": False,
                                    "ground_truth": False}]
        elif row is not None:
            task["predictions"] = [{"model_version": f"microlab {__version__}",
                                    "score": row.confidence, "result": result}]
        tasks.append(task)
    return tasks


def save_tags_labelstudio(tags: TagSet, path: str | Path, *, image_url: str = "{name}") -> Path:
    """Write a Label Studio tasks JSON file (one task per frame).

    Args:
        tags: what to write.
        path: the JSON file.
        image_url: how a task names its image, a format string with ``{name}`` (the frame's
            file name) and ``{index}``, e.g. ``"/data/local-files/?d=clip/img/{name}"``.
    """
    path = _prepare(path)
    path.write_text(json.dumps(labelstudio_tag_tasks(tags, image_url=image_url), indent=1) + "\n",
                    encoding="utf-8")
    return path


def _task_frame(reader: _Reader, task: dict[str, Any], where: str) -> int:
    data = task.get("data")
    if not isinstance(data, dict):
        raise FormatError(f"{where}: a task needs a 'data' object with the image, but got {data!r}")
    if data.get("frame") is not None:
        return reader.frame(data["frame"], where)
    image = data.get(TO_NAME)
    if image is None:
        image = next((v for v in data.values() if isinstance(v, str)), None)
    return reader.frame(image, where)


def _chosen(result: Any, where: str) -> tuple[list[str], list[float]]:
    """The class names of every ``choices`` result region, and their scores."""
    if not isinstance(result, list):
        raise FormatError(f"{where}: 'result' must be a list of regions, but got {result!r}")
    names: list[str] = []
    scores: list[float] = []
    for i, region in enumerate(result):
        here = f"{where}.result[{i}]"
        if not isinstance(region, dict):
            raise FormatError(f"{here}: expected a region object, but got {region!r}")
        if region.get("type") != "choices":
            continue  # boxes, text... carry no frame tag
        value = region.get("value")
        chosen = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
            raise FormatError(f"{here}: a choices region needs 'value': {{'choices': [class "
                              f"names]}}, but got {value!r}")
        names += chosen
        score = _confidence(region.get("score"), here)
        if score is not None:
            scores.append(score)
    return names, scores


def load_tags_labelstudio(path: str | Path, clip: ClipInfo, classes: Sequence[str], *,
                          multi_label: bool = False) -> TagSet:
    """Read a Label Studio tasks JSON export; tasks are matched to frames by ``data.frame``, else
    by image name.  Tasks without annotations or predictions are untagged frames."""
    path = Path(path)
    reader = _Reader(path, clip, classes, multi_label)
    doc = load_json(path)
    tasks = [doc] if isinstance(doc, dict) else doc
    if not isinstance(tasks, list):
        raise FormatError(f"{path}: expected a JSON list of Label Studio tasks, "
                          f"but got {type(doc).__name__}")
    for t, task in enumerate(tasks):
        where = f"{path}: task[{t}]"
        if not isinstance(task, dict):
            raise FormatError(f"{where}: expected a task object, but got {task!r}")
        if "id" in task:
            where += f" (id {task['id']})"
        annotations = task.get("annotations") or task.get("completions") or []
        predictions = task.get("predictions") or []
        if not isinstance(annotations, list) or not isinstance(predictions, list):
            raise FormatError(f"{where}: 'annotations' and 'predictions' must be lists")
        kept = [i for i, a in enumerate(annotations) if isinstance(a, dict)
                and not a.get("was_cancelled") and not a.get("skipped")]
        if kept:
            here = f"{where}.annotations[{kept[-1]}]"
            names, _ = _chosen(annotations[kept[-1]].get("result", []), here)
            reader.add(here, _task_frame(reader, task, where), names)
        elif predictions:
            here = f"{where}.predictions[{len(predictions) - 1}]"
            prediction = predictions[-1]
            if not isinstance(prediction, dict):
                raise FormatError(f"{here}: expected an object, but got {prediction!r}")
            names, scores = _chosen(prediction.get("result", []), here)
            overall = _confidence(prediction.get("score"), here)
            confidence = overall if overall is not None else (min(scores) if scores else None)
            reader.add(here, _task_frame(reader, task, where), names, source=MACHINE,
                       confidence=confidence)
    return reader.result()


# ---------------------------------------------------------------------- the registry
SaveTags = Callable[..., Path]
"""``save(tags, path) -> Path``."""

LoadTags = Callable[..., TagSet]
"""``load(path, clip, classes, *, multi_label) -> TagSet``."""


@dataclass(frozen=True)
class TagFormat:
    """One tag format: its name, its functions, and the other names it answers to."""

    name: str
    description: str
    save: SaveTags
    load: LoadTags
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


#: The tag formats by name; add one with ``TAG_FORMATS["mine"] = TagFormat("mine", ...)``.
TAG_FORMATS: dict[str, TagFormat] = {f.name: f for f in (
    TagFormat("csv", "frame,tags,confidence,source lines, 0-based frames (one file)",
              save_tags_csv, load_tags_csv),
    TagFormat("json", "classes, multi_label and one record per frame (one JSON file)",
              save_tags_json, load_tags_json, ("microlab_json",)),
    TagFormat("cvat", "CVAT for images 1.1 XML with <tag> elements (one file)",
              save_tags_cvat, load_tags_cvat, ("cvat_images", "cvat_xml")),
    TagFormat("labelstudio", "Label Studio tasks JSON with a choices result (one file)",
              save_tags_labelstudio, load_tags_labelstudio, ("label_studio", "ls")),
)}


def list_tag_formats() -> list[str]:
    """Names of the tag formats."""
    return list(TAG_FORMATS)


def get_tag_format(name: str | TagFormat) -> TagFormat:
    """A tag format by name or alias (case insensitive, ``-`` or a space read as ``_``).

    Raises:
        FormatError: no such format; the message suggests the closest name and lists them.
    """
    if isinstance(name, TagFormat):
        return name
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    for spec in TAG_FORMATS.values():
        if key in spec.keys:
            return spec
    close = difflib.get_close_matches(key, [k for f in TAG_FORMATS.values() for k in f.keys], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise FormatError(f"unknown tag format {name!r}; {hint}tag formats: "
                      f"{', '.join(TAG_FORMATS)}")


# ---------------------------------------------------------------------- a project's tags
def _names(row: Any, classes: Sequence[str]) -> tuple[str, ...]:
    if getattr(row, "ndim", 0) == 0:
        return (classes[int(row)],) if int(row) >= 0 else ()
    return tuple(c for c, on in zip(classes, row) if on)


def tags_from_project(project: TagProject, *, include_machine: bool = True,
                      min_confidence: float | None = None) -> TagSet:
    """A project's tags as a :class:`TagSet`, ready for any ``save_tags_*`` function.

    Args:
        project: an open frame classification project.
        include_machine: also the machine's tags of the frames no person tagged (from the
            latest prediction), with their confidence.
        min_confidence: with ``include_machine``, leave out machine tags less confident.
    """
    if min_confidence is not None and not 0.0 <= float(min_confidence) <= 1.0:
        raise SettingsError(f"min_confidence must be in [0, 1] or None, but got "
                            f"{min_confidence!r}")
    labels = project.labels()
    classes = list(project.classes)
    rows = []
    for frame in range(project.n_frames):
        names = _names(labels.tags[frame], classes)
        if labels.human[frame]:
            rows.append(FrameTags(frame, names, HUMAN))
        elif include_machine and labels.kinds[frame] != "none":
            confidence = float(labels.confidence[frame])
            if (min_confidence is not None and confidence < min_confidence) or (
                    not project.multi_label and not names):
                continue
            rows.append(FrameTags(frame, names, MACHINE, confidence))
    return TagSet(ClipInfo.from_frames(project.frames), tuple(classes), project.multi_label,
                  tuple(rows))


def export_tags(project: TagProject, path: str | Path, format: str, *,
                include_machine: bool = True, min_confidence: float | None = None) -> Path:
    """Write a project's tags in ``format`` (a key of :data:`TAG_FORMATS`) at ``path``.

    Example:
        >>> export_tags(project, "tags.csv", "csv", min_confidence=0.9)
    """
    spec = get_tag_format(format)
    tags = tags_from_project(project, include_machine=include_machine,
                             min_confidence=min_confidence)
    return spec.save(tags, path)


@dataclass(frozen=True)
class TagImportSummary:
    """What an import did: frames tagged, machine tags left out, frames a person had tagged."""

    source: str
    frames: int
    machine_frames: int = 0
    kept_frames: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = f"imported the tags of {self.frames} frames from {self.source}"
        if self.machine_frames:
            text += f"; left out the machine tags of {self.machine_frames} frames"
        if self.kept_frames:
            text += f"; kept the existing tags of {len(self.kept_frames)} frames a person tagged"
        return text


def apply_tags(project: TagProject, tags: TagSet, *, source: str = "tags") -> TagImportSummary:
    """Store a :class:`TagSet`'s human tags in ``project`` as ``import`` records (0 actions), in
    one call: all of them or, on any error, none.  Machine tags are left out; frames a person
    already tagged keep their tags."""
    if tags.clip.n_frames != project.n_frames:
        raise FormatError(f"{source} describes {tags.clip.n_frames} frames, but project "
                          f"{project.path} has {project.n_frames}; import it into a project of "
                          "the same clip")
    tagged = project.human_tags()
    answers = []
    kept = []
    machine = 0
    for row in tags.frames:
        if not row.human:
            machine += 1
            continue
        try:
            ids = project.class_ids(list(row.tags))
        except AnnotationError as exc:
            raise FormatError(f"{source}, frame {row.frame}: {exc}") from exc
        if row.frame in tagged:
            kept.append(row.frame)
            continue
        answers.append((row.frame, "import", ids, None))
    if answers:
        project.store.record_tags(answers)
    return TagImportSummary(source, len(answers), machine, tuple(kept))


def import_tags(project: TagProject, path: str | Path, format: str) -> TagImportSummary:
    """Read a tag file and store its human tags in ``project`` (see :func:`apply_tags`).

    Raises:
        FormatError: the file is missing or malformed; the message names the line or record.
    """
    spec = get_tag_format(format)
    path = Path(path).expanduser()
    if not path.is_file():
        raise FormatError(f"tag file {path} does not exist; check the path")
    tags = spec.load(path, ClipInfo.from_frames(project.frames), project.classes,
                     multi_label=project.multi_label)
    return apply_tags(project, tags, source=str(path))


__all__ = [
    "CSV_HEADER",
    "TAG_FORMATS",
    "FrameTags",
    "TagFormat",
    "TagImportSummary",
    "TagSet",
    "apply_tags",
    "cvat_tags_tree",
    "export_tags",
    "get_tag_format",
    "import_tags",
    "labelstudio_tag_config",
    "labelstudio_tag_tasks",
    "list_tag_formats",
    "load_tags_csv",
    "load_tags_cvat",
    "load_tags_json",
    "load_tags_labelstudio",
    "save_tags_csv",
    "save_tags_cvat",
    "save_tags_json",
    "save_tags_labelstudio",
    "tags_document",
    "tags_from_project",
]
