"""COCO detection JSON: ``images``, ``annotations`` (``bbox`` = x, y, w, h), ``categories``.

Written: one ``images`` entry per labelled frame (id = frame index + 1, ``file_name`` = the
frame's file name, ``width``/``height``); one annotation per box with ``bbox``, ``area``,
``iscrowd`` 0, an empty ``segmentation``, ``score`` when the box has one (machine boxes, and
machine boxes a human accepted), and ``attributes`` ``{"source": ..., "occluded": false}`` as
CVAT writes them, with ``"track_id"`` when the box names its object; categories numbered from
1.

Preserved: boxes (to 0.001 px), class names, source, score, object identities, absent frames
(an image with no annotation), unlabelled frames (no image entry).  Read back by file name, so
the clip must have the same frame names.  Lost: nothing microlab stores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from microlab._version import __version__
from microlab.boxes import Detections, xyxy_to_xywh
from microlab.errors import FormatError
from microlab.interop.checks import check_box, check_score, check_source, frame_from_name
from microlab.interop.labels import (
    ALL_SOURCES,
    ClipInfo,
    LabelSet,
    class_id_of,
    label_box,
    score_or_none,
)


def _round(value: float) -> float:
    return round(float(value), 3)


def coco_dict(labels: LabelSet) -> dict[str, Any]:
    """The COCO document for ``labels`` as plain Python data."""
    width, height = labels.clip.size
    classes = list(labels.classes) or ["object"]
    images, annotations = [], []
    for frame, boxes in labels.sorted_frames():
        images.append({"id": frame + 1, "file_name": labels.clip.file_names[frame],
                       "width": width, "height": height})
        for xywh, class_id, source, score, track in zip(
            xyxy_to_xywh(boxes.xyxy), boxes.class_ids, boxes.sources, boxes.scores,
            boxes.track_ids,
        ):
            x, y, w, h = (_round(v) for v in xywh)
            ann: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": frame + 1,
                "category_id": int(class_id) + 1,
                "bbox": [x, y, w, h],
                "area": round(w * h, 3),
                "iscrowd": 0,
                "segmentation": [],
                "attributes": {"source": source.value, "occluded": False},
            }
            if track >= 0:  # the object's identity, where CVAT's COCO writes it
                ann["attributes"]["track_id"] = int(track)
            if score_or_none(score) is not None:
                ann["score"] = round(float(score), 6)
            annotations.append(ann)
    return {
        "info": {"description": f"{labels.clip.name}, exported by microlab {__version__}",
                 "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name, "supercategory": ""}
                       for i, name in enumerate(classes)],
    }


def save_coco(labels: LabelSet, path: str | Path) -> Path:
    """Write a COCO detection JSON file at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco_dict(labels), indent=1) + "\n")
    return path


def _list(doc: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = doc.get(key, [] if key == "annotations" else None)
    if not isinstance(value, list):
        raise FormatError(
            f"{path}: a COCO file needs a list under {key!r}, but got "
            f"{type(value).__name__ if value is not None else 'nothing'}"
        )
    return value


def _int(entry: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"{where}: {key!r} must be an integer, but got {value!r}")
    return value


def load_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names its line and column."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{path} line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); "
            "is the file truncated?"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read {path} as UTF-8 text: {exc}") from exc


def load_coco(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a COCO detection JSON file; images are matched to frames by file name.

    An image without annotations is a frame with the object absent.  An annotation's source is
    its ``attributes.source`` when given, else ``model`` if it has a ``score``, else ``human``.
    """
    path = Path(path)
    doc = load_json(path)
    if not isinstance(doc, dict):
        raise FormatError(f"{path}: a COCO file is a JSON object with images, annotations and "
                          f"categories, but got a {type(doc).__name__}")
    categories: dict[int, str] = {}
    for i, cat in enumerate(_list(doc, "categories", path)):
        where = f"{path}: categories[{i}]"
        if not isinstance(cat, dict) or not isinstance(cat.get("name"), str):
            raise FormatError(f"{where}: expected an object with 'id' and 'name', but got {cat!r}")
        categories[_int(cat, "id", where)] = cat["name"]
    frames: dict[int, list[Detections]] = {}
    classes = [categories[k] for k in sorted(categories)]
    image_frame: dict[int, int] = {}
    for i, image in enumerate(_list(doc, "images", path)):
        where = f"{path}: images[{i}]"
        if not isinstance(image, dict) or not isinstance(image.get("file_name"), str):
            raise FormatError(f"{where}: expected an object with 'id' and 'file_name', "
                              f"but got {image!r}")
        image_id = _int(image, "id", where)
        frame = frame_from_name(image["file_name"], clip, where)
        size = (image.get("width"), image.get("height"))
        if None not in size and tuple(size) != tuple(clip.size):
            raise FormatError(
                f"{where}: image {image['file_name']!r} is {size[0]}x{size[1]} but the clip's "
                f"frames are {clip.size[0]}x{clip.size[1]}; the labels are for other frames"
            )
        image_frame[image_id] = frame
        frames.setdefault(frame, [])
    for i, ann in enumerate(_list(doc, "annotations", path)):
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict):
            raise FormatError(f"{where}: expected an object, but got {ann!r}")
        if "id" in ann:
            where += f" (id {ann['id']})"
        image_id = _int(ann, "image_id", where)
        if image_id not in image_frame:
            raise FormatError(f"{where}: image_id {image_id} is not "
                              "the id of any entry in 'images'")
        category = _int(ann, "category_id", where)
        if category not in categories:
            raise FormatError(
                f"{where}: category_id {category} is not in 'categories' (ids {sorted(categories)})"
            )
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise FormatError(f"{where}: 'bbox' must be [x, y, width, height], but got {bbox!r}")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in bbox):
            raise FormatError(f"{where}: 'bbox' values must be numbers, but got {bbox!r}")
        x, y, w, h = (float(v) for v in bbox)
        if w <= 0 or h <= 0:
            raise FormatError(f"{where}: bbox width and height must be positive, but got {bbox!r}")
        score = check_score(ann.get("score"), where)
        attributes = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
        if attributes.get("source") in ALL_SOURCES:
            source = check_source(attributes["source"], where)
        else:
            source = "model" if score is not None else "human"
        track = attributes.get("track_id")
        frames[image_frame[image_id]].append(label_box(
            check_box((x, y, x + w, y + h), clip, where),
            class_id_of(classes, categories[category]), source=source, score=score,
            track_id=track if isinstance(track, int) else None,
        ))
    return LabelSet.from_boxes(clip, classes, frames)
