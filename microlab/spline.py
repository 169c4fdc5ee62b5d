"""The spline analogy: why small local models beat one global model when every label costs.

A hidden 1-D curve stands in for a video clip, and a label (one value of the curve at one x)
stands in for a box a person draws on one frame.  Two ways to learn the curve from few labels:

* **one global model** — a single polynomial over the whole range, refitted after every new
  label; every label moves the fit everywhere, and fast local detail needs a high degree, which
  needs many labels;
* **local pieces** — the range cut into segments, a low-degree polynomial per segment (each
  "overfit" to its own region), stitched together; each new label changes one piece, and the
  labeller can spend labels where a piece looks worst.  A micro-model is such a piece over a
  stretch of video.

Everything here is plain data and plain functions (numpy, matplotlib Axes); no widget library is
imported.  The interactive game (:class:`SplineGame`) is headless too; its widget lives in
:mod:`microlab.widgets.spline_game`.

Example:
    >>> results = compare_strategies("bumpy", budget=60, seeds=range(3))
    >>> labels_to_reach(results["pieces-active"], 0.05)  # labels until the error stays below
    29
    >>> labels_to_reach(results["global-random"], 0.05) is None  # not within 60 labels
    True
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle
from numpy.polynomial import chebyshev

from microlab.datasets import CloseUpFrames, cut_to_close_up  # noqa: F401 (re-exported)
from microlab.errors import SplineError
from microlab.simulation_result import load_simulation, validate_simulation  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from microlab.model import MicroModelConfig
    from microlab.sequences import Sequence as ClipSequence

DOMAIN = (0.0, 1.0)
GRID = np.linspace(*DOMAIN, 1001)  # where errors against the hidden curve are measured


class BudgetSpentError(SplineError):
    """The game's labelling budget is spent: raise the budget or reset the game."""


# --------------------------------------------------------------------------- hidden curves
@dataclass(frozen=True)
class HiddenCurve:
    """A curve on ``[0, 1]`` that the learner may only see through labels it buys.

    Attributes:
        name: registry key.
        description: one line for a student.
        function: vectorised ``x -> y``.
        cuts: x positions where the curve jumps (a scene cut in the video picture).
    """

    name: str
    description: str
    function: Callable[[np.ndarray], np.ndarray]
    cuts: tuple[float, ...] = ()

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(self.function(np.asarray(x, dtype=np.float64)), dtype=np.float64)


CURVES: dict[str, HiddenCurve] = {}


def register_curve(curve: HiddenCurve) -> HiddenCurve:
    """Add a curve to the registry (``list_curves()``, sliders and tests pick it up)."""
    CURVES[curve.name] = curve
    return curve


def list_curves() -> list[str]:
    """Names of the registered hidden curves, in registration order."""
    return list(CURVES)


