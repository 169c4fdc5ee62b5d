"""Label Studio tasks JSON: one task per frame, boxes as ``rectanglelabels`` in percent.

Written: a JSON list with a task for every frame of the clip (so the whole clip can be labelled
in Label Studio), ``data`` = ``{"image": URL, "frame": index}``.  Human-verified frames carry an
``annotation`` (an empty ``result`` = object absent); frames with only machine boxes carry a
``prediction`` with per-region and overall ``score`` and ``model_version``; other tasks are
empty (unlabelled).  :func:`labelstudio_config` gives the matching labelling config
(``<RectangleLabels name="label" toName="image">``).

Preserved: boxes (full float precision), class names, machine scores, absent and unlabelled
frames; human vs machine (annotations vs predictions).  Lost: which human source (drawn,
imported, accepted) a verified box had.  Reading takes, per task, the last annotation that is
not cancelled, else the last prediction; rotated rectangles are refused.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from microlab._version import __version__
from microlab.boxes import Detections, Source
from microlab.errors import FormatError, FrameIndexError
from microlab.frames import frame_index
from microlab.interop.checks import check_box, check_score, frame_from_name
from microlab.interop.coco import load_json
from microlab.interop.labels import ClipInfo, LabelSet, class_id_of, label_box, score_or_none

FROM_NAME = "label"
TO_NAME = "image"


def label_elements(classes: list[str]) -> str:
    """One ``<Label value="..."/>`` line per class (``object`` when there are none)."""
    return "".join(f"    <Label value={quoteattr(c)}/>\n" for c in (classes or ["object"]))


def labelstudio_config(classes: list[str]) -> str:
    """The Label Studio labelling config that matches :func:`save_labelstudio`'s tasks."""
    labels = label_elements(classes)
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image"/>\n'
        f'  <RectangleLabels name="{FROM_NAME}" toName="{TO_NAME}">\n'
        f"{labels}"
        "  </RectangleLabels>\n"
        "</View>\n"
    )


def _region(box: Detections, frame: int, n: int, size: tuple[int, int], classes: list[str],
            *, with_score: bool) -> dict[str, Any]:
    """The region of a one-box ``Detections``."""
    width, height = size
    x0, y0, x1, y1 = box.xyxy[0]
    region: dict[str, Any] = {
        "id": f"f{frame}b{n}",
        "type": "rectanglelabels",
        "from_name": FROM_NAME,
        "to_name": TO_NAME,
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": {
            "x": 100.0 * x0 / width,
            "y": 100.0 * y0 / height,
            "width": 100.0 * (x1 - x0) / width,
            "height": 100.0 * (y1 - y0) / height,
            "rotation": 0,
            "rectanglelabels": [classes[int(box.class_ids[0])]],
        },
    }
    score = score_or_none(box.scores[0])
    if with_score and score is not None:
        region["score"] = score
    return region


def labelstudio_tasks(labels: LabelSet, *, image_url: str = "{name}") -> list[dict[str, Any]]:
    """The Label Studio tasks for ``labels`` as plain Python data (see :func:`save_labelstudio`)."""
    clip = labels.clip
    classes = list(labels.classes) or ["object"]
    tasks = []
    for frame in range(clip.n_frames):
        task: dict[str, Any] = {
            "id": frame + 1,
            "data": {"image": image_url.format(name=clip.file_names[frame], index=frame),
                     "frame": frame},
        }
        boxes = labels.frames.get(frame)
        if boxes is not None and (not len(boxes) or boxes.human_mask().any()):
            human = boxes[boxes.human_mask()]
            task["annotations"] = [{
                "result": [_region(b, frame, n, clip.size, classes, with_score=False)
                           for n, b in enumerate(human)],
                "was_cancelled": False,
                "ground_truth": False,
            }]
        elif boxes is not None:
            scores = [float(s) for s in boxes.scores if score_or_none(s) is not None]
            task["predictions"] = [{
                "model_version": f"microlab {__version__}",
                "score": min(scores) if scores else None,
                "result": [_region(b, frame, n, clip.size, classes, with_score=True)
                           for n, b in enumerate(boxes)],
            }]
        tasks.append(task)
    return tasks


