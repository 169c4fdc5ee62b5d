"""Identity-aware accounting of multi-object labels (IDF1's global mapping).

Predicted tracks are mapped one-to-one onto true identities so that the matched boxes are as
many as possible (Ristani et al., ECCV-W 2016: the mapping of IDF1).  A predicted box is an
IDTP when its track is mapped to the identity of a true box of the same frame and their IoU is
at least ``iou``; true boxes without one are IDFN, predicted boxes without one IDFP.

    % correct = IDTP / (IDTP + IDFN + IDFP),    IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN)

A predicted box without a track (``track_id == -1``) is its own one-frame track: it can match a
true box only if no longer track claims that identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from microlab.boxes import Detections, box_iou
from microlab.errors import AnnotationError


@dataclass(frozen=True)
class IdentityScores:
    """The outcome of :func:`identity_scores`; ``mapping`` is ``{predicted track: true id}``."""

    idtp: int
    idfp: int
    idfn: int
    mapping: dict[int, int] = field(default_factory=dict)
    iou: float = 0.5

    @property
    def correct_frac(self) -> float:
        total = self.idtp + self.idfn + self.idfp
        return self.idtp / total if total else 1.0

    @property
    def idf1(self) -> float:
        total = 2 * self.idtp + self.idfp + self.idfn
        return 2 * self.idtp / total if total else 1.0


def _track_keys(det: Detections, frame: int) -> list[tuple[int, int]]:
    """A key per predicted box: its track id, or a key of its own for a box with none."""
    return [(int(t), 0) if t >= 0 else (-1, frame * 100_000 + j)
            for j, t in enumerate(det.track_ids)]


def identity_scores(predicted: Sequence[Detections], truth: Sequence[Detections], *,
                    iou: float = 0.5) -> IdentityScores:
    """IDTP, IDFP, IDFN and the mapping of predicted tracks to true identities.

    Args:
        predicted: per frame, the labels (``track_ids`` name the predicted tracks).
        truth: per frame, the true boxes (``track_ids`` are the identities).
        iou: the IoU a box pair needs to match.
    """
    from scipy.optimize import linear_sum_assignment

    if len(predicted) != len(truth):
        raise AnnotationError(f"predicted and truth need one entry per frame, but got "
                              f"{len(predicted)} and {len(truth)}")
    counts: dict[tuple[tuple[int, int], int], int] = {}
    n_pred = n_true = 0
    for f, (p, t) in enumerate(zip(predicted, truth)):
        n_pred += len(p)
        n_true += len(t)
        if not len(p) or not len(t):
            continue
        overlap = box_iou(p.xyxy, t.xyxy)
        keys = _track_keys(p, f)
        for i, j in zip(*np.nonzero(overlap >= iou)):
            pair = (keys[i], int(t.track_ids[j]))
            counts[pair] = counts.get(pair, 0) + 1
    if not counts:
        return IdentityScores(0, n_pred, n_true, {}, iou)
    tracks = sorted({k for k, _ in counts})
    ids = sorted({g for _, g in counts})
    row = {k: i for i, k in enumerate(tracks)}
    col = {g: j for j, g in enumerate(ids)}
    matrix = np.zeros((len(tracks), len(ids)))
    for (k, g), c in counts.items():
        matrix[row[k], col[g]] = c
    rows, cols = linear_sum_assignment(-matrix)
    idtp = int(matrix[rows, cols].sum())
    mapping = {tracks[r][0]: ids[c] for r, c in zip(rows, cols)
               if matrix[r, c] > 0 and tracks[r][0] >= 0}
    return IdentityScores(idtp, n_pred - idtp, n_true - idtp, mapping, iou)


def motmetrics_idf1(predicted: Sequence[Detections], truth: Sequence[Detections], *,
                    iou: float = 0.5) -> float:
    """IDF1 computed by py-motmetrics (``pip install motmetrics``), for a cross-check.

    Boxes without a track get a fresh id each, as in :func:`identity_scores`.
    """
    try:
        import motmetrics as mm
    except ImportError as exc:  # an optional cross-check, not a dependency
        raise ImportError("the cross-check needs py-motmetrics: pip install motmetrics") from exc
    acc = mm.MOTAccumulator(auto_id=True)
    fresh = 10**9
    for p, t in zip(predicted, truth):
        pids = []
        for tid in p.track_ids:
            if tid < 0:
                fresh += 1
                pids.append(fresh)
            else:
                pids.append(int(tid))
        # motmetrics' own iou_matrix calls np.asfarray, gone in NumPy 2: the same distances
        # (1 - IoU, NaN = no match) from microlab's IoU.
        dist = np.full((len(t), len(p)), np.nan)
        if len(t) and len(p):
            d = 1 - box_iou(t.xyxy, p.xyxy)
            dist = np.where(d <= 1 - iou, d, np.nan)
        acc.update([int(g) for g in t.track_ids], pids, dist)
    summary = mm.metrics.create().compute(acc, metrics=["idf1"], name="clip")
    return float(summary["idf1"].iloc[0])


__all__ = ["IdentityScores", "identity_scores", "motmetrics_idf1"]
