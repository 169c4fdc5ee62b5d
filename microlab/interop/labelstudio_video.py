"""Label Studio video JSON: one task for the clip, one ``videorectangle`` region per object.

Written: a JSON list with one task, ``data`` = ``{"video": URL}``; its annotation holds the
human boxes and its prediction the machine ones.  Each region is one object (a track): its
``value.sequence`` has a keyframe per labelled frame (``frame`` 1-based, ``time`` in seconds,
``x``/``y``/``width``/``height`` in percent, ``enabled``), and ``value.labels`` its class.  Where
the object has left (a labelled frame without its box, before its next box), a keyframe with
``"enabled": false`` ends its run (otherwise Label Studio would stretch the box over the gap);
between keyframes with no labelled frame in between, Label Studio interpolates, as CVAT does.
:func:`labelstudio_video_config` gives the matching config (``<Video>`` plus
``<VideoRectangle>`` and ``<Labels>``).

Preserved: boxes, classes, identities (one region per track, ``meta.track_id``), human vs
machine (annotation vs prediction), machine scores (per keyframe, ``meta.scores``), objects
leaving the view.  Lost: absent frames where no object has a box (Label Studio has no "nothing
here" for a video frame) and unlabelled frames between two keyframes, which Label Studio shows
interpolated.  Reading takes the keyframes as labels and, like Label Studio, the frames between
two enabled keyframes of a region as interpolated boxes (machine boxes: nobody checked them; in a
project, a frame a person labelled keeps only the person's boxes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from microlab._version import __version__
from microlab.boxes import Detections, Source
from microlab.errors import FormatError
from microlab.interop.checks import check_box, check_score
from microlab.interop.coco import load_json
from microlab.interop.labels import (
    ClipInfo,
    LabelSet,
    class_id_of,
    label_box,
    link_tracks,
    score_or_none,
)
from microlab.interop.labelstudio import label_elements

FROM_NAME = "box"
TO_NAME = "video"


def labelstudio_video_config(classes: list[str], *, fps: float = 30.0) -> str:
    """The Label Studio labelling config that matches :func:`save_labelstudio_video`."""
    labels = label_elements(classes)
    return (
        "<View>\n"
        f'  <Video name="{TO_NAME}" value="$video" framerate="{fps:g}"/>\n'
        f'  <VideoRectangle name="{FROM_NAME}" toName="{TO_NAME}"/>\n'
        f'  <Labels name="videoLabels" toName="{TO_NAME}">\n'
        f"{labels}"
        "  </Labels>\n"
        "</View>\n"
    )


def _keyframe(clip: ClipInfo, frame: int, xyxy: Any, *, enabled: bool) -> dict[str, Any]:
    width, height = clip.size
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    return {"frame": frame + 1, "time": frame / clip.fps, "enabled": enabled,
            "x": 100.0 * x0 / width, "y": 100.0 * y0 / height,
            "width": 100.0 * (x1 - x0) / width, "height": 100.0 * (y1 - y0) / height,
            "rotation": 0}


def _regions(labels: LabelSet, human: bool) -> list[dict[str, Any]]:
    clip = labels.clip
    classes = list(labels.classes) or ["object"]
    ids = link_tracks(labels)
    tracks: dict[int, list[tuple[int, Detections]]] = {}
    for (frame, i), track in ids.items():
        box = labels.frames[frame][i]
        if bool(box.human_mask()[0]) == human:
            tracks.setdefault(track, []).append((frame, box))
    labelled = np.asarray(sorted(labels.frames), int)
    regions = []
    for track in sorted(tracks):
        boxes = sorted(tracks[track], key=lambda fb: fb[0])
        sequence, scores = [], []
        for n, (frame, box) in enumerate(boxes):
            sequence.append(_keyframe(clip, frame, box.xyxy[0], enabled=True))
            scores.append(score_or_none(box.scores[0]))
            # The object left: the first labelled frame without its box, before its next box.
            following = boxes[n + 1][0] if n + 1 < len(boxes) else clip.n_frames
            gone = labelled[(labelled > frame) & (labelled < following)]
            if len(gone):
                sequence.append(_keyframe(clip, int(gone[0]), box.xyxy[0], enabled=False))
        first = boxes[0][1]
        stored_track = int(first.track_ids[0])
        regions.append({
            "id": f"track{track}",
            "type": "videorectangle",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "origin": "manual" if human else "prediction",
            "value": {"framesCount": clip.n_frames, "duration": clip.n_frames / clip.fps,
                      "sequence": sequence,
                      "labels": [classes[int(first.class_ids[0])]]},
            "meta": {"track_id": stored_track if stored_track >= 0 else track,
                     **({} if human else {"scores": scores})},
        })
    return regions


def labelstudio_video_tasks(labels: LabelSet, *, video_url: str = "{name}.mp4",
                            ) -> list[dict[str, Any]]:
    """The Label Studio video task for ``labels`` as plain Python data."""
    task: dict[str, Any] = {"id": 1, "data": {"video": video_url.format(name=labels.clip.name)}}
    human, machine = _regions(labels, True), _regions(labels, False)
    if human:
        task["annotations"] = [{"result": human, "was_cancelled": False,
                                "ground_truth": False}]
    if machine:
        task["predictions"] = [{"model_version": f"microlab {__version__}", "result": machine}]
    return [task]


def save_labelstudio_video(labels: LabelSet, path: str | Path, *,
                           video_url: str = "{name}.mp4") -> Path:
    """Write a Label Studio video task JSON file at ``path``.

    Args:
        labels: what to write.
        path: the JSON file.
        video_url: how the task names the video, a format string with ``{name}`` (the clip's
            name), e.g. ``"/data/local-files/?d=videos/{name}.mp4"``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labelstudio_video_tasks(labels, video_url=video_url), indent=1)
                    + "\n")
    return path


