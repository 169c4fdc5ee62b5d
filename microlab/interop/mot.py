"""MOT challenge: ``gt/gt.txt`` rows ``frame,id,x,y,w,h,conf,class,visibility`` + ``seqinfo.ini``.

Layout written (a folder, like a MOT sequence without its ``img1/`` frames)::

    OUT/seqinfo.ini              [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight,
                                 imExt
    OUT/gt/gt.txt                one row per box; frames are 1-based; track ids from 1
    OUT/gt/labels.txt            class names, one per line (class k in gt.txt is line k)
    OUT/gt/labelled_frames.txt   microlab's addition: the frames that carry labels, as 1-based
                                 ranges (``1-170,176-289``); listed frames without rows are absent

The confidence column holds 1 for human boxes and the score for machine boxes (as in MOT
result files).  Preserved: boxes (to 0.001 px), class names, track identities, scores, absent
frames and unlabelled frames (through ``labelled_frames.txt``; seqinfo.ini keeps exactly the
standard keys, which datumaro insists on).  Lost: the exact source (reading
takes a confidence strictly between 0 and 1 as a model prediction, anything else as human).
Without ``labelled_frames.txt``, a folder with ``seqinfo.ini`` is taken as exhaustively annotated
(MOT ground truth is): frames without rows are absent; without ``seqinfo.ini`` only the frames with
rows are labelled.  Without ``labels.txt`` classes are unnamed (the project's first class).
"""

from __future__ import annotations

import configparser
import csv
from pathlib import Path

import numpy as np

from microlab.boxes import Detections, Source, xyxy_to_xywh
from microlab.errors import FormatError
from microlab.interop.checks import check_box, check_frame
from microlab.interop.labels import ClipInfo, LabelSet, fmt_number, label_box, link_tracks

LABELLED_FILE = "labelled_frames.txt"


def _ranges(frames: list[int]) -> str:
    """``[0, 1, 2, 5]`` (0-based) -> ``"1-3,6"`` (1-based)."""
    parts: list[str] = []
    start = prev = None
    for f in sorted(frames):
        if start is None:
            start = prev = f
        elif f == prev + 1:
            prev = f
        else:
            parts.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
            start = prev = f
    if start is not None:
        parts.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
    return ",".join(parts)


def _parse_ranges(text: str, clip: ClipInfo, where: str) -> set[int]:
    frames: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            first, _, last = part.partition("-")
            lo, hi = int(first), int(last or first)
        except ValueError as exc:
            raise FormatError(f"{where}: expected frame ranges like 1-170,176-289, "
                              f"but got {part!r}") from exc
        lo = check_frame(lo, clip, where, one_based=True)
        hi = check_frame(hi, clip, where, one_based=True)
        frames.update(range(lo, hi + 1))
    return frames


def save_mot(labels: LabelSet, path: str | Path) -> Path:
    """Write a MOT sequence folder (without images) at ``path``."""
    root = Path(path)
    (root / "gt").mkdir(parents=True, exist_ok=True)
    clip = labels.clip
    classes = list(labels.classes) or ["object"]
    ids = link_tracks(labels)
    rows = []
    for frame, boxes in labels.sorted_frames():
        human = boxes.human_mask()
        for i, (xywh, class_id, score) in enumerate(
            zip(xyxy_to_xywh(boxes.xyxy), boxes.class_ids, boxes.scores)
        ):
            x, y, w, h = (fmt_number(v) for v in xywh)
            conf = "1" if human[i] or np.isnan(score) else fmt_number(score, 6)
            rows.append(f"{frame + 1},{ids[(frame, i)] + 1},{x},{y},{w},{h},{conf},"
                        f"{int(class_id) + 1},1\n")
    (root / "gt" / "gt.txt").write_text("".join(rows))
    (root / "gt" / "labels.txt").write_text("".join(f"{c}\n" for c in classes))
    (root / "gt" / LABELLED_FILE).write_text(
        "# microlab: frames (1-based) that carry labels; listed frames without rows in gt.txt "
        f"have the object absent\n{_ranges(list(labels.frames))}\n"
    )
    ext = Path(clip.file_names[0]).suffix if clip.file_names else ".jpg"
    info = configparser.ConfigParser()
    info.optionxform = str  # keep MOT's camelCase keys
    info["Sequence"] = {
        "name": clip.name,
        "imDir": "img1",
        "frameRate": str(round(clip.fps)),
        "seqLength": str(clip.n_frames),
        "imWidth": str(clip.size[0]),
        "imHeight": str(clip.size[1]),
        "imExt": ext or ".jpg",
    }
    with open(root / "seqinfo.ini", "w") as fh:
        info.write(fh, space_around_delimiters=False)
    return root


