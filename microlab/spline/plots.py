"""The 1-D pictures of the spline analogy, drawn on a matplotlib ``Axes`` the caller owns.

:func:`plot_fits` draws the hidden curve, the labels and the fits; :func:`plot_error_curves`
the error against labels bought (or their cost); :func:`plot_extrapolation` a piece outside
its own segment.  The colours are shared with the game and the video pictures.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from microlab.spline.curves import DOMAIN, GRID, HiddenCurve, get_curve
from microlab.spline.fits import PiecewiseFit, PolynomialFit
from microlab.spline.strategies import ErrorCurve, Extrapolation, labels_to_reach

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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
    colours = {"global-random": GLOBAL_COLOUR, "pieces-random": "tab:green",
               "pieces-active": PIECES_COLOUR}
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
        ax.text(ax.get_xlim()[1], target, f" target {target:g}", va="bottom", ha="right",
                fontsize=8)
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
    ax.plot(result.labels_x, np.interp(result.labels_x, result.x, result.truth), "o", color="black",
            ms=5)
    ax.set_ylim(result.truth.min() - 0.6 * truth_span, result.truth.max() + 0.6 * truth_span)
    ax.set_xlim(*DOMAIN)
    ax.set_xlabel("x")
    ax.legend(fontsize=8, loc="upper right")
