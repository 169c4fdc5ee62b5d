"""Segments: the spline pieces of a clip.

A clip is split at scene cuts (large appearance changes between consecutive frames) and then
into pieces of at most ``max_length`` frames.  Each segment can get its own micro-model and its
own coverage, correctness and stopping verdict.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from microlab.errors import FrameIndexError
from microlab.frames import thumbnail


@dataclass(frozen=True)
class Segment:
    """Frames ``start`` to ``end`` inclusive."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start + 1

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, (int, np.integer)) and self.start <= int(frame) <= self.end

    @property
    def frames(self) -> range:
        return range(self.start, self.end + 1)


def frame_signatures(frames: Sequence[np.ndarray], *, progress: bool = False) -> np.ndarray:
    """A small appearance vector per frame: a colour histogram plus a tiny grey thumbnail.

    Cheap enough for every frame of a long clip; used for scene cuts and for spreading the
    first labels over appearance.
    """
    from tqdm.auto import tqdm

    out = []
    for i in tqdm(range(len(frames)), desc="scan frames", unit="frame", disable=not progress,
                  leave=False):
        small = thumbnail(frames[i], 96)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [12, 4], [0, 180, 0, 256]).reshape(-1)
        hist /= max(hist.sum(), 1.0)
        grey = cv2.resize(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (8, 6),
                          interpolation=cv2.INTER_AREA)
        grey = grey.reshape(-1).astype(np.float32)
        grey = (grey - grey.mean()) / (grey.std() + 1e-6)
        out.append(np.concatenate([np.sqrt(hist) * 4.0, grey / np.sqrt(grey.size)]))
    return np.asarray(out, dtype=np.float32)


def detect_cuts(signatures: np.ndarray, *, min_gap: int = 5, sensitivity: float = 6.0) -> list[int]:
    """Frame indices where a new shot starts (a jump in appearance far above the clip's usual).

    A cut at ``i`` means frames ``i - 1`` and ``i`` belong to different shots.  The threshold is
    adaptive: ``sensitivity`` times the median frame-to-frame change, and at least an absolute
    floor, so a static clip does not produce cuts from noise.
    """
    if len(signatures) < 2:
        return []
    diff = np.linalg.norm(np.diff(signatures, axis=0), axis=1)
    threshold = max(sensitivity * float(np.median(diff)), 0.6)
    cuts: list[int] = []
    for i in np.argsort(-diff):
        if diff[i] < threshold:
            break
        frame = int(i) + 1
        if all(abs(frame - c) >= min_gap for c in cuts):
            cuts.append(frame)
    return sorted(cuts)


def split_clip(n_frames: int, cuts: Sequence[int] = (), *, max_length: int = 150,
               min_length: int = 20) -> list[Segment]:
    """Segments between cuts, each split into near-equal pieces no longer than ``max_length``.

    Pieces shorter than ``min_length`` between close cuts are kept (a shot is a shot).
    """
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < n_frames), n_frames]
    segments: list[Segment] = []
    for a, b in itertools.pairwise(bounds):
        length = b - a
        pieces = max(1, int(np.ceil(length / max_length)))
        if pieces > 1 and length / pieces < min_length:
            pieces = max(1, length // min_length)
        edges = np.linspace(a, b, pieces + 1).round().astype(int)
        segments.extend(Segment(int(s), int(e) - 1) for s, e in itertools.pairwise(edges))
    return segments


def segment_of(segments: Sequence[Segment], frame: int) -> int:
    """Index of the segment holding ``frame``."""
    for i, seg in enumerate(segments):
        if frame in seg:
            return i
    raise FrameIndexError(f"frame {frame} is in no segment (segments cover 0..{segments[-1].end})")