def _locate(path: Path) -> tuple[Path, Path | None]:
    """``(gt.txt, sequence folder or None)`` for a sequence folder or a gt file."""
    if path.is_dir():
        for candidate in (path / "gt" / "gt.txt", path / "gt.txt"):
            if candidate.is_file():
                return candidate, path if candidate.parent.name == "gt" else None
        raise FormatError(f"{path} is not a MOT sequence folder: it has no gt/gt.txt")
    seq = path.parent.parent if path.parent.name == "gt" else path.parent
    return path, seq if (seq / "seqinfo.ini").is_file() else None


def load_mot(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a MOT sequence folder or a ``gt.txt`` file (see the module docstring)."""
    gt, seq = _locate(Path(path))
    labels_file = gt.parent / "labels.txt"
    names = ([n.strip() for n in labels_file.read_text().splitlines() if n.strip()]
             if labels_file.is_file() else [])
    labelled: set[int] | None = None
    if seq is not None and (seq / "seqinfo.ini").is_file():
        ini = seq / "seqinfo.ini"
        info = configparser.ConfigParser()
        info.optionxform = str.lower
        try:
            info.read(ini)
        except configparser.Error as exc:
            raise FormatError(f"{ini}: not a valid seqinfo.ini ({exc})") from exc
        section = info["Sequence"] if info.has_section("Sequence") else {}
        if "seqlength" in section and section["seqlength"].strip() != str(clip.n_frames):
            raise FormatError(
                f"{ini}: seqLength is {section['seqlength']} but the clip has {clip.n_frames} "
                "frames; import the labels with the clip they were made for"
            )
        size = (section.get("imwidth"), section.get("imheight"))
        if (None not in size
                and (size[0].strip(), size[1].strip()) != tuple(str(v) for v in clip.size)):
            raise FormatError(f"{ini}: the frames are {size[0]}x{size[1]} but the clip's are "
                              f"{clip.size[0]}x{clip.size[1]}")
        labelled = set(range(clip.n_frames))
    listing = gt.parent / LABELLED_FILE
    if listing.is_file():
        text = ",".join(line for line in listing.read_text().splitlines()
                        if not line.startswith("#"))
        labelled = _parse_ranges(text, clip, str(listing))
    frames: dict[int, list[Detections]] = {f: [] for f in labelled or ()}
    with open(gt, newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            where = f"{gt} line {lineno}"
            if not row or not "".join(row).strip():
                continue
            if not 6 <= len(row) <= 10:
                raise FormatError(
                    f"{where}: expected frame,id,x,y,w,h[,conf,class,visibility] (6 to 10 "
                    f"comma-separated values), but got {len(row)}: {','.join(row)!r}"
                )
            try:
                frame_no, track_id = int(float(row[0])), int(float(row[1]))
                x, y, w, h = (float(v) for v in row[2:6])
                conf = float(row[6]) if len(row) > 6 and row[6].strip() else 1.0
                cls = int(float(row[7])) if len(row) > 7 and row[7].strip() else -1
            except ValueError as exc:
                raise FormatError(f"{where}: not a number in {','.join(row)!r}") from exc
            frame = check_frame(frame_no, clip, where, one_based=True)
            if labelled is not None and frame not in labelled:
                raise FormatError(f"{where}: frame {frame_no} has a box but is not among the "
                                  f"labelled frames ({listing.name} or seqinfo.ini's seqLength)")
            if w <= 0 or h <= 0:
                raise FormatError(f"{where}: width and height must be positive, but got {w}, {h}")
            if names and cls != -1 and not 1 <= cls <= len(names):
                raise FormatError(f"{where}: class {cls} is not in {labels_file} (1..{len(names)})")
            machine = 0.0 < conf < 1.0
            frames.setdefault(frame, []).append(label_box(
                check_box((x, y, x + w, y + h), clip, where),
                cls - 1 if names and cls != -1 else 0,
                source=Source.MODEL if machine else Source.HUMAN, score=conf if machine else None,
                track_id=track_id,
            ))
    return LabelSet.from_boxes(clip, names, frames)
