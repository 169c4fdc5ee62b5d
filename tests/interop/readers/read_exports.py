"""Read label exports with independent libraries and print what they found, as JSON.

Runs in the readers' virtualenv (see setup.sh), not microlab's: it imports no microlab code.
Input (stdin): a JSON list of jobs ``{"format": ..., "path": ..., "config": ...}`` with format
one of cvat_video, voc, yolo, mot (read by datumaro), labelstudio or labelstudio_video (read
by label-studio-sdk).
A datumaro job may also say ``"export_to": [[datumaro_format, folder], ...]``: datumaro then
writes what it read in its own writers, for microlab to read back (files as other tools make them).
Output (stdout): one result per job, ``{"items": [{"id", "frame", "boxes": [...]}]}`` where each
box is ``{"xyxy", "label", "attributes"}``; Label Studio results also carry ``"errors"`` from
the SDK's validator of annotations and predictions.  A ``labelstudio_video`` job (with the
frame ``"size"``) gives ``{"keyframes": [...], "errors": [...]}``: every keyframe of every region,
in pixels.
"""

from __future__ import annotations

import json
import logging
import sys

logging.disable(logging.WARNING)


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def read_datumaro(fmt: str, path: str, export_to: list[list[str]]) -> dict:
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset

    name = {"cvat_video": "cvat", "voc": "voc_detection", "yolo": "yolo", "mot": "mot_seq"}[fmt]
    dataset = Dataset.import_from(path, name)
    for out_format, folder in export_to:
        dataset.export(folder, out_format, save_media=False)
    labels = dataset.categories()[AnnotationType.label]
    items = []
    for item in dataset:
        boxes = []
        for ann in item.annotations:
            if ann.type != AnnotationType.bbox:
                continue
            x, y, w, h = ann.get_bbox()
            boxes.append({
                "xyxy": [x, y, x + w, y + h],
                "label": labels[ann.label].name if ann.label is not None else None,
                "attributes": {k: _plain(v) for k, v in ann.attributes.items()},
            })
        items.append({"id": str(item.id), "frame": _plain(item.attributes.get("frame")),
                      "subset": item.subset, "boxes": boxes})
    return {"items": items}


def read_labelstudio(path: str, config: str) -> dict:
    from label_studio_sdk.converter import Converter
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(config)
    errors = []
    with open(path) as fh:
        tasks = json.load(fh)
    for task in tasks:
        for ann in task.get("annotations", []):
            if not interface.validate_annotation(ann):
                errors.append(f"task {task['id']}: annotation rejected")
        for pred in task.get("predictions", []):
            errors += [f"task {task['id']}: {e}" for e in
                       interface.validate_prediction(pred, return_errors=True) or []]
    converter = Converter(config=config, project_dir=None, download_resources=False)
    items = []
    for entry in converter.iter_from_json_file(path):
        boxes = []
        for regions in (entry.get("output") or {}).values():
            for v in regions:
                w, h = v["original_width"], v["original_height"]
                x0, y0 = v["x"] * w / 100, v["y"] * h / 100
                boxes.append({
                    "xyxy": [x0, y0, x0 + v["width"] * w / 100, y0 + v["height"] * h / 100],
                    "label": v["rectanglelabels"][0],
                    "attributes": {},
                })
        items.append({"id": str(entry["id"]), "frame": entry["input"].get("frame"), "boxes": boxes})
    return {"items": items, "errors": errors}


def read_labelstudio_video(path: str, config: str, size: list[int]) -> dict:
    """Validate a video task with label-studio-sdk's interface and list its keyframes in pixels:
    the regions' sequences read as Label Studio's video player reads them."""
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(config)
    names = {label for control in interface.controls if control.tag == "Labels"
             for label in control.labels}
    width, height = size
    errors, keyframes = [], []
    with open(path) as fh:
        tasks = json.load(fh)
    for task in tasks:
        kinds = [("annotation", a) for a in task.get("annotations", [])]
        kinds += [("prediction", p) for p in task.get("predictions", [])]
        for kind, item in kinds:
            if kind == "annotation" and not interface.validate_annotation(item):
                errors.append(f"task {task['id']}: annotation rejected")
            if kind == "prediction":
                errors += [f"task {task['id']}: {e}" for e in
                           interface.validate_prediction(item, return_errors=True) or []]
            for region in item["result"]:
                value = region["value"]
                errors += [f"region {region['id']}: label {name!r} not in the config"
                           for name in value.get("labels", []) if name not in names]
                for kf in value["sequence"]:
                    x0, y0 = kf["x"] * width / 100, kf["y"] * height / 100
                    keyframes.append({
                        "kind": kind, "region": region["id"],
                        "track": region.get("meta", {}).get("track_id"),
                        "label": value["labels"][0], "frame": kf["frame"],
                        "enabled": kf.get("enabled", True),
                        "xyxy": [x0, y0, x0 + kf["width"] * width / 100,
                                 y0 + kf["height"] * height / 100]})
    return {"keyframes": keyframes, "errors": errors}


def main() -> int:
    jobs = json.load(sys.stdin)
    results = []
    for job in jobs:
        if job["format"] == "labelstudio":
            results.append(read_labelstudio(job["path"], job["config"]))
        elif job["format"] == "labelstudio_video":
            results.append(read_labelstudio_video(job["path"], job["config"], job["size"]))
        else:
            results.append(read_datumaro(job["format"], job["path"], job.get("export_to", [])))
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