def get_curve(curve: str | HiddenCurve) -> HiddenCurve:
    """A registered curve by name (a :class:`HiddenCurve` passes through)."""
    if isinstance(curve, HiddenCurve):
        return curve
    if curve in CURVES:
        return CURVES[curve]
    close = difflib.get_close_matches(str(curve), list(CURVES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SplineError(f"unknown curve {curve!r}: expected one of {list(CURVES)}{hint}")


def _smooth(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * 0.8 * x + 0.3) + 0.4 * x


# (centre, width, height): narrow bumps of both signs spread over the range
_BUMPS = ((0.1, 0.035, 0.8), (0.27, 0.05, -0.7), (0.45, 0.03, 0.9),
          (0.6, 0.045, -0.8), (0.76, 0.03, 0.7), (0.9, 0.05, -0.6))


def _bumpy(x: np.ndarray) -> np.ndarray:
    y = 0.3 * np.sin(2 * np.pi * 1.2 * x)
    for centre, width, height in _BUMPS:
        y = y + height * np.exp(-0.5 * ((x - centre) / width) ** 2)
    return y


JUMP_AT = 0.62


def _jump(x: np.ndarray) -> np.ndarray:
    left = 0.6 * np.sin(2 * np.pi * 0.9 * x)
    right = 1.3 - 1.5 * (x - JUMP_AT) + 0.15 * np.sin(2 * np.pi * 3 * x)
    return np.where(x < JUMP_AT, left, right)


def _runge(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + 25.0 * (2 * x - 1) ** 2)


register_curve(HiddenCurve("smooth", "one slow wave: a global polynomial does fine here", _smooth))
register_curve(HiddenCurve(
    "bumpy", "a slow wave with six narrow bumps: local detail everywhere", _bumpy))
register_curve(HiddenCurve(
    "jump", f"two smooth parts with a jump at x = {JUMP_AT} (a scene cut)", _jump, cuts=(JUMP_AT,)))
register_curve(HiddenCurve(
    "runge", "Runge's bell 1/(1+25t²): high-degree polynomials ring at the ends", _runge))


# --------------------------------------------------------------------------- fitting
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
    rank = int((s > s[0] * max(design.shape) * np.finfo(float).eps).sum()) if s.size and s[0] > 0 else 0
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
        """``(segments - 1,)`` jumps between neighbouring pieces at their shared edge (0 at cuts)."""
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
            raise SplineError(f"edges must be an increasing list of at least 2 values, but got {edges_arr}")
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
        fit = fit_polynomial(x[use], y[use], min(piece_degree, max(n_use - 1, 0)), interval=(lo, hi))
        # Leave-one-out needs a label to spare: estimate with one degree less than interpolation.
        if n_use >= 2 and fit.degree >= n_use - 1:
            loo = fit_polynomial(x[use], y[use], n_use - 2, interval=(lo, hi)).loo_rms
            fit = PolynomialFit(fit.coef, lo, hi, n_use, loo)
        pieces.append(fit)
    return PiecewiseFit(edges_arr, tuple(pieces), counts, degree, overlap, cuts)


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
    order = sorted(range(fit.segments), key=lambda i: (-gain[i], fit.counts[i], -best_distance[i], i))
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
            raise SplineError("active sampling needs model='pieces': its error estimate is per segment")


STRATEGIES: dict[str, Strategy] = {
    s.key: s
    for s in (
        Strategy("global-random", "one global polynomial, random labels", "global", "random"),
        Strategy("pieces-random", "local pieces, random labels", "pieces", "random"),
        Strategy("pieces-active", "local pieces, labels where the error looks largest", "pieces", "active"),
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
    kwargs = dict(segments=segments, degree=degree, overlap=overlap, max_degree=max_degree, cuts=cuts)
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
        out[strategy.key] = ErrorCurve(strategy.key, strategy.label, labels, labels * cost_per_label,
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
    curve: str | HiddenCurve, *, segment: int = 1, segments: int = 6, degree: int = 2, n_labels: int = 5
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
                         _rms(values[inside] - truth[inside]), _rms(values[~inside] - truth[~inside]))


# --------------------------------------------------------------------------- the game (headless)
class SplineGame:
    """The labelling game without any widget: buy labels, watch both models refit.

    Both models use all their knobs: the global polynomial has as many coefficients as all
    pieces together (``segments * (degree + 1)``, fewer while there are fewer labels, so it
    passes through every label), just as each piece passes through its own labels until it has
    more than ``degree + 1``.  So a new label moves the global curve everywhere and a piece only
    in its segment.  (:func:`run_strategy` instead lets the global polynomial choose its degree
    by leave-one-out, its best honest shot in a benchmark.)

    Args:
        curve: hidden curve name (or object).
        segments: number of local pieces.
        degree: degree of each piece.
        budget: what may be spent, in cost units.
        cost_per_label: what one label costs.
        overlap: see :func:`fit_pieces`.

    Example:
        >>> game = SplineGame("bumpy", segments=8, degree=2, budget=20)
        >>> x, y = game.buy(0.3)  # the hidden value at x = 0.3 joins the labels
        >>> x, y = game.buy(game.suggest())  # where active learning would look next
        >>> len(game.x), game.remaining
        (2, 18.0)
    """

    def __init__(
        self,
        curve: str | HiddenCurve = "bumpy",
        *,
        segments: int = 8,
        degree: int = 2,
        budget: float = 30,
        cost_per_label: float = 1.0,
        overlap: float = 0.0,
    ) -> None:
        self.curve = get_curve(curve)
        self.segments = int(segments)
        self.degree = int(degree)
        self.budget = float(budget)
        self.cost_per_label = float(cost_per_label)
        self.overlap = float(overlap)
        self.x: list[float] = []
        self.y: list[float] = []
        self.history: list[tuple[int, float, float]] = []  # (labels, global rms, pieces rms)
        self._fits: tuple[PolynomialFit, PiecewiseFit] | None = None

    # -- settings ---------------------------------------------------------------------------
    def configure(self, *, curve: str | HiddenCurve | None = None, segments: int | None = None,
                  degree: int | None = None, budget: float | None = None,
                  cost_per_label: float | None = None) -> None:
        """Change settings; a new curve starts a new game, the others keep the labels bought."""
        if curve is not None and get_curve(curve).name != self.curve.name:
            self.curve = get_curve(curve)
            self.reset()
        if segments is not None:
            if segments < 1:
                raise SplineError(f"segments must be at least 1, but got {segments}")
            self.segments = int(segments)
        if degree is not None:
            if degree < 0:
                raise SplineError(f"degree must be 0 or more, but got {degree}")
            self.degree = int(degree)
        if budget is not None:
            self.budget = float(budget)
        if cost_per_label is not None:
            self.cost_per_label = float(cost_per_label)
        self._fits = None
        self._rescore()

    def reset(self) -> None:
        """Forget every label bought."""
        self.x, self.y, self.history = [], [], []
        self._fits = None

    # -- state ------------------------------------------------------------------------------
    @property
    def spent(self) -> float:
        return len(self.x) * self.cost_per_label

    @property
    def remaining(self) -> float:
        return self.budget - self.spent

    @property
    def can_buy(self) -> bool:
        return self.spent + self.cost_per_label <= self.budget + 1e-9

    @property
    def global_fit(self) -> PolynomialFit:
        return self._current()[0]

    @property
    def pieces_fit(self) -> PiecewiseFit:
        return self._current()[1]

    def _current(self) -> tuple[PolynomialFit, PiecewiseFit]:
        if self._fits is None:
            x, y = np.array(self.x), np.array(self.y)
            self._fits = (
                fit_polynomial(x, y, self.segments * (self.degree + 1) - 1),
                fit_pieces(x, y, segments=self.segments, degree=self.degree, overlap=self.overlap),
            )
        return self._fits

    def errors(self) -> tuple[float, float]:
        """RMS error of the global polynomial and of the pieces against the hidden curve."""
        truth = self.curve(GRID)
        g, p = self._current()
        return _rms(g(GRID) - truth), _rms(p(GRID) - truth)

    def _rescore(self) -> None:
        if self.x:
            self.history.append((len(self.x), *self.errors()))

    # -- moves ------------------------------------------------------------------------------
    def buy(self, x: float) -> tuple[float, float]:
        """Buy the label at ``x``: the hidden value there joins the labels and both models refit.

        Returns:
            ``(x, y)`` of the label bought.

        Raises:
            SplineError: ``x`` is outside ``[0, 1]``.
            BudgetSpentError: the budget does not cover another label.
        """
        x = float(x)
        if not (DOMAIN[0] <= x <= DOMAIN[1]) or not np.isfinite(x):
            raise SplineError(f"x must be in [{DOMAIN[0]}, {DOMAIN[1]}], but got {x}")
        if not self.can_buy:
            raise BudgetSpentError(
                f"budget spent: {len(self.x)} labels cost {self.spent:g} of {self.budget:g}; "
                "raise the budget or reset the game"
            )
        y = float(self.curve(x))
        self.x.append(x)
        self.y.append(y)
        self._fits = None
        self.history.append((len(self.x), *self.errors()))
        return x, y

    def suggest(self) -> float:
        """Where active learning would buy the next label (never looks at the hidden curve)."""
        return active_label_x(self.pieces_fit, self.x)

    # -- picture ----------------------------------------------------------------------------
    def plot(self, ax: Axes, *, show_hidden: bool = True) -> None:
        """Draw the labels, both fits and the segments on ``ax``."""
        plot_fits(ax, self.curve, self.x, self.y, global_fit=self.global_fit if self.x else None,
                  pieces_fit=self.pieces_fit if self.x else None, show_hidden=show_hidden,
                  edges=segment_edges(self.segments))
        g, p = self.errors() if self.x else (np.nan, np.nan)
        ax.set_title(f"{self.curve.name}: {len(self.x)} labels, spent {self.spent:g} of "
                     f"{self.budget:g} — error global {g:.3f}, pieces {p:.3f}", fontsize=10)

    def plot_history(self, ax: Axes) -> None:
        """Error of both models after each label this player bought."""
        ax.clear()
        if self.history:
            h = np.array(self.history)
            ax.plot(h[:, 0] * self.cost_per_label, h[:, 1], "o-", color=GLOBAL_COLOUR, ms=3,
                    label="global polynomial")
            ax.plot(h[:, 0] * self.cost_per_label, h[:, 2], "o-", color=PIECES_COLOUR, ms=3,
                    label="local pieces")
            ax.set_yscale("log")
            ax.legend(fontsize=8)
        ax.set_xlabel("cost spent")
        ax.set_ylabel("RMS error")
        ax.grid(alpha=0.3)


# --------------------------------------------------------------------------- 1-D plots
GLOBAL_COLOUR = "tab:orange"
PIECES_COLOUR = "tab:blue"
HIDDEN_COLOUR = "0.55"


def plot_fits(
    ax: Axes,
    curve: str | HiddenCurve,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    global_fit: PolynomialFit | None = None,
    pieces_fit: PiecewiseFit | None = None,
    show_hidden: bool = True,
    edges: np.ndarray | None = None,
) -> None:
    """Hidden curve, labels bought and the fits, with the segments shaded alternately."""
    hidden = get_curve(curve)
    ax.clear()
    truth = hidden(GRID)
    span = float(truth.max() - truth.min())
    ax.set_ylim(truth.min() - 0.35 * span, truth.max() + 0.35 * span)
    ax.set_xlim(*DOMAIN)
    if pieces_fit is not None:
        edges = pieces_fit.edges
    if edges is not None:
        for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
            if i % 2:
                ax.axvspan(lo, hi, color="0.93", zorder=0)
    if show_hidden:
        ax.plot(GRID, truth, "--", color=HIDDEN_COLOUR, lw=1.2, label="hidden curve")
    if global_fit is not None:
        ax.plot(GRID, global_fit(GRID), color=GLOBAL_COLOUR, lw=1.8,
                label=f"global polynomial (degree {global_fit.degree})")
    if pieces_fit is not None:
        legend = f"{pieces_fit.segments} local pieces (degree ≤ {pieces_fit.degree})"
        for i, piece in enumerate(pieces_fit.pieces):
            lo, hi = pieces_fit.edges[i], pieces_fit.edges[i + 1]
            xs = np.linspace(lo, hi, 80)
            ax.plot(xs, piece(xs), color=PIECES_COLOUR, lw=1.8, label=legend if i == 0 else None)
    if len(x):
        ax.plot(x, y, "o", color="black", ms=5, zorder=5, label=f"{len(x)} labels bought")
    ax.set_xlabel("x  (think: frame number)")
    ax.set_ylabel("y  (think: the box on that frame)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)


def plot_error_curves(
    ax: Axes,
    results: Mapping[str, ErrorCurve],
    *,
    target: float | None = None,
    by_cost: bool = False,
    spread: bool = True,
) -> None:
    """Error vs labels bought (or vs cost): median over seeds, with the seeds' range shaded."""
    colours = {"global-random": GLOBAL_COLOUR, "pieces-random": "tab:green", "pieces-active": PIECES_COLOUR}
    for key, result in results.items():
        xs = result.cost if by_cost else result.labels
        colour = colours.get(key)
        line = ax.plot(xs, result.median, lw=2, color=colour, label=result.label)[0]
        if spread and result.rms.shape[0] > 1:
            ax.fill_between(xs, result.rms.min(axis=0), result.rms.max(axis=0),
                            color=line.get_color(), alpha=0.15)
        if target is not None:
            n = labels_to_reach(result, target)
            if n is not None:
                where = n * (result.cost[0] / result.labels[0]) if by_cost else n
                ax.plot([where], [target], "v", color=line.get_color(), ms=9)
    if target is not None:
        ax.axhline(target, color="0.3", lw=0.8, ls=":")
        ax.text(ax.get_xlim()[1], target, f" target {target:g}", va="bottom", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(ax.get_ylim()[0], 1e-4))  # below that, "exact" is all one needs to see
    ax.set_xlabel("cost of the labels bought" if by_cost else "labels bought")
    ax.set_ylabel("RMS error against the hidden curve")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)


def plot_extrapolation(ax: Axes, result: Extrapolation) -> None:
    """A piece inside its region (solid) and far outside it (dashed), against the truth."""
    lo, hi = result.region
    inside = (result.x >= lo) & (result.x <= hi)
    truth_span = float(result.truth.max() - result.truth.min())
    ax.axvspan(lo, hi, color=PIECES_COLOUR, alpha=0.12, label="the piece's own segment")
    ax.plot(result.x, result.truth, "--", color=HIDDEN_COLOUR, label="hidden curve")
    outside = np.where(inside, np.nan, result.piece)
    ax.plot(result.x, outside, ":", color="tab:red", lw=1.8,
            label=f"same piece, extrapolated (RMS {result.error_outside:.2g})")
    ax.plot(result.x[inside], result.piece[inside], color=PIECES_COLOUR, lw=2.5,
            label=f"piece in its segment (RMS {result.error_inside:.2g})")
    ax.plot(result.labels_x, np.interp(result.labels_x, result.x, result.truth), "o", color="black", ms=5)
    ax.set_ylim(result.truth.min() - 0.6 * truth_span, result.truth.max() + 0.6 * truth_span)
    ax.set_xlim(*DOMAIN)
    ax.set_xlabel("x")
    ax.legend(fontsize=8, loc="upper right")


# --------------------------------------------------------------------------- bridge to video
@dataclass(frozen=True)
class ClipPiece:
    """One segment of a clip at one iteration: a spline piece of the video.

    Attributes:
        iteration: the loop iteration.
        start: first frame.
        end: last frame, inclusive (as in :class:`microlab.segments.Segment`).
        coverage: share of frames with an accepted or confident label (no ground truth needed).
        correct_frac: share of frames labelled correctly (ground truth, simulation only).
        actions: human actions spent in this segment before this iteration's model (cumulative).
    """

    iteration: int
    start: int
    end: int
    coverage: float
    correct_frac: float
    actions: int

    @property
    def n_frames(self) -> int:
        return max(self.end - self.start + 1, 0)

    @property
    def correct_labels(self) -> float:
        return self.correct_frac * self.n_frames

    @property
    def efficiency(self) -> float:
        """Label efficiency ``1 - actions / correct labels`` (DESIGN.md), ``nan`` with none correct."""
        correct = self.correct_labels
        return 1.0 - self.actions / correct if correct > 0 else float("nan")


def clip_pieces(result: Mapping[str, Any], iteration: int = -1) -> list[ClipPiece]:
    """The segments of one iteration of a simulation result as :class:`ClipPiece` s.

    Args:
        result: a simulation result dict (``microlab simulate --json``).
        iteration: position in ``result["iterations"]`` (``-1``: the last).
    """
    validate_simulation(result)
    it = result["iterations"][iteration]
    return [ClipPiece(int(it["iteration"]), int(s["start"]), int(s["end"]), float(s["coverage"]),
                      float(s["correct_frac"]), int(s["actions"])) for s in it["segments"]]


def clip_progress(result: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per iteration: ``iteration``, ``actions``, ``frames_viewed``, ``error`` (1 - correct_frac)."""
    validate_simulation(result)
    its = result["iterations"]
    return {
        "iteration": np.array([it["iteration"] for it in its], dtype=np.int64),
        "actions": np.array([it["actions"] for it in its], dtype=np.float64),
        "frames_viewed": np.array([it["frames_viewed"] for it in its], dtype=np.float64),
        "error": 1.0 - np.array([it["correct_frac"] for it in its], dtype=np.float64),
    }


EFFICIENCY_CMAP = "RdYlGn"


def plot_clip_pieces(
    ax: Axes, result: Mapping[str, Any], iteration: int = -1, *, colorbar: bool = True
) -> None:
    """A clip's segments drawn as spline pieces: height = correct share, colour = efficiency.

    Each segment is a bar along the frame axis whose top is its correct share (a solid piece
    line, like a fitted piece) over a lighter bar of its coverage; the fill colour is its label
    efficiency, hatched where no action was spent yet, and the number above it the actions
    spent there.
    """
    pieces = clip_pieces(result, iteration)
    cmap = mpl.colormaps[EFFICIENCY_CMAP]
    norm = Normalize(0.0, 1.0)
    for p in pieces:
        eff = p.efficiency
        # No action in a segment yet is a piece without labels of its own (efficiency 1 by
        # definition, but nothing was bought there): hatched, not coloured.
        bought = p.actions > 0 and np.isfinite(eff)
        colour = cmap(norm(np.clip(eff, 0, 1))) if bought else "white"
        ax.add_patch(Rectangle((p.start, 0), p.n_frames, p.coverage, facecolor="0.88", edgecolor="none"))
        ax.add_patch(Rectangle((p.start, 0), p.n_frames, p.correct_frac, facecolor=colour,
                               edgecolor="white" if bought else "0.5", hatch=None if bought else "//",
                               alpha=0.9))
        ax.plot([p.start, p.end + 1], [p.correct_frac, p.correct_frac], color="black", lw=2)
        ax.text(p.start + p.n_frames / 2, max(p.correct_frac, p.coverage) + 0.02, str(p.actions),
                ha="center", va="bottom", fontsize=8)
    ax.set_xlim(0, int(result["n_frames"]))
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("frame")
    ax.set_ylabel("correct share (grey: coverage)")
    it = pieces[0].iteration if pieces else iteration
    ax.set_title(f"{result['sequence']}, iteration {it}: segments as pieces "
                 "(number = actions there)", fontsize=10)
    if colorbar:
        mappable = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        ax.figure.colorbar(mappable, ax=ax, label="label efficiency", fraction=0.04, pad=0.01)


def plot_clip_iterations(fig: Figure, result: Mapping[str, Any]) -> list[Axes]:
    """Every iteration of a simulation as a row of :func:`plot_clip_pieces`, one colour bar.

    Args:
        fig: an empty figure (e.g. ``plt.figure(figsize=(11, 9), layout="constrained")``).
        result: a simulation result dict.

    Returns:
        The axes, one per iteration, top to bottom.
    """
    validate_simulation(result)
    n = len(result["iterations"])
    axes = list(np.atleast_1d(fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]))
    for k, ax in enumerate(axes):
        plot_clip_pieces(ax, result, iteration=k, colorbar=False)
        if k < n - 1:
            ax.set_xlabel("")
    mappable = mpl.cm.ScalarMappable(norm=Normalize(0.0, 1.0), cmap=mpl.colormaps[EFFICIENCY_CMAP])
    fig.colorbar(mappable, ax=axes, label="label efficiency (hatched: no action yet)", fraction=0.03, pad=0.01)
    return axes


def plot_clip_progress(ax: Axes, result: Mapping[str, Any]) -> None:
    """The video version of error vs labels bought: wrong share after each iteration's actions.

    The baselines' actions to 95% and 100% correct are drawn as markers at 5% and ~0% error
    (and their whole curve where the result carries one).
    """
    prog = clip_progress(result)
    floor = 0.5 / max(int(result["n_frames"]), 1)  # show 0 error on a log axis
    ax.plot(prog["actions"], np.maximum(prog["error"], floor), "o-", color=PIECES_COLOUR, lw=2,
            label="micro-models (one point per iteration)")
    for i, n, e in zip(prog["iteration"], prog["actions"], prog["error"]):
        ax.annotate(str(int(i)), (n, max(e, floor)), textcoords="offset points", xytext=(3, 4), fontsize=7)
    markers = {"interpolation": ("s", "tab:purple"), "tracker": ("^", "tab:brown")}
    for name, base in (result.get("baselines") or {}).items():
        marker, colour = markers.get(name, ("D", "0.4"))
        curve = base.get("curve")  # optional: the baseline's error after each action
        if curve:
            ax.plot([c["actions"] for c in curve], [max(1 - c["correct_frac"], floor) for c in curve],
                    "-", color=colour, lw=1, alpha=0.7)
        for key, level in (("actions_to_95", 0.05), ("actions_to_100", floor)):
            if base.get(key) is not None:
                ax.plot([base[key]], [level], marker, color=colour, ms=8,
                        label=f"{name} baseline (watches every frame)" if key == "actions_to_95" else None)
    final = result.get("final") or {}
    for key, level in (("actions_to_95", 0.05), ("actions_to_100", floor)):
        if final.get(key) is not None:
            ax.plot([final[key]], [level], "*", color=PIECES_COLOUR, ms=11,
                    label="micro-models after the final pass" if key == "actions_to_95" else None)
    ax.axhline(0.05, color="0.3", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("human actions (the labels bought)")
    ax.set_ylabel("share of frames wrong")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)


# --------------------------------------------------------------------------- the caveat on video
@dataclass(frozen=True)
class TransferResult:
    """A micro-model trained on one segment of a clip, scored on its own and a far segment.

    Attributes:
        sequence: clip name.
        own: ``(start, end)`` frames of the segment it was trained on.
        far: ``(start, end)`` frames of the far-away segment.
        train_frames: the labelled frames it was trained on.
        frames: frames scored (both segments, training frames excluded).
        iou: IoU with the ground truth per scored frame (``nan`` where the object is absent).
        correct: DESIGN.md's correctness per scored frame (IoU >= 0.5, or no box when absent).
        boxes: ``(n, 4)`` the model's ``xyxy`` box per scored frame (NaN where it found none).
        train_s: training seconds.
    """

    sequence: str
    own: tuple[int, int]
    far: tuple[int, int]
    train_frames: np.ndarray
    frames: np.ndarray
    iou: np.ndarray
    correct: np.ndarray
    boxes: np.ndarray
    train_s: float

    def _mask(self, span: tuple[int, int]) -> np.ndarray:
        return (self.frames >= span[0]) & (self.frames < span[1])

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean IoU (present frames) and correct share in the own and the far segment."""
        out = {}
        for name, span in (("own", self.own), ("far", self.far)):
            m = self._mask(span)
            iou = self.iou[m]
            out[name] = {"mean_iou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
                         "correct_frac": float(self.correct[m].mean()) if m.any() else float("nan"),
                         "frames": int(m.sum())}
        return out


def train_segment_model(
    sequence: ClipSequence,
    span: tuple[int, int],
    *,
    n_labels: int = 5,
    config: MicroModelConfig | None = None,
) -> tuple[Any, np.ndarray]:
    """Train a micro-model on ``n_labels`` frames spread evenly over ``span`` = ``(start, end)``.

    Returns:
        ``(model, train_frames)``.  Loads torch (through :mod:`microlab.model`) only when called.
    """
    from microlab.model import MicroModelConfig, labelled_frame, train_micro_model

    n = len(sequence)
    if not 0 <= span[0] < span[1] <= n:
        raise SplineError(f"span must be (start, end) with 0 <= start < end <= {n}, but got {span}")
    truth = sequence.ground_truth
    train = np.unique(np.linspace(span[0], span[1] - 1, n_labels + 2)[1:-1].round().astype(np.int64))
    labelled = [labelled_frame(sequence.frames[int(i)], [] if np.isnan(truth[i]).any() else [truth[i]])
                for i in train]
    model = train_micro_model(labelled, config or MicroModelConfig(), progress=False)
    return model, train


def score_segments(
    model: Any,
    sequence: ClipSequence,
    *,
    own: tuple[int, int],
    far: tuple[int, int],
    train_frames: Sequence[int] | np.ndarray = (),
    step: int = 1,
    train_s: float = float("nan"),
) -> TransferResult:
    """Per-frame IoU and correctness of ``model`` on two segments of ``sequence``.

    Args:
        model: a trained :class:`microlab.model.MicroModel`.
        sequence: the clip (ground truth needed).
        own: ``(start, end)`` of the segment the model was trained on.
        far: ``(start, end)`` of a far-away segment.
        train_frames: frames left out of the scores (the model saw their labels).
        step: score every ``step``-th frame.
        train_s: training seconds, carried into the result.
    """
    from microlab.boxes import box_iou

    n = len(sequence)
    for name, (a, b) in (("own", own), ("far", far)):
        if not 0 <= a < b <= n:
            raise SplineError(f"{name} must be (start, end) with 0 <= start < end <= {n}, but got {(a, b)}")
    truth = sequence.ground_truth
    train = np.asarray(train_frames, dtype=np.int64)
    frames = np.concatenate([np.arange(own[0], own[1], step), np.arange(far[0], far[1], step)])
    frames = np.setdiff1d(frames, train)
    found = model.predict(sequence.frames, frames, progress=False).detections()
    iou = np.full(len(frames), np.nan)
    correct = np.zeros(len(frames), dtype=bool)
    boxes = np.full((len(frames), 4), np.nan)
    for k, f in enumerate(frames):
        det = found[int(f)]
        if len(det):
            boxes[k] = det.xyxy[int(np.argmax(det.scores))]
        if np.isnan(truth[f]).any():
            correct[k] = len(det) == 0
            continue
        iou[k] = float(box_iou(det.xyxy, truth[f]).max()) if len(det) else 0.0
        correct[k] = iou[k] >= 0.5
    return TransferResult(sequence.name, tuple(own), tuple(far), train, frames, iou, correct, boxes, train_s)


def segment_transfer(
    sequence: ClipSequence,
    *,
    own: tuple[int, int],
    far: tuple[int, int],
    n_labels: int = 5,
    config: MicroModelConfig | None = None,
    step: int = 1,
) -> TransferResult:
    """Train a micro-model on ``n_labels`` frames of ``own``, score it on ``own`` and ``far``.

    The video version of :func:`extrapolation`; see :func:`train_segment_model` and
    :func:`score_segments` to score one model on several clips.
    """
    import time

    started = time.perf_counter()
    model, train = train_segment_model(sequence, own, n_labels=n_labels, config=config)
    train_s = time.perf_counter() - started
    return score_segments(model, sequence, own=own, far=far, train_frames=train, step=step, train_s=train_s)


def plot_transfer(ax: Axes, result: TransferResult) -> None:
    """Per-frame IoU of one segment's micro-model in its own segment and in a far one."""
    summary = result.summary()
    for name, span, colour in (("own", result.own, PIECES_COLOUR), ("far", result.far, "tab:red")):
        m = result._mask(span)
        s = summary[name]
        ax.axvspan(span[0], span[1], color=colour, alpha=0.1)
        ax.plot(result.frames[m], result.iou[m], ".", color=colour, ms=4,
                label=f"{name} segment {span[0]}–{span[1]}: mean IoU {s['mean_iou']:.2f}, "
                      f"{100 * s['correct_frac']:.0f}% correct")
    # Frames where the object is out of view have no IoU: a tick below 0 if the model rightly
    # found nothing, a cross if it put a box on something else.
    absent = np.isnan(result.iou)
    for ok, marker, text in ((True, "|", "object absent, no box (correct)"),
                             (False, "x", "object absent, false box")):
        pick = absent & (result.correct == ok)
        if pick.any():
            ax.plot(result.frames[pick], np.full(int(pick.sum()), -0.06), marker, color="0.3", ms=6,
                    label=text)
    ax.plot(result.train_frames, np.full(len(result.train_frames), 1.04), "v", color="black", ms=6,
            label="frames it was trained on")
    ax.axhline(0.5, color="0.3", lw=0.8, ls=":")
    ax.set_ylim(-0.12, 1.1)
    ax.set_xlabel("frame")
    ax.set_ylabel("IoU with ground truth")
    ax.legend(fontsize=8, loc="lower left")


def plot_transfer_frame(ax: Axes, sequence: ClipSequence, result: TransferResult, frame: int) -> None:
    """One scored frame with the true box (dashed white) and the model's box (red)."""
    rows = np.flatnonzero(result.frames == frame)
    if not rows.size:
        raise SplineError(f"frame {frame} was not scored; scored frames run "
                          f"{result.frames.min()}..{result.frames.max()}")
    ax.imshow(sequence.frames[int(frame)])
    for box, style in ((sequence.ground_truth[frame], dict(edgecolor="white", ls="--")),
                       (result.boxes[rows[0]], dict(edgecolor="red", ls="-"))):
        if np.isfinite(box).all():
            ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                   fill=False, lw=2, **style))
    iou = result.iou[rows[0]]
    ax.set_title(f"frame {frame}: IoU {iou:.2f}" if np.isfinite(iou) else f"frame {frame}: object absent",
                 fontsize=9)
    ax.axis("off")
