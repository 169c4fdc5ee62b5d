"""Fitting labels: one global polynomial, or local low-degree pieces stitched together.

:func:`fit_polynomial` is the *global model* of the analogy, :func:`fit_pieces` the *local
pieces* (a micro-model per segment).  Both are plain least squares in a Chebyshev basis and
carry an error estimate that never looks at the hidden curve (leave-one-out residuals, and the
seams between neighbouring pieces).

Example:
    >>> fit = fit_pieces([0.1, 0.4, 0.6, 0.9], [0.0, 1.0, 1.0, 0.0], segments=2, degree=1)
    >>> fit.segments, fit.counts.tolist()
    (2, [2, 2])
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev

from microlab.errors import SplineError
from microlab.spline.curves import DOMAIN


@dataclass(frozen=True)
class PolynomialFit:
    """A least-squares polynomial (Chebyshev basis) on the interval ``[lo, hi]``.

    Attributes:
        coef: Chebyshev coefficients in the variable mapped from ``[lo, hi]`` to ``[-1, 1]``.
        lo: left end of the interval the fit is meant for.
        hi: right end.
        n_labels: labels the fit used.
        loo_rms: leave-one-out RMS residual, an error estimate that needs no hidden curve
            (``inf`` where it cannot be computed, e.g. an interpolating fit).
    """

    coef: np.ndarray
    lo: float
    hi: float
    n_labels: int
    loo_rms: float

    @property
    def degree(self) -> int:
        return len(self.coef) - 1

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        t = (2 * np.asarray(x, dtype=np.float64) - self.lo - self.hi) / (self.hi - self.lo)
        return chebyshev.chebval(t, self.coef)


def _least_squares(
    x: np.ndarray, y: np.ndarray, degree: int, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and leave-one-out residuals of a degree-``degree`` fit (SVD, rank-safe)."""
    t = (2 * x - lo - hi) / (hi - lo)
    design = chebyshev.chebvander(t, degree)
    u, s, vt = np.linalg.svd(design, full_matrices=False)
    rank = (int((s > s[0] * max(design.shape) * np.finfo(float).eps).sum())
            if s.size and s[0] > 0 else 0)
    coef = vt[:rank].T @ ((u[:, :rank].T @ y) / s[:rank])
    leverage = (u[:, :rank] ** 2).sum(axis=1)
    residual = y - design @ coef
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = np.where(1 - leverage > 1e-9, residual / (1 - leverage), np.inf)
    return coef, loo


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if values.size else float("inf")


