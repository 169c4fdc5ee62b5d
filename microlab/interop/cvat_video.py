"""CVAT for video 1.1 XML: tracks of boxes with ``keyframe`` and ``outside`` flags.

Written: a ``<meta><task>`` block (frame count, ``original_size``, the labels with two mutable
attributes, ``source`` and ``score``), then one ``<track>`` per object.  Boxes are linked into
tracks per class (one track per class when each frame has at most one box of it).  Every
labelled box is a keyframe; a frame marked absent gets an ``outside="1"`` keyframe on every
track.  Frames without labels get nothing: CVAT interpolates between the keyframes around them
(and keeps showing a track's last box up to the end of the clip), which is what a CVAT user
expects, while datumaro and microlab read only the boxes written.

Preserved: boxes (to 0.001 px), class names, source, score, absent frames, unlabelled frames.
Reading: keyframes are labels (human unless their ``source`` attribute names a machine);
non-keyframe boxes (CVAT's interpolation) come in as ``interpolated`` predictions, not labels;
an ``outside`` keyframe marks its frame absent unless another track has a box there.  CVAT for
images 1.1 files (``<image>`` elements) are read too: every listed image is labelled (without
boxes: absent), as that format lists every frame of a task.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from microlab.boxes import Detections, Source
from microlab.errors import FormatError
from microlab.interop._xml import XmlDocument, flag, parse_xml, sub, write_xml
from microlab.interop.checks import check_box, check_frame, check_score, check_source
from microlab.interop.labels import (
    ALL_SOURCES,
    ClipInfo,
    LabelSet,
    class_id_of,
    fmt_number,
    label_box,
    link_tracks,
    score_or_none,
)

_COLOURS = ("#fa3253", "#33ddff", "#ffcc33", "#3d3df5", "#b83df5", "#24b353", "#ff6a4d")


def _box_element(track: ET.Element, frame: int, xyxy, *, outside: bool, source: str,
                 score: float | None) -> None:
    attrs = {"frame": str(frame), "keyframe": "1", "outside": "1" if outside else "0",
             "occluded": "0", "z_order": "0"}
    for name, value in zip(("xtl", "ytl", "xbr", "ybr"), xyxy):
        attrs[name] = fmt_number(value)
    box = sub(track, "box", **attrs)
    sub(box, "attribute", str(source), name="source")
    sub(box, "attribute", "" if score is None else fmt_number(score, 6), name="score")


def cvat_tree(labels: LabelSet) -> ET.Element:
    """The CVAT for video 1.1 document for ``labels``."""
    clip = labels.clip
    classes = list(labels.classes) or ["object"]
    root = ET.Element("annotations")
    sub(root, "version", "1.1")
    meta = sub(root, "meta")
    task = sub(meta, "task")
    for tag, text in (("id", "0"), ("name", clip.name), ("size", str(clip.n_frames)),
                      ("mode", "interpolation"), ("overlap", "0"), ("bugtracker", ""),
                      ("flipped", "False"), ("start_frame", "0"),
                      ("stop_frame", str(max(clip.n_frames - 1, 0))), ("frame_filter", "")):
        sub(task, tag, text)
    label_list = sub(task, "labels")
    for i, name in enumerate(classes):
        label = sub(label_list, "label")
        sub(label, "name", name)
        sub(label, "color", _COLOURS[i % len(_COLOURS)])
        sub(label, "type", "rectangle")
        attributes = sub(label, "attributes")
        for attr_name, input_type, default, values in (
            ("source", "select", "human", "\n".join(ALL_SOURCES)),
            ("score", "text", "", ""),
        ):
            attribute = sub(attributes, "attribute")
            sub(attribute, "name", attr_name)
            sub(attribute, "mutable", "True")
            sub(attribute, "input_type", input_type)
            sub(attribute, "default_value", default)
            sub(attribute, "values", values)
    size = sub(task, "original_size")
    sub(size, "width", str(clip.size[0]))
    sub(size, "height", str(clip.size[1]))
    sub(meta, "dumped", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    ids = link_tracks(labels)
    tracks: dict[int, list[tuple[int, Detections]]] = {}
    for (frame, i), track_id in ids.items():
        tracks.setdefault(track_id, []).append((frame, labels.frames[frame][i]))
    absent = labels.absent_frames
    for track_id in sorted(tracks):
        boxes = sorted(tracks[track_id], key=lambda fb: fb[0])
        label = classes[int(boxes[0][1].class_ids[0])]
        machine = not any(b.human_mask()[0] for _, b in boxes)
        track = sub(root, "track", id=str(track_id), label=label, 
                    source="auto" if machine else "manual")
        # Outside keyframes take the coordinates of the nearest earlier box (CVAT needs some).
        events: list[tuple[int, Detections | None]] = [(f, b) for f, b in boxes]
        events += [(f, None) for f in absent]
        last = boxes[0][1].xyxy[0]
        for frame, box in sorted(events, key=lambda e: (e[0], e[1] is None)):
            if box is None:
                _box_element(track, frame, last, outside=True, source=Source.HUMAN, score=None)
            else:
                last = box.xyxy[0]
                _box_element(track, frame, last, outside=False, source=box.sources[0],
                             score=score_or_none(box.scores[0]))
    if not tracks and absent:
        # Only absent frames: one track of the first class that is outside on each of them.
        track = sub(root, "track", id="0", label=classes[0], source="manual")
        for frame in absent:
            _box_element(track, frame, (0.0, 0.0, 1.0, 1.0), outside=True, source=Source.HUMAN,
                         score=None)
    return root


def save_cvat_video(labels: LabelSet, path: str | Path) -> Path:
    """Write a CVAT for video 1.1 XML file at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_xml(cvat_tree(labels), path)
    return path


