"""The bridge to video: a simulation of microlab's loop on a real clip, drawn as spline pieces.

Reads a result in the schema of ``microlab simulate --json`` (checked by
:mod:`microlab.simulation_result`): each segment of the clip at each iteration becomes a
:class:`ClipPiece`, drawn like a fitted piece (:func:`plot_clip_pieces`), and the wrong share
after each iteration's actions is the video version of error against labels bought
(:func:`plot_clip_progress`).  These stay with the lesson rather than in :mod:`microlab.plots`:
they draw on an ``Axes`` in the lesson's colours and words, where :mod:`microlab.plots` builds
whole figures of a live project for the dashboard.

Example:
    >>> from microlab.simulation_result import load_simulation
    >>> result = load_simulation("notebooks/data/spline_demo_simulation.json")
    >>> sum(p.n_frames for p in clip_pieces(result)) == result["n_frames"]
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from microlab.simulation_result import validate_simulation
from microlab.spline.plots import PIECES_COLOUR

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
        """Label efficiency ``1 - actions / correct labels`` (DESIGN.md),
        ``nan`` with none correct."""
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
    """Per iteration: ``iteration``, ``actions``, ``frames_viewed``,
    ``error`` (1 - correct_frac)."""
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
        ax.add_patch(Rectangle((p.start, 0), p.n_frames, p.coverage, facecolor="0.88",
                               edgecolor="none"))
        ax.add_patch(Rectangle((p.start, 0), p.n_frames, p.correct_frac, facecolor=colour,
                               edgecolor="white" if bought else "0.5",
                               hatch=None if bought else "//", alpha=0.9))
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
    fig.colorbar(mappable, ax=axes, label="label efficiency (hatched: no action yet)",
                 fraction=0.03, pad=0.01)
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
        ax.annotate(str(int(i)), (n, max(e, floor)), textcoords="offset points", xytext=(3, 4),
                    fontsize=7)
    markers = {"interpolation": ("s", "tab:purple"), "tracker": ("^", "tab:brown")}
    for name, base in (result.get("baselines") or {}).items():
        marker, colour = markers.get(name, ("D", "0.4"))
        curve = base.get("curve")  # optional: the baseline's error after each action
        if curve:
            ax.plot([c["actions"] for c in curve],
                    [max(1 - c["correct_frac"], floor) for c in curve],
                    "-", color=colour, lw=1, alpha=0.7)
        for key, level in (("actions_to_95", 0.05), ("actions_to_100", floor)):
            if base.get(key) is not None:
                ax.plot([base[key]], [level], marker, color=colour, ms=8,
                        label=(f"{name} baseline (watches every frame)"
                               if key == "actions_to_95" else None))
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
