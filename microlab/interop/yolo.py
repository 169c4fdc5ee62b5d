"""Ultralytics YOLO: ``data.yaml`` + ``labels/train/<frame>.txt`` with normalised boxes.

Layout written (a folder)::

    OUT/data.yaml              names, nc, train/val: images/train
    OUT/labels/train/00001.txt "class cx cy w h" per box, normalised to [0, 1], 6 decimals
    OUT/images/train/00001.jpg links to the frames (when the clip is a folder of images)

Preserved: boxes (6 decimals of the frame size: < 0.01 px on 1280 px), class names, absent
frames (an empty label file), unlabelled frames (no label file).  Lost: source and score (YOLO
training labels have exactly five columns; Ultralytics rejects a sixth), so machine boxes come
back as human labels.  Reading also accepts a sixth ``confidence`` column (Ultralytics'
``save_conf`` prediction files): such boxes import as machine predictions.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from microlab.boxes import Detections, Source
from microlab.errors import FormatError
from microlab.interop.checks import check_box, check_score, frame_from_name
from microlab.interop.labels import ClipInfo, LabelSet, label_box

SUBSET = "train"


def save_yolo(
    labels: LabelSet, path: str | Path, *, image_files: Sequence[str | Path] | None = None
) -> Path:
    """Write an Ultralytics YOLO dataset folder at ``path``.

    Args:
        labels: what to write.
        path: the dataset folder (created; the label files and image links of an earlier
            export there are replaced).
        image_files: the clip's frame files, one per frame; the exported frames are linked (or
            copied where links are not allowed) into ``images/train`` so the folder trains as is.
    """
    root = Path(path)
    label_dir = root / "labels" / SUBSET
    label_dir.mkdir(parents=True, exist_ok=True)
    exported = {labels.clip.stem(f) for f in labels.frames}
    for stale in label_dir.glob("*.txt"):  # from an earlier export: it would read as a label
        if stale.stem not in exported:
            stale.unlink()
    width, height = labels.clip.size
    classes = list(labels.classes) or ["object"]
    for frame, boxes in labels.sorted_frames():
        lines = []
        for (x0, y0, x1, y1), class_id in zip(boxes.xyxy, boxes.class_ids):
            cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
            w, h = (x1 - x0) / width, (y1 - y0) / height
            lines.append(f"{int(class_id)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        (label_dir / f"{labels.clip.stem(frame)}.txt").write_text("".join(lines))
    if image_files is not None:
        image_dir = root / "images" / SUBSET
        image_dir.mkdir(parents=True, exist_ok=True)
        for stale in image_dir.iterdir():
            if stale.is_symlink() and Path(stale.name).stem not in exported:
                stale.unlink()
        for frame in labels.frames:
            source = Path(image_files[frame]).resolve()
            target = image_dir / source.name
            if target.is_symlink() or target.exists():
                target.unlink()
            try:
                os.symlink(source, target)
            except OSError:
                shutil.copy2(source, target)
    meta = {
        "train": f"images/{SUBSET}",
        "val": f"images/{SUBSET}",
        "nc": len(classes),
        "names": dict(enumerate(classes)),
    }
    header = f"# {labels.clip.name}: {len(labels.frames)} labelled frames, exported by microlab\n"
    (root / "data.yaml").write_text(header + yaml.safe_dump(meta, sort_keys=False))
    return root


def _read_names(root: Path) -> list[str]:
    meta_path = root / "data.yaml"
    if not meta_path.is_file():
        return []
    try:
        meta = yaml.safe_load(meta_path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(f"{meta_path}{at}: not valid YAML ({problem})") from exc
    names = meta.get("names") if isinstance(meta, dict) else None
    if isinstance(names, dict):
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError) as exc:
            raise FormatError(f"{meta_path}: 'names' keys must be class numbers 0, 1, ...") from exc
    if isinstance(names, list):
        return [str(n) for n in names]
    raise FormatError(
        f"{meta_path}: expected 'names' as a list or a {{number: name}} mapping, but got {names!r}"
    )


def _label_files(root: Path) -> list[Path]:
    if root.is_file():
        raise FormatError(f"{root} is a file; give the YOLO dataset "
                          "folder (the one with data.yaml)")
    for candidate in (root / "labels" / SUBSET, root / "labels", root):
        files = sorted(candidate.glob("*.txt")) if candidate.is_dir() else []
        files = [f for f in files if f.name not in ("classes.txt", "train.txt", "val.txt")]
        if files:
            return files
    raise FormatError(
        f"{root} holds no YOLO label files; expected labels/{SUBSET}/<frame>.txt "
        "(one per labelled frame) next to data.yaml"
    )


def load_yolo(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a YOLO dataset folder; label files are matched to frames by file name.

    Class names come from ``data.yaml`` (without it, classes are unnamed: the project's first).
    An empty label file is a frame with the object absent.
    """
    root = Path(path)
    names = _read_names(root)
    width, height = clip.size
    frames: dict[int, list[Detections]] = {}
    for file in _label_files(root):
        frame = frame_from_name(file.name, clip, str(file))
        boxes = frames.setdefault(frame, [])
        for lineno, raw in enumerate(file.read_text().splitlines(), start=1):
            where = f"{file} line {lineno}"
            parts = raw.split()
            if not parts:
                continue
            if len(parts) not in (5, 6):
                raise FormatError(
                    f"{where}: expected 'class cx cy w h' (5 numbers, or 6 with a confidence), "
                    f"but got {len(parts)} fields: {raw!r}"
                )
            try:
                cls = int(parts[0])
                cx, cy, w, h = (float(v) for v in parts[1:5])
            except ValueError as exc:
                raise FormatError(f"{where}: not a class number and 4 numbers: {raw!r}") from exc
            if names and not 0 <= cls < len(names):
                raise FormatError(
                    f"{where}: class {cls} is not in data.yaml's names (0..{len(names) - 1})"
                )
            if not all(0.0 <= v <= 1.0 for v in (cx, cy, w, h)):
                raise FormatError(
                    f"{where}: YOLO coordinates are fractions of the image in [0, 1], but got "
                    f"{raw!r} (pixel coordinates?)"
                )
            xyxy = ((cx - w / 2) * width, (cy - h / 2) * height,
                    (cx + w / 2) * width, (cy + h / 2) * height)
            score = check_score(parts[5], where) if len(parts) == 6 else None
            boxes.append(label_box(
                check_box(xyxy, clip, where), cls if names else 0,  # unnamed: the project's first
                source=Source.MODEL if score is not None else Source.HUMAN, score=score,
            ))
    return LabelSet.from_boxes(clip, names, frames)
