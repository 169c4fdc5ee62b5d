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
:mod:`microlab.widgets.spline_game`.  One module per part of the lesson:

* :mod:`~microlab.spline.curves`: the hidden curves and their registry;
* :mod:`~microlab.spline.fits`: the global polynomial and the local pieces;
* :mod:`~microlab.spline.strategies`: ways to choose labels, error curves, the caveat in 1-D;
* :mod:`~microlab.spline.game`: the labelling game;
* :mod:`~microlab.spline.plots`: the 1-D pictures;
* :mod:`~microlab.spline.clip`: the bridge to video (a simulation drawn as pieces);
* :mod:`~microlab.spline.transfer`: the caveat on video (a segment's model far away).

The simulation schema (:func:`load_simulation`, :func:`validate_simulation`) lives in
:mod:`microlab.simulation_result` and the close-up clip (:func:`cut_to_close_up`) in
:mod:`microlab.datasets`; both are re-exported here, where the lesson uses them.

Example:
    >>> results = compare_strategies("bumpy", budget=60, seeds=range(3))
    >>> labels_to_reach(results["pieces-active"], 0.05)  # labels until the error stays below
    29
    >>> labels_to_reach(results["global-random"], 0.05) is None  # not within 60 labels
    True
"""

from __future__ import annotations

from microlab.datasets import CloseUpFrames, cut_to_close_up
from microlab.errors import SplineError
from microlab.simulation_result import load_simulation, validate_simulation
from microlab.spline.clip import (
    EFFICIENCY_CMAP,
    ClipPiece,
    clip_pieces,
    clip_progress,
    plot_clip_iterations,
    plot_clip_pieces,
    plot_clip_progress,
)
from microlab.spline.curves import (
    CURVES,
    DOMAIN,
    GRID,
    JUMP_AT,
    HiddenCurve,
    get_curve,
    list_curves,
    register_curve,
)
from microlab.spline.fits import (
    PiecewiseFit,
    PolynomialFit,
    fit_pieces,
    fit_polynomial,
    segment_edges,
)
from microlab.spline.game import BudgetSpentError, SplineGame
from microlab.spline.plots import (
    GLOBAL_COLOUR,
    HIDDEN_COLOUR,
    PIECES_COLOUR,
    plot_error_curves,
    plot_extrapolation,
    plot_fits,
)
from microlab.spline.strategies import (
    STRATEGIES,
    ErrorCurve,
    Extrapolation,
    Strategy,
    StrategyRun,
    active_label_x,
    compare_strategies,
    extrapolation,
    labels_to_reach,
    random_label_x,
    run_strategy,
)
from microlab.spline.transfer import (
    TransferResult,
    plot_transfer,
    plot_transfer_frame,
    score_segments,
    segment_transfer,
    train_segment_model,
)

__all__ = [
    "CURVES",
    "DOMAIN",
    "EFFICIENCY_CMAP",
    "GLOBAL_COLOUR",
    "GRID",
    "HIDDEN_COLOUR",
    "JUMP_AT",
    "PIECES_COLOUR",
    "STRATEGIES",
    "BudgetSpentError",
    "ClipPiece",
    "CloseUpFrames",
    "ErrorCurve",
    "Extrapolation",
    "HiddenCurve",
    "PiecewiseFit",
    "PolynomialFit",
    "SplineError",
    "SplineGame",
    "Strategy",
    "StrategyRun",
    "TransferResult",
    "active_label_x",
    "clip_pieces",
    "clip_progress",
    "compare_strategies",
    "cut_to_close_up",
    "extrapolation",
    "fit_pieces",
    "fit_polynomial",
    "get_curve",
    "labels_to_reach",
    "list_curves",
    "load_simulation",
    "plot_clip_iterations",
    "plot_clip_pieces",
    "plot_clip_progress",
    "plot_error_curves",
    "plot_extrapolation",
    "plot_fits",
    "plot_transfer",
    "plot_transfer_frame",
    "random_label_x",
    "register_curve",
    "run_strategy",
    "score_segments",
    "segment_edges",
    "segment_transfer",
    "train_segment_model",
    "validate_simulation",
]
