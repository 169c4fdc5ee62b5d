"""OTB-style ``groundtruth.txt``: one ``x,y,w,h`` line per frame, ``nan,nan,nan,nan`` if absent.

This is the format of the sequences in ``shared/data/sequences`` (see :mod:`microlab.sequences`,
whose parser and writer are reused here).

Preserved: one box per frame, to 0.001 px; absent frames (NaN rows).
Lost: class names, source and score (every box comes back as a human label); a frame with
several boxes keeps only its best one (a warning names the frames); unlabelled frames are
written as NaN rows like absent ones (the format cannot tell them apart), so they come back as
absent: export only fully labelled clips to OTB.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from microlab.boxes import Detections, present_mask
from microlab.errors import FormatError
from microlab.interop.checks import check_box
from microlab.interop.labels import ClipInfo, LabelSet, label_box
from microlab.sequences import format_ground_truth, parse_ground_truth


def save_otb(labels: LabelSet, path: str | Path) -> Path:
    """Write ``groundtruth.txt`` at ``path`` (a file), one line per frame of the clip."""
    path = Path(path)
    rows = np.full((labels.clip.n_frames, 4), np.nan)
    crowded = []
    for frame, boxes in labels.sorted_frames():
        if not len(boxes):
            continue
        if len(boxes) > 1:
            crowded.append(frame)
        # Human boxes (no score) first, then the most confident machine box.
        rank = np.where(np.isnan(boxes.scores), 2.0, boxes.scores)
        rows[frame] = boxes.xyxy[int(np.argmax(rank))]
    if crowded:
        warnings.warn(
            f"OTB holds one box per frame; kept the best box of frames {crowded[:10]}"
            f"{' ...' if len(crowded) > 10 else ''} ({len(crowded)} frames). Export COCO or CVAT "
            "to keep every box.",
            stacklevel=2,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_ground_truth(rows))
    return path


def load_otb(path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read ``groundtruth.txt``: every line labels its frame (a NaN line: object absent)."""
    path = Path(path)
    if path.is_dir():
        path = path / "groundtruth.txt"
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read {path} as text: {exc}") from exc
    gt = parse_ground_truth(text, source=str(path))
    if len(gt) != clip.n_frames:
        raise FormatError(
            f"{path} has {len(gt)} boxes but the clip has {clip.n_frames} frames; an OTB file "
            "needs one x,y,w,h line per frame (nan,nan,nan,nan where the object is absent)"
        )
    line_of = [i for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    frames: dict[int, Detections] = {}
    for frame, (box, present) in enumerate(zip(gt, present_mask(gt))):
        if present:
            frames[frame] = label_box(check_box(box, clip, f"{path} line {line_of[frame]}"))
        else:
            frames[frame] = Detections.empty()
    return LabelSet(clip, [], frames)
