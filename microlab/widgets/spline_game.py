"""The spline labelling game as a Jupyter widget: sliders, a clickable plot, a status line.

A thin shell around :class:`microlab.spline.SplineGame`: every rule (budget, fits, suggestions)
lives there; this module only wires ipywidgets controls and matplotlib click events to it.
With the ipympl backend (``%matplotlib widget``) a click on the upper plot buys the label at
that x; with any other backend the figure is redrawn into an output area and labels are bought
with the buttons or from code (:meth:`SplineGameWidget.buy`), which is also how tests drive it.

Example (in a notebook cell)::

    %matplotlib widget
    game = SplineGameWidget(curve="bumpy", segments=8, degree=2, budget=30)
    game              # sliders, the clickable plot, a status line
    game.buy(0.42)    # the same as clicking at x = 0.42
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import matplotlib
from matplotlib.figure import Figure

from microlab.spline import DOMAIN, SplineGame, list_curves
from microlab.widgets._common import Guard, StatusArea, reported


def _game_figure() -> Figure:
    """A figure that pyplot does not manage, so ``plt.plot`` and ``plt.show`` in later cells
    never draw into or re-show the game; clickable when the ipympl backend is active."""
    figure = Figure(figsize=(8, 6), layout="constrained")
    backend = matplotlib.get_backend().lower()
    if "ipympl" in backend or backend == "widget":
        from ipympl.backend_nbagg import Canvas, FigureManager

        FigureManager(Canvas(figure), num=-1)  # the manager gives the canvas its toolbar
    return figure


class SplineGameWidget:
    """Buy labels of a hidden curve by clicking; watch a global polynomial and local pieces refit.

    Args:
        game: the headless game to show (a new one from the other arguments if ``None``).
        curve: hidden curve name.
        segments: number of local pieces.
        degree: degree of each piece.
        budget: what may be spent.
        cost_per_label: what one label costs.
        show_hidden: draw the hidden curve (a teacher's view) from the start.

    Attributes:
        game: the :class:`SplineGame` holding the labels and fits.
        figure: the matplotlib figure (fits above, error history below).
        status: the status line shared with the other widgets (:class:`StatusArea`): the last
            message in ``status.text``, errors in red with their type, every message in
            ``status.history``.
        box: the whole widget (displayed when the object is the last value of a cell).
    """

    def __init__(
        self,
        game: SplineGame | None = None,
        *,
        curve: str = "bumpy",
        segments: int = 8,
        degree: int = 2,
        budget: int = 30,
        cost_per_label: float = 1.0,
        show_hidden: bool = False,
    ) -> None:
        self.game = game or SplineGame(curve, segments=segments, degree=degree, budget=budget,
                                       cost_per_label=cost_per_label)
        style = {"description_width": "initial"}
        self.curve = widgets.Dropdown(options=list_curves(), value=self.game.curve.name,
                                      description="hidden curve", style=style)
        self.segments = widgets.IntSlider(value=self.game.segments, min=1, max=20,
                                          description="segments",
                                          style=style, continuous_update=False)
        self.degree = widgets.IntSlider(value=self.game.degree, min=0, max=6,
                                        description="degree per piece",
                                        style=style, continuous_update=False)
        self.budget = widgets.IntSlider(value=int(self.game.budget), min=1, max=100,
                                        description="budget", style=style, continuous_update=False)
        self.show_hidden = widgets.Checkbox(value=show_hidden, description="show the hidden curve")
        self.suggest_button = widgets.Button(description="buy where the error looks largest",
                                             layout=widgets.Layout(width="auto"))
        self.reset_button = widgets.Button(description="reset", button_style="warning")
        self.status = StatusArea()
        self._guard = Guard(self.status)
        for control in (self.curve, self.segments, self.degree, self.budget, self.show_hidden):
            control.observe(self._on_setting, names="value")
        self.suggest_button.on_click(lambda _: self._guard.run(self.buy_suggested))
        self.reset_button.on_click(lambda _: self._guard.run(self.reset))

        self.figure = _game_figure()
        self.ax, self.ax_history = self.figure.subplots(2, 1,
                                                        gridspec_kw={"height_ratios": [3, 1.2]})
        canvas = self.figure.canvas
        self._interactive = isinstance(canvas, widgets.DOMWidget)  # ipympl's canvas is a widget
        if self._interactive:
            canvas.header_visible = False
            self._view: widgets.Widget = canvas
        else:
            self._view = widgets.Output()
        self._click_id = canvas.mpl_connect("button_press_event", self._on_click)
        controls = widgets.VBox([
            widgets.HBox([self.curve, self.show_hidden]),
            widgets.HBox([self.segments, self.degree, self.budget]),
            widgets.HBox([self.suggest_button, self.reset_button]),
        ])
        self.box = widgets.VBox([controls, self._view, self.status.widget])
        self.redraw()
        self.status.info("click on the upper plot to buy a label at that x" if self._interactive
                         else
                         "buy labels with the button or game.buy(x) "
                         "(run %matplotlib widget first to buy by clicking)")

    # ------------------------------------------------------------------ public verbs
    @reported
    def buy(self, x: float) -> tuple[float, float]:
        """Buy the label at ``x`` (what a click does) and redraw; errors also go to the status line.

        Raises:
            SplineError: ``x`` outside ``[0, 1]``, or the budget is spent.
        """
        bought = self.game.buy(x)
        self.redraw()
        g, p = self.game.errors()
        self.status.info(f"bought y({bought[0]:.3f}) = {bought[1]:.3f}; error now: "
                         "global polynomial "
                         f"{g:.3f}, local pieces {p:.3f}")
        return bought

    def buy_suggested(self) -> tuple[float, float]:
        """Buy where active learning points (never using the hidden curve)."""
        return self.buy(self.game.suggest())

    def reset(self) -> None:
        """Forget every label and start again on the same curve."""
        self.game.reset()
        self.redraw()
        self.status.info("all labels forgotten")

    def redraw(self) -> None:
        """Draw the game's current state."""
        self.game.plot(self.ax, show_hidden=self.show_hidden.value)
        self.game.plot_history(self.ax_history)
        if self._interactive:
            self.figure.canvas.draw_idle()
        else:
            from IPython import get_ipython
            from IPython.display import display

            if get_ipython() is None:  # plain Python (tests): nowhere to show it
                return
            self._view.clear_output(wait=True)
            with self._view:
                display(self.figure)

    def close(self) -> None:
        """Release the figure and the widgets."""
        self.figure.canvas.mpl_disconnect(self._click_id)
        if self._interactive:
            self.figure.canvas.close()
        self.box.close()

    # ------------------------------------------------------------------ events
    def _on_click(self, event: Any) -> None:
        toolbar = getattr(self.figure.canvas, "toolbar", None)
        if event.inaxes is not self.ax or event.xdata is None or (toolbar is not None
                                                                  and toolbar.mode):
            return  # a click elsewhere, or the zoom/pan tool is active
        self._guard.run(lambda: self.buy(min(max(float(event.xdata), DOMAIN[0]), DOMAIN[1])))

    def _on_setting(self, change: dict[str, Any]) -> None:
        self._guard.run(lambda: self.game.configure(
            curve=self.curve.value, segments=self.segments.value, degree=self.degree.value,
            budget=self.budget.value))
        self.redraw()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)