def _read_region(region: Any, where: str, clip: ClipInfo, classes: list[str], track: int,
                 *, machine: bool, frames: dict[int, list[Detections]]) -> None:
    if not isinstance(region, dict):
        raise FormatError(f"{where}: expected a region object, but got {region!r}")
    if region.get("type") != "videorectangle":
        return  # other controls carry no track
    value = region.get("value")
    if not isinstance(value, dict) or not isinstance(value.get("sequence"), list):
        raise FormatError(f"{where}: a videorectangle region needs 'value.sequence', a list of "
                          "keyframes")
    names = value.get("labels")
    if not isinstance(names, list) or not names or not isinstance(names[0], str):
        raise FormatError(f"{where}: 'value.labels' must list the class name, but got {names!r}")
    class_id = class_id_of(classes, names[0])
    meta = region.get("meta") if isinstance(region.get("meta"), dict) else {}
    if isinstance(meta.get("track_id"), int) and not isinstance(meta.get("track_id"), bool):
        track = int(meta["track_id"])
    scores = meta.get("scores") if isinstance(meta.get("scores"), list) else []
    width, height = clip.size
    keyframes: list[tuple[int, bool, tuple[float, float, float, float], float | None]] = []
    enabled_seen = 0
    for k, kf in enumerate(value["sequence"]):
        here = f"{where}.value.sequence[{k}]"
        if not isinstance(kf, dict):
            raise FormatError(f"{here}: expected a keyframe object, but got {kf!r}")
        try:
            frame = int(kf["frame"]) - 1
            x, y, w, h = (float(kf[key]) for key in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{here}: a keyframe needs a frame number (from 1) and numeric x, "
                              f"y, width and height (percent), but got {kf!r}") from exc
        if not 0 <= frame < clip.n_frames:
            raise FormatError(f"{here}: frame {frame + 1} is outside the clip (frames 1 to "
                              f"{clip.n_frames})")
        if float(kf.get("rotation") or 0) != 0:
            raise FormatError(f"{here}: rotated rectangles cannot be imported (microlab boxes "
                              "are axis-aligned)")
        enabled = kf.get("enabled", True) is not False
        xyxy = (x * width / 100, y * height / 100, (x + w) * width / 100, (y + h) * height / 100)
        score = None
        if machine and enabled:
            score = check_score(scores[enabled_seen] if enabled_seen < len(scores) else None, here)
            enabled_seen += 1
        keyframes.append((frame, enabled, check_box(xyxy, clip, here) if enabled else xyxy,
                          score))
    keyframes.sort(key=lambda kf: kf[0])
    source = Source.MODEL if machine else Source.HUMAN
    for n, (frame, enabled, xyxy, score) in enumerate(keyframes):
        if not enabled:
            continue
        frames.setdefault(frame, []).append(label_box(xyxy, class_id, source=source,
                                                      score=score if machine else None,
                                                      track_id=track))
        if n + 1 < len(keyframes):  # Label Studio interpolates up to the next keyframe
            nxt, nxt_enabled, nxt_xyxy, _ = keyframes[n + 1]
            if not nxt_enabled:
                continue
            for f in range(frame + 1, nxt):
                t = (f - frame) / (nxt - frame)
                box = tuple(float(v) for v in (1 - t) * np.asarray(xyxy) + t * np.asarray(nxt_xyxy))
                frames.setdefault(f, []).append(label_box(box, class_id,
                                                          source=Source.INTERPOLATED, score=None,
                                                          track_id=track))


def load_labelstudio_video(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a Label Studio video export (a task list, or one task) for ``clip``."""
    path = Path(path)
    doc = load_json(path)
    tasks = [doc] if isinstance(doc, dict) else doc
    if not isinstance(tasks, list) or len(tasks) != 1:
        raise FormatError(f"{path}: expected one Label Studio video task (for this clip), but got "
                          f"{len(tasks) if isinstance(tasks, list) else type(doc).__name__}; "
                          "export the clip's task alone")
    task = tasks[0]
    where = f"{path}: task[0]"
    if not isinstance(task, dict):
        raise FormatError(f"{where}: expected a task object, but got {task!r}")
    annotations = task.get("annotations") or []
    predictions = task.get("predictions") or []
    if not isinstance(annotations, list) or not isinstance(predictions, list):
        raise FormatError(f"{where}: 'annotations' and 'predictions' must be lists")
    frames: dict[int, list[Detections]] = {}
    classes: list[str] = []
    kept = [a for a in annotations if isinstance(a, dict)
            and not a.get("was_cancelled") and not a.get("skipped")]
    sources: list[tuple[str, Any, bool]] = []
    if kept:
        sources.append((f"annotations[{annotations.index(kept[-1])}]", kept[-1], False))
    if predictions:
        sources.append((f"predictions[{len(predictions) - 1}]", predictions[-1], True))
    track = 0
    for name, holder, machine in sources:
        if not isinstance(holder, dict) or not isinstance(holder.get("result", []), list):
            raise FormatError(f"{where}.{name}: expected an object with a 'result' list")
        for i, region in enumerate(holder.get("result", [])):
            _read_region(region, f"{where}.{name}.result[{i}]", clip, classes, track,
                         machine=machine, frames=frames)
            track += 1
    return LabelSet.from_boxes(clip, classes, frames)


__all__ = ["labelstudio_video_config", "labelstudio_video_tasks", "load_labelstudio_video",
           "save_labelstudio_video"]