_OTHER_SHAPES = ("polygon", "polyline", "points", "mask", "skeleton", "ellipse", "cuboid")
_CVAT_FRAME_NAME = re.compile(r"frame_\d{6}$")


def _label(doc: XmlDocument, elem: ET.Element, classes: list[str], declared: bool) -> int:
    """The class id of an element's ``label`` (added to ``classes`` unless they are declared)."""
    label = doc.attr(elem, "label", str)
    if declared and label not in classes:
        raise doc.error(elem, f"label {label!r} is not declared in <meta> (labels: {classes})")
    return class_id_of(classes, label)


def _box(doc: XmlDocument, shape: ET.Element, clip: ClipInfo, class_id: int, *, keyframe: bool,
         track_id: int | None = None) -> Detections:
    """One ``<box>``: coordinates, and the source/score attributes microlab writes."""
    if float(shape.attrib.get("rotation", "0") or 0) != 0:
        raise doc.error(shape, "rotated boxes cannot be imported (microlab boxes are axis-aligned)")
    xyxy = tuple(doc.attr(shape, name, float) for name in ("xtl", "ytl", "xbr", "ybr"))
    attrs = {a.attrib.get("name", ""): (a.text or "").strip() for a in shape.iter("attribute")}
    where = doc.where(shape)
    score = check_score(attrs.get("score"), where)
    if not keyframe:
        source = Source.INTERPOLATED
    elif attrs.get("source") in ALL_SOURCES:
        source = Source(check_source(attrs["source"], where))
    else:
        source = Source.HUMAN
    return label_box(check_box(xyxy, clip, where), class_id, source=source, score=score,
                     track_id=track_id)


def _shapes(doc: XmlDocument, parent: ET.Element) -> list[ET.Element]:
    for shape in parent:
        if shape.tag in _OTHER_SHAPES:
            raise doc.error(shape,
                            f"only boxes can be imported, but <{parent.tag}> holds a <{shape.tag}>")
    return [shape for shape in parent if shape.tag == "box"]


def _load_images(doc: XmlDocument, clip: ClipInfo, classes: list[str],
                 declared: bool) -> dict[int, list[Detections]]:
    """CVAT for images: every ``<image>`` is a labelled frame (no box: object absent)."""
    frames: dict[int, list[Detections]] = {}
    for image in doc.root.iter("image"):
        name = image.attrib.get("name", "")
        frame = clip.frame_index(name) if name else None
        if frame is None:
            if name and not _CVAT_FRAME_NAME.match(Path(name).stem):
                raise doc.error(image,
                                f"image {name!r} is not a frame of this clip (its frames are "
                                       f"named {clip.names_hint()})")
            frame = check_frame(doc.attr(image, "id", int), clip, doc.where(image))
        boxes = frames.setdefault(frame, [])
        for shape in _shapes(doc, image):
            if "outside" in shape.attrib and doc.attr(shape, "outside", flag):
                continue  # a track's "not visible here" copied onto the image
            boxes.append(_box(doc, shape, clip, _label(doc, shape, classes, declared),
                              keyframe=True))
    return frames


def load_cvat_video(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a CVAT for video 1.1 XML file (see the module docstring for what becomes a label).

    CVAT for images 1.1 files (``<image>`` elements, as CVAT and datumaro also write) are read
    too: every listed image is a labelled frame, one without boxes has the object absent.
    """
    doc = parse_xml(path)
    root = doc.root
    if root.tag != "annotations":
        raise doc.error(root, "a CVAT XML file's root element must be <annotations>")
    classes: list[str] = []
    meta = root.find("meta")
    if meta is not None:
        for label in meta.iter("label"):
            name = (label.findtext("name") or "").strip()
            if name and name not in classes:
                classes.append(name)
        original = meta.find(".//original_size")
        if original is not None:
            size = (doc.value(original, "width", int), doc.value(original, "height", int))
            if size != tuple(clip.size):
                raise doc.error(original,
                                f"the task's frames are {size[0]}x{size[1]} but the clip's "
                                          f"are {clip.size[0]}x{clip.size[1]}; "
                                          "import it with its own clip")
    declared = bool(classes)
    if root.find("image") is not None:
        return LabelSet.from_boxes(clip, classes, _load_images(doc, clip, classes, declared))
    inside: dict[int, list[Detections]] = {}
    outside: set[int] = set()
    for track in root.iter("track"):
        class_id = _label(doc, track, classes, declared)
        track_id = doc.attr(track, "id", int)
        for shape in _shapes(doc, track):
            frame = check_frame(doc.attr(shape, "frame", int), clip, doc.where(shape))
            is_outside = doc.attr(shape, "outside", flag) if "outside" in shape.attrib else False
            keyframe = doc.attr(shape, "keyframe", flag) if "keyframe" in shape.attrib else True
            if is_outside:
                if keyframe:
                    outside.add(frame)
                continue
            inside.setdefault(frame, []).append(
                _box(doc, shape, clip, class_id, keyframe=keyframe, track_id=track_id)
            )
    if root.find("track") is None and root.find(".//box") is not None:
        raise FormatError(f"{doc.path}: boxes outside any <track> or <image>; is this CVAT XML?")
    frames: dict[int, list[Detections]] = {f: [] for f in outside}
    frames.update(inside)
    return LabelSet.from_boxes(clip, classes, frames)