def save_labelstudio(labels: LabelSet, path: str | Path, *, image_url: str = "{name}") -> Path:
    """Write a Label Studio tasks JSON file at ``path``.

    Args:
        labels: what to write.
        path: the JSON file.
        image_url: how a task names its image, a format string with ``{name}`` (the frame's
            file name) and ``{index}``, e.g. ``"/data/local-files/?d=clip/img/{name}"`` for
            Label Studio's local file storage.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labelstudio_tasks(labels, image_url=image_url), indent=1) + "\n")
    return path


def _frame_of(task: dict[str, Any], clip: ClipInfo, where: str) -> int:
    data = task.get("data")
    if not isinstance(data, dict):
        raise FormatError(f"{where}: a task needs a 'data' object with the image, but got {data!r}")
    frame = data.get("frame")
    with contextlib.suppress(FrameIndexError):
        return frame_index(frame, clip.n_frames)  # else the frame is named by its image
    for value in data.values():
        if isinstance(value, str) and clip.frame_index(value) is not None:
            return clip.frame_index(value)  # type: ignore[return-value]
    image = data.get(TO_NAME) or next((v for v in data.values() if isinstance(v, str)), None)
    return frame_from_name(str(image), clip, where)


def _boxes(result: Any, clip: ClipInfo, where: str, classes: list[str], *, machine: bool,
           default_score: float | None) -> list[Detections]:
    if not isinstance(result, list):
        raise FormatError(f"{where}: 'result' must be a list of regions, but got {result!r}")
    boxes = []
    for i, region in enumerate(result):
        here = f"{where}.result[{i}]"
        if not isinstance(region, dict):
            raise FormatError(f"{here}: expected a region object, but got {region!r}")
        if region.get("type") != "rectanglelabels":
            continue  # other controls (choices, text...) carry no box
        value = region.get("value")
        if not isinstance(value, dict):
            raise FormatError(f"{here}: a rectanglelabels region needs a 'value' object")
        try:
            x, y, w, h = (float(value[k]) for k in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{here}: 'value' needs numeric x, y, width and height (percent), "
                              f"but got {value!r}") from exc
        if float(value.get("rotation") or 0) != 0:
            raise FormatError(f"{here}: rotated rectangles cannot be imported (microlab boxes are "
                              "axis-aligned)")
        names = value.get("rectanglelabels")
        if not isinstance(names, list) or not names or not isinstance(names[0], str):
            raise FormatError(f"{here}: 'rectanglelabels' must list the class name, "
                              f"but got {names!r}")
        width, height = clip.size
        xyxy = (x * width / 100, y * height / 100, (x + w) * width / 100, (y + h) * height / 100)
        score = check_score(region.get("score"), here)
        if score is None:
            score = default_score
        boxes.append(label_box(check_box(xyxy, clip, here), class_id_of(classes, names[0]),
                               source=Source.MODEL if machine else Source.HUMAN,
                               score=score if machine else None))
    return boxes


def load_labelstudio(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a Label Studio tasks JSON export; tasks are matched to frames by ``data.frame`` or image
    name."""
    path = Path(path)
    doc = load_json(path)
    tasks = [doc] if isinstance(doc, dict) else doc
    if not isinstance(tasks, list):
        raise FormatError(f"{path}: expected a JSON list of Label Studio tasks, "
                          f"but got {type(doc).__name__}")
    frames: dict[int, list[Detections]] = {}
    classes: list[str] = []
    for t, task in enumerate(tasks):
        where = f"{path}: task[{t}]"
        if not isinstance(task, dict):
            raise FormatError(f"{where}: expected a task object, but got {task!r}")
        if "id" in task:
            where += f" (id {task['id']})"
        frame = _frame_of(task, clip, where)
        annotations = task.get("annotations") or task.get("completions") or []
        predictions = task.get("predictions") or []
        if not isinstance(annotations, list) or not isinstance(predictions, list):
            raise FormatError(f"{where}: 'annotations' and 'predictions' must be lists")
        kept = [a for a in annotations if isinstance(a, dict)
                and not a.get("was_cancelled") and not a.get("skipped")]
        if kept:
            i = annotations.index(kept[-1])
            boxes = _boxes(kept[-1].get("result", []), clip, f"{where}.annotations[{i}]",
                           classes, machine=False, default_score=None)
        elif predictions:
            i = len(predictions) - 1
            pred = predictions[i]
            if not isinstance(pred, dict):
                raise FormatError(f"{where}.predictions[{i}]: expected an object, but got {pred!r}")
            default = check_score(pred.get("score"), f"{where}.predictions[{i}]")
            boxes = _boxes(pred.get("result", []), clip, f"{where}.predictions[{i}]",
                           classes, machine=True, default_score=default)
            if not boxes:
                continue  # a model's "nothing here" is no label
        else:
            continue
        frames[frame] = boxes
    return LabelSet.from_boxes(clip, classes, frames)
