"""Ways to spend a labelling budget, their error curves, and the caveat in 1-D.

A :class:`Strategy` names a model (one global polynomial or local pieces) and a way to choose
the next label (uniformly at random, or :func:`active_label_x`: where the estimated error is
largest).  :func:`run_strategy` buys labels one by one and records the error after each;
:func:`compare_strategies` does it over several seeds.  :func:`extrapolation` shows what a piece
is worth outside its own segment.

Example:
    >>> results = compare_strategies("bumpy", budget=60, seeds=range(3))
    >>> labels_to_reach(results["pieces-active"], 0.05)  # labels until the error stays below
    29
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from microlab.errors import SplineError
from microlab.spline.curves import DOMAIN, GRID, HiddenCurve, get_curve
from microlab.spline.fits import (
    PiecewiseFit,
    PolynomialFit,
    _rms,
    fit_pieces,
    fit_polynomial,
    segment_edges,
)


# --------------------------------------------------------------------------- choosing labels
def random_label_x(rng: np.random.Generator) -> float:
    """Where a labeller without a plan buys the next label: anywhere, uniformly."""
    return float(rng.uniform(*DOMAIN))


def active_label_x(
    fit: PiecewiseFit, labelled_x: Sequence[float] | np.ndarray, *, candidates: int = 64
) -> float:
    """Where the next label helps most, judged without the hidden curve (active learning).

    Picks the segment with the largest expected gain (see below), then the point of that
    segment farthest from every label bought so far.  Segments that cannot estimate their
    error yet (fewer than two labels) come first — those without labels first, the farthest
    from any label first — so the first labels spread over the whole range.
    """
    estimate = fit.estimated_error()
    # Expected gain of one more label: the segment's share of the squared error, of which one
    # label removes about 1/(k+1) — a segment that stays bad however many labels it gets (a
    # piece that cannot bend enough) must not swallow the whole budget.
    width = np.diff(fit.edges)
    gain = np.where(np.isinf(estimate), np.inf, estimate**2 * width / (fit.counts + 1))
    labelled = np.asarray(labelled_x, dtype=np.float64)
    best_x = np.empty(fit.segments)
    best_distance = np.empty(fit.segments)
    for i in range(fit.segments):
        lo, hi = fit.edges[i], fit.edges[i + 1]
        grid = lo + (np.arange(candidates) + 0.5) / candidates * (hi - lo)
        if labelled.size == 0:
            best_x[i], best_distance[i] = grid[candidates // 2], np.inf
            continue
        distance = np.abs(grid[:, None] - labelled[None, :]).min(axis=1)
        k = int(np.argmax(distance))
        best_x[i], best_distance[i] = grid[k], distance[k]
    # Sort key: gain (inf first), then fewer labels, then the emptiest region, then position.
    order = sorted(range(fit.segments),
                   key=lambda i: (-gain[i], fit.counts[i], -best_distance[i], i))
    return float(best_x[order[0]])


# --------------------------------------------------------------------------- strategies
@dataclass(frozen=True)
class Strategy:
    """A way to spend a labelling budget: which model, and how the next label is chosen.

    Attributes:
        key: short name used as a dictionary key.
        label: what a plot legend says.
        model: ``"global"`` (one polynomial) or ``"pieces"`` (local pieces).
        sampling: ``"random"`` (uniform) or ``"active"`` (where the estimated error is largest).
    """

    key: str
    label: str
    model: str
    sampling: str

    def __post_init__(self) -> None:
        if self.model not in ("global", "pieces"):
            raise SplineError(f"model must be 'global' or 'pieces', but got {self.model!r}")
        if self.sampling not in ("random", "active"):
            raise SplineError(f"sampling must be 'random' or 'active', but got {self.sampling!r}")
        if self.sampling == "active" and self.model != "pieces":
            raise SplineError("active sampling needs model='pieces': its "
                              "error estimate is per segment")


STRATEGIES: dict[str, Strategy] = {
    s.key: s
    for s in (
        Strategy("global-random", "one global polynomial, random labels", "global", "random"),
        Strategy("pieces-random", "local pieces, random labels", "pieces", "random"),
        Strategy("pieces-active", "local pieces, labels where the error looks largest", "pieces",
                 "active"),
    )
}


@dataclass(frozen=True)
class StrategyRun:
    """One run of a strategy: the labels in the order bought, and the error after each.

    Attributes:
        strategy: the strategy's key.
        curve: the hidden curve's name.
        x: ``(budget,)`` label positions, in buying order.
        y: ``(budget,)`` label values.
        rms: ``(budget,)`` RMS error against the hidden curve after 1, 2, ... labels.
        max_abs: ``(budget,)`` worst absolute error after 1, 2, ... labels.
        seed: the seed of the run.
    """

    strategy: str
    curve: str
    x: np.ndarray
    y: np.ndarray
    rms: np.ndarray
    max_abs: np.ndarray
    seed: int


@dataclass(frozen=True)
class ErrorCurve:
    """Error against labels bought for one strategy, over several seeds.

    Attributes:
        strategy: the strategy's key.
        label: legend text.
        labels: ``(budget,)`` 1, 2, ... labels bought.
        cost: ``(budget,)`` what those labels cost (``labels * cost_per_label``).
        rms: ``(n_seeds, budget)`` RMS error of each run.
        runs: the runs themselves.
    """

    strategy: str
    label: str
    labels: np.ndarray
    cost: np.ndarray
    rms: np.ndarray
    runs: tuple[StrategyRun, ...] = field(repr=False)

    @property
    def median(self) -> np.ndarray:
        """Median RMS error over seeds after each label."""
        return np.median(self.rms, axis=0)


def _make_fit(
    strategy: Strategy, x: np.ndarray, y: np.ndarray, *, segments: int, degree: int,
    overlap: float, max_degree: int, cuts: tuple[float, ...],
) -> PolynomialFit | PiecewiseFit:
    if strategy.model == "global":
        return fit_polynomial(x, y, None, max_degree=max_degree)
    return fit_pieces(x, y, segments=segments, degree=degree, overlap=overlap, cuts=cuts)


def run_strategy(
    curve: str | HiddenCurve,
    strategy: str | Strategy,
    *,
    budget: int = 60,
    segments: int = 12,
    degree: int = 3,
    overlap: float = 0.0,
    max_degree: int | None = None,
    cuts: Iterable[float] = (),
    noise: float = 0.0,
    seed: int = 0,
) -> StrategyRun:
    """Buy ``budget`` labels one by one with a strategy, refitting after each.

    Args:
        curve: a hidden curve or its name.
        strategy: a :class:`Strategy` or its key in :data:`STRATEGIES`.
        budget: labels to buy.
        segments: equal segments of the local pieces.
        degree: degree of each piece.
        overlap: see :func:`fit_pieces`.
        max_degree: cap of the global polynomial's degree (chosen by leave-one-out); default
            ``segments * (degree + 1) - 1``, as many coefficients as all pieces together.
        cuts: extra segment boundaries (e.g. a known scene cut).
        noise: standard deviation of the labeller's error on each value.
        seed: seeds random label positions and noise.
    """
    hidden = get_curve(curve)
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise SplineError(f"unknown strategy {strategy!r}: expected one of {list(STRATEGIES)}")
        strategy = STRATEGIES[strategy]
    if budget < 1:
        raise SplineError(f"budget must be at least 1 label, but got {budget}")
    rng = np.random.default_rng(seed)
    cuts = tuple(float(c) for c in cuts)
    if max_degree is None:
        max_degree = segments * (degree + 1) - 1
    truth = hidden(GRID)
    xs: list[float] = []
    ys: list[float] = []
    rms = np.empty(budget)
    worst = np.empty(budget)
    fit: PolynomialFit | PiecewiseFit | None = None
    kwargs = dict(segments=segments, degree=degree, overlap=overlap, max_degree=max_degree,
                  cuts=cuts)
    for n in range(budget):
        if strategy.sampling == "active":
            if not isinstance(fit, PiecewiseFit):  # nothing bought yet
                fit = fit_pieces([], [], segments=segments, degree=degree, cuts=cuts)
            x_new = active_label_x(fit, xs)
        else:
            x_new = random_label_x(rng)
        y_new = float(hidden(x_new)) + (float(rng.normal(0, noise)) if noise > 0 else 0.0)
        xs.append(x_new)
        ys.append(y_new)
        fit = _make_fit(strategy, np.array(xs), np.array(ys), **kwargs)
        error = fit(GRID) - truth
        rms[n] = _rms(error)
        worst[n] = float(np.max(np.abs(error)))
    return StrategyRun(strategy.key, hidden.name, np.array(xs), np.array(ys), rms, worst, seed)


def compare_strategies(
    curve: str | HiddenCurve,
    strategies: Iterable[str | Strategy] | None = None,
    *,
    budget: int = 60,
    seeds: Iterable[int] = range(5),
    cost_per_label: float = 1.0,
    **options: Any,
) -> dict[str, ErrorCurve]:
    """Error vs labels bought for several strategies side by side, over several seeds.

    Args:
        curve: a hidden curve or its name.
        strategies: keys or :class:`Strategy` objects (default: all of :data:`STRATEGIES`).
        budget: labels each run buys.
        seeds: one run per seed.
        cost_per_label: what one label costs (seconds of a person, euros...).
        **options: passed to :func:`run_strategy` (``segments``, ``degree``, ``overlap``...).

    Returns:
        ``{strategy key: ErrorCurve}``.
    """
    chosen = [STRATEGIES[s] if isinstance(s, str) else s for s in (strategies or STRATEGIES)]
    seeds = list(seeds)
    labels = np.arange(1, budget + 1)
    out: dict[str, ErrorCurve] = {}
    for strategy in chosen:
        runs = tuple(run_strategy(curve, strategy, budget=budget, seed=s, **options) for s in seeds)
        out[strategy.key] = ErrorCurve(strategy.key, strategy.label, labels,
                                       labels * cost_per_label,
                                       np.stack([r.rms for r in runs]), runs)
    return out


def labels_to_reach(curve: ErrorCurve, target: float) -> int | None:
    """Labels after which the median error stays at or below ``target`` (``None``: never)."""
    above = np.flatnonzero(curve.median > target)
    if above.size == 0:
        return 1
    first_ok = int(above[-1]) + 1
    return int(curve.labels[first_ok]) if first_ok < len(curve.labels) else None


# --------------------------------------------------------------------------- the caveat in 1-D
@dataclass(frozen=True)
class Extrapolation:
    """A piece fitted on one segment, evaluated everywhere: the caveat in 1-D.

    Attributes:
        x: ``(n,)`` evaluation grid over ``[0, 1]``.
        truth: hidden curve on the grid.
        piece: the piece's values on the grid.
        region: ``(lo, hi)`` the segment the piece was fitted on.
        labels_x: the labels it was fitted to.
        error_inside: RMS error inside its region.
        error_outside: RMS error outside it.
    """

    x: np.ndarray
    truth: np.ndarray
    piece: np.ndarray
    region: tuple[float, float]
    labels_x: np.ndarray
    error_inside: float
    error_outside: float

    def error_by_distance(self, bins: Sequence[float] = (0, 0.5, 1, 2, 4)) -> dict[str, float]:
        """RMS error by distance from the region, in segment widths (``"0-0.5"`` -> error)."""
        lo, hi = self.region
        width = hi - lo
        distance = np.maximum(lo - self.x, self.x - hi).clip(0) / width
        out: dict[str, float] = {}
        edges = [*list(bins), np.inf]
        for a, b in itertools.pairwise(edges):
            mask = (distance > a) & (distance <= b) if a > 0 else (distance <= b)
            if mask.any():
                out[f"{a:g}-{b:g}"] = _rms(self.piece[mask] - self.truth[mask])
        return out


def extrapolation(
    curve: str | HiddenCurve, *, segment: int = 1, segments: int = 6, degree: int = 2,
    n_labels: int = 5
) -> Extrapolation:
    """Fit one piece to ``n_labels`` evenly spread labels of one segment, evaluate it everywhere."""
    hidden = get_curve(curve)
    edges = segment_edges(segments)
    if not 0 <= segment < segments:
        raise SplineError(f"segment must be in 0..{segments - 1}, but got {segment}")
    lo, hi = float(edges[segment]), float(edges[segment + 1])
    xs = lo + (np.arange(n_labels) + 0.5) / n_labels * (hi - lo)
    piece = fit_polynomial(xs, hidden(xs), degree, interval=(lo, hi))
    x = GRID.copy()
    values = piece(x)
    truth = hidden(x)
    inside = (x >= lo) & (x <= hi)
    return Extrapolation(x, truth, values, (lo, hi), xs,
                         _rms(values[inside] - truth[inside]),
                         _rms(values[~inside] - truth[~inside]))