def fit_polynomial(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    degree: int | None = None,
    *,
    max_degree: int = 20,
    interval: tuple[float, float] = DOMAIN,
) -> PolynomialFit:
    """Fit one polynomial to labels: the *global model* of the analogy.

    Args:
        x: label positions.
        y: label values.
        degree: polynomial degree (lowered to ``len(x) - 1`` when there are too few labels);
            ``None`` picks the degree with the smallest leave-one-out error, up to ``max_degree``
            — the global model's best honest shot, chosen without the hidden curve.
        max_degree: cap for the automatic choice.
        interval: the interval the fit is meant for (only scales the basis).

    Returns:
        The fit; with no labels at all, the constant 0.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise SplineError(f"x and y must have the same length, but got {x.size} and {y.size}")
    lo, hi = interval
    n = x.size
    if n == 0:
        return PolynomialFit(np.zeros(1), lo, hi, 0, float("inf"))
    if degree is not None:
        d = int(min(max(degree, 0), n - 1))
        coef, loo = _least_squares(x, y, d, lo, hi)
        return PolynomialFit(coef, lo, hi, n, _rms(loo))
    best: tuple[float, np.ndarray] | None = None
    for d in range(min(n - 2, max_degree) + 1):
        coef, loo = _least_squares(x, y, d, lo, hi)
        score = _rms(loo)
        if best is None or score < best[0] - 1e-12:
            best = (score, coef)
    if best is None:  # one label: the constant through it
        coef, _ = _least_squares(x, y, 0, lo, hi)
        return PolynomialFit(coef, lo, hi, n, float("inf"))
    return PolynomialFit(best[1], lo, hi, n, best[0])


@dataclass(frozen=True)
class PiecewiseFit:
    """Local pieces stitched together: one low-degree polynomial per segment.

    Attributes:
        edges: ``(segments + 1,)`` segment boundaries, increasing from 0 to 1.
        pieces: one :class:`PolynomialFit` per segment.
        counts: labels inside each segment.
        degree: the requested degree of each piece (a piece with few labels uses fewer).
        overlap: share of a segment's width by which a piece also uses its neighbours' labels.
        cuts: edges where the curve may jump (scene cuts): neighbours there need not agree.
    """

    edges: np.ndarray
    pieces: tuple[PolynomialFit, ...]
    counts: np.ndarray
    degree: int
    overlap: float
    cuts: tuple[float, ...] = ()

    @property
    def segments(self) -> int:
        return len(self.pieces)

    def segment_of(self, x: np.ndarray | float) -> np.ndarray:
        """Index of the segment each x falls in (the last segment includes x = 1)."""
        idx = np.searchsorted(self.edges, np.asarray(x, dtype=np.float64), side="right") - 1
        return np.clip(idx, 0, self.segments - 1)

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        seg = self.segment_of(x)
        out = np.empty(x.shape)
        for i, piece in enumerate(self.pieces):
            mask = seg == i
            if mask.any():
                out[mask] = piece(x[mask])
        return out

    def seam_gaps(self) -> np.ndarray:
        """``(segments - 1,)`` jumps between neighbouring pieces at their shared edge (0 at
        cuts)."""
        inner = self.edges[1:-1]
        cuts = np.asarray(self.cuts, dtype=np.float64)
        return np.array([
            0.0 if cuts.size and np.isclose(cuts, e).any()
            else abs(float(self.pieces[i](e)) - float(self.pieces[i + 1](e)))
            for i, e in enumerate(inner)
        ])

    def estimated_error(self) -> np.ndarray:
        """Per-segment error estimate that never looks at the hidden curve.

        The larger of the piece's leave-one-out residual (with a degree low enough to leave a
        label out) and the seams to its neighbours (neighbouring pieces that disagree where they
        meet cannot both be right, unless a cut separates them).  ``inf`` for a segment with
        fewer than two labels.
        """
        seams = self.seam_gaps()
        out = np.empty(self.segments)
        for i, piece in enumerate(self.pieces):
            out[i] = piece.loo_rms if self.counts[i] >= 2 else np.inf
            if i > 0:
                out[i] = max(out[i], seams[i - 1])
            if i < self.segments - 1:
                out[i] = max(out[i], seams[i])
        return out


def segment_edges(segments: int, cuts: Iterable[float] = ()) -> np.ndarray:
    """Equal segments on ``[0, 1]``, plus extra boundaries at ``cuts`` (like scene cuts)."""
    if segments < 1:
        raise SplineError(f"segments must be at least 1, but got {segments}")
    edges = np.union1d(np.linspace(*DOMAIN, segments + 1), np.asarray(list(cuts), dtype=np.float64))
    return edges[(edges >= DOMAIN[0]) & (edges <= DOMAIN[1])]


def fit_pieces(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    segments: int | None = 6,
    degree: int = 2,
    overlap: float = 0.0,
    cuts: Iterable[float] = (),
    edges: Sequence[float] | np.ndarray | None = None,
) -> PiecewiseFit:
    """Fit a low-degree polynomial to the labels of each segment: the *local pieces*.

    A piece with ``k`` labels uses degree ``min(degree, k - 1)``; a segment without labels
    borrows the nearest ones — it has to extrapolate, which is what the caveat is about.

    Args:
        x: label positions in ``[0, 1]``.
        y: label values.
        segments: number of equal segments (ignored when ``edges`` is given).
        degree: degree of each piece.
        overlap: share of a segment's width on each side whose labels a piece also uses
            (neighbouring micro-models sharing labels).
        cuts: positions where the curve may jump: each becomes a segment boundary where
            neighbouring pieces need not agree (a scene cut between two micro-models).
        edges: explicit boundaries from 0 to 1 (instead of ``segments``); cuts are added to them.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise SplineError(f"x and y must have the same length, but got {x.size} and {y.size}")
    if degree < 0:
        raise SplineError(f"degree must be 0 or more, but got {degree}")
    cuts = tuple(float(c) for c in cuts)
    if edges is None:
        edges_arr = segment_edges(segments or 1, cuts)
    else:
        edges_arr = np.asarray(edges, dtype=np.float64)
        if edges_arr.ndim != 1 or edges_arr.size < 2 or np.any(np.diff(edges_arr) <= 0):
            raise SplineError("edges must be an increasing list of at least 2 values, "
                              f"but got {edges_arr}")
        edges_arr = np.union1d(edges_arr, [c for c in cuts if edges_arr[0] < c < edges_arr[-1]])
    pieces: list[PolynomialFit] = []
    counts = np.zeros(len(edges_arr) - 1, dtype=np.int64)
    seg = np.clip(np.searchsorted(edges_arr, x, side="right") - 1, 0, len(edges_arr) - 2)
    for i, (lo, hi) in enumerate(itertools.pairwise(edges_arr)):
        counts[i] = int((seg == i).sum())
        margin = overlap * (hi - lo)
        use = (seg == i) | ((x >= lo - margin) & (x <= hi + margin))
        piece_degree = degree
        if not use.any() and x.size:
            # No label of its own: a straight line between the nearest labels on either side
            # (or the nearest value, at the ends), rather than a wild extrapolated polynomial.
            left, right = np.flatnonzero(x < lo), np.flatnonzero(x > hi)
            use = np.zeros(x.size, dtype=bool)
            if left.size:
                use[left[np.argmax(x[left])]] = True
            if right.size:
                use[right[np.argmin(x[right])]] = True
            piece_degree = min(degree, 1)
        n_use = int(use.sum())
        fit = fit_polynomial(x[use], y[use], min(piece_degree, max(n_use - 1, 0)),
                             interval=(lo, hi))
        # Leave-one-out needs a label to spare: estimate with one degree less than interpolation.
        if n_use >= 2 and fit.degree >= n_use - 1:
            loo = fit_polynomial(x[use], y[use], n_use - 2, interval=(lo, hi)).loo_rms
            fit = PolynomialFit(fit.coef, lo, hi, n_use, loo)
        pieces.append(fit)
    return PiecewiseFit(edges_arr, tuple(pieces), counts, degree, overlap, cuts)
