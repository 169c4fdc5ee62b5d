"""The labelling game without any widget: buy labels of a hidden curve, watch both models refit.

Its widget, :class:`microlab.widgets.spline_game.SplineGameWidget`, only wires controls and
clicks to the verbs here (:meth:`SplineGame.buy`, :meth:`~SplineGame.suggest`,
:meth:`~SplineGame.configure`, :meth:`~SplineGame.reset`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from microlab.spline.plots import GLOBAL_COLOUR, PIECES_COLOUR, plot_fits
from microlab.spline.strategies import active_label_x

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class BudgetSpentError(SplineError):
    """The game's labelling budget is spent: raise the budget or reset the game."""


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
