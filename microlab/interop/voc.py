"""Pascal VOC XML: ``Annotations/<frame>.xml`` per labelled frame, listed in ``ImageSets``.

Layout written (a folder)::

    OUT/Annotations/00001.xml       <annotation> with <size> and one <object> per box
    OUT/ImageSets/Main/default.txt  the labelled frames, one stem per line
    OUT/labelmap.txt                class names (datumaro's label map: ``name:::``)

Coordinates are written as floats with 3 decimals, 0-based (pixel edges), the convention of
datumaro and CVAT's VOC export; classic VOC tools that count pixels from 1 see boxes shifted by
up to 1 px.  Source and score go in an ``<attributes>`` block per object, the extension CVAT and
datumaro read and write.

Preserved: boxes, class names, source, score, absent frames (a file without objects),
unlabelled frames (no file).  Read back by ``<filename>`` (or the XML file's name); an image
listed in ``ImageSets/Main`` without an annotation file (datumaro writes none for an image
without objects) is a frame with the object absent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from microlab.boxes import Detections, Source
from microlab.errors import FormatError
from microlab.interop._xml import parse_xml, sub, write_xml
from microlab.interop.checks import check_box, check_score, check_source, frame_from_name
from microlab.interop.labels import (
    ALL_SOURCES,
    ClipInfo,
    LabelSet,
    class_id_of,
    fmt_number,
    label_box,
    score_or_none,
)

SUBSET = "default"


def save_voc(labels: LabelSet, path: str | Path) -> Path:
    """Write a Pascal VOC folder at ``path`` (replacing an earlier export there)."""
    root = Path(path)
    ann_dir = root / "Annotations"
    sets_dir = root / "ImageSets" / "Main"
    ann_dir.mkdir(parents=True, exist_ok=True)
    sets_dir.mkdir(parents=True, exist_ok=True)
    exported = {labels.clip.stem(f) for f in labels.frames}
    for stale in ann_dir.glob("*.xml"):  # from an earlier export into the same folder
        if stale.stem not in exported:
            stale.unlink()
    width, height = labels.clip.size
    stems = []
    classes = list(labels.classes) or ["object"]
    for frame, boxes in labels.sorted_frames():
        stem = labels.clip.stem(frame)
        stems.append(stem)
        doc = ET.Element("annotation")
        sub(doc, "folder", labels.clip.name)
        sub(doc, "filename", labels.clip.file_names[frame])
        sub(sub(doc, "source"), "database", "microlab")
        size = sub(doc, "size")
        sub(size, "width", str(width))
        sub(size, "height", str(height))
        sub(size, "depth", "3")
        sub(doc, "segmented", "0")
        for xyxy, class_id, source, score in zip(
            boxes.xyxy, boxes.class_ids, boxes.sources, boxes.scores
        ):
            obj = sub(doc, "object")
            sub(obj, "name", classes[int(class_id)])
            sub(obj, "pose", "Unspecified")
            sub(obj, "truncated", "0")
            sub(obj, "difficult", "0")
            sub(obj, "occluded", "0")
            bndbox = sub(obj, "bndbox")
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), xyxy):
                sub(bndbox, tag, fmt_number(value))
            attributes = sub(obj, "attributes")
            attrs = {"source": source.value}
            if score_or_none(score) is not None:
                attrs["score"] = fmt_number(score, 6)
            for name, value in attrs.items():
                attribute = sub(attributes, "attribute")
                sub(attribute, "name", name)
                sub(attribute, "value", value)
        write_xml(doc, ann_dir / f"{stem}.xml")
    (sets_dir / f"{SUBSET}.txt").write_text("".join(f"{s}\n" for s in stems))
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\n" + "".join(f"{name}:::\n" for name in classes)
    )
    return root


def _annotation_files(root: Path) -> list[Path]:
    if root.is_file() and root.suffix.lower() == ".xml":
        return [root]
    ann_dir = root / "Annotations"
    if not ann_dir.is_dir():
        raise FormatError(f"{root} is not a Pascal VOC folder: it has no Annotations/ folder")
    # Subset lists (train.txt, default.txt...), not the per-class lists (person_train.txt).
    listed = [f for f in sorted((root / "ImageSets" / "Main").glob("*.txt")) if "_" not in f.stem]
    if listed:
        stems: list[str] = []
        for file in listed:
            stems += [line.split()[0] for line in file.read_text().splitlines()
                      if line.strip() and not line.lstrip().startswith("#")]
        # A listed image without an annotation file has no objects (datumaro writes none).
        files = [ann_dir / f"{s}.xml" for s in dict.fromkeys(stems)]
        if files:
            return files
    files = sorted(ann_dir.glob("*.xml"))
    if not files:
        raise FormatError(f"{ann_dir} holds no .xml annotation files")
    return files


def load_voc(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a Pascal VOC folder (or one annotation file); files are matched to frames by name.

    A file without objects is a frame with the object absent.
    """
    root = Path(path)
    frames: dict[int, list[Detections]] = {}
    classes: list[str] = []
    labelmap = root / "labelmap.txt"
    if labelmap.is_file():
        for line in labelmap.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name = line.split(":")[0].strip()
                if name and name != "background":
                    classes.append(name)
    for file in _annotation_files(root):
        if not file.is_file():
            frames[frame_from_name(file.name, clip,
                                   f"{root / 'ImageSets'} entry {file.stem!r}")] = []
            continue
        doc = parse_xml(file)
        top = doc.root
        if top.tag != "annotation":
            raise doc.error(top, "the root element of a VOC file must be <annotation>")
        name_elem = top.find("filename")
        name = (name_elem.text or "").strip() if name_elem is not None else ""
        frame = frame_from_name(name or file.name, clip,
                                doc.where(name_elem if name_elem is not None else top))
        size = top.find("size")
        if size is not None and size.find("width") is not None:
            w = doc.value(size, "width", int)
            h = doc.value(size, "height", int)
            if (w, h) != tuple(clip.size):
                raise doc.error(size, f"the image is {w}x{h} but the clip's frames are "
                                      f"{clip.size[0]}x{clip.size[1]}; the "
                                      "labels are for other frames")
        boxes = frames.setdefault(frame, [])
        for obj in top.iter("object"):
            label = doc.value(obj, "name", str).strip()
            if not label:
                raise doc.error(obj, "<name> is empty; every object needs a class name")
            bndbox = doc.child(obj, "bndbox")
            xyxy = tuple(doc.value(bndbox, tag, float) for tag in ("xmin", "ymin", "xmax", "ymax"))
            attrs: dict[str, str] = {}
            attributes = obj.find("attributes")
            if attributes is not None:
                for attribute in attributes.iter("attribute"):
                    attr_name = doc.value(attribute, "name", str)
                    attrs[attr_name] = (attribute.findtext("value") or "").strip()
            where = doc.where(bndbox)
            score = check_score(attrs.get("score"), where)
            if attrs.get("source") in ALL_SOURCES:
                source = check_source(attrs["source"], where)
            else:
                source = Source.MODEL if score is not None else Source.HUMAN
            boxes.append(label_box(check_box(xyxy, clip, where), class_id_of(classes, label),
                                   source=source, score=score))
    return LabelSet.from_boxes(clip, classes, frames)
