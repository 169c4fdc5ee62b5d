"""CollectionDashboard: every clip of a collection at a glance, and one loop step for all.

The overview table on top (frames, actions, coverage, iteration, verdict per clip), then one
row per clip: its name and figures beside its spline picture (segments coloured by coverage,
with verdicts), and a button that opens that clip's full :class:`Dashboard` below.  "Run next
iteration (all clips)" trains and predicts every clip with a human box as parallel tasks
(:meth:`microlab.collection.Collection.step`) on the chosen executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np

from microlab import plots
from microlab.widgets._common import Guard, StatusArea
from microlab.widgets.dashboard import Dashboard

if TYPE_CHECKING:
    from microlab.collection import Collection


class CollectionDashboard:
    """The overview of a :class:`~microlab.collection.Collection`, with a Dashboard row per clip.

    Args:
        collection: the clips to show.
        truth: per clip name, its ground truth (an ``(n, 4)`` ``xyxy`` array or a Clip), to
            draw correctness too.
        executor: the executor "Run next iteration" starts with (``"local"`` or ``"ray"``).

    Every button has a method: :meth:`run_iteration`, :meth:`open_clip`, :meth:`refresh`.
    """

    def __init__(self, collection: Collection, truth: Mapping[str, Any] | None = None, *,
                 executor: str = "local") -> None:
        self.collection = collection
        self.truth = dict(truth or {})
        self.status = StatusArea()
        self._guard = Guard(self.status)
        self.header = W.HTML()
        self.table = W.HTML()
        self.executor = W.Dropdown(options=["local", "ray"], value=executor,
                                   description="executor", layout=W.Layout(width="200px"))
        self.run_button = W.Button(description="Run next iteration (all clips)", icon="play",
                                   button_style="primary", layout=W.Layout(width="auto"),
                                   tooltip="train and predict every clip with a human box, "
                                           "as parallel tasks")
        self.refresh_button = W.Button(description="Refresh", icon="refresh",
                                       layout=W.Layout(width="auto"))
        self.run_button.on_click(lambda _: self._guard.run(self.run_iteration))
        self.refresh_button.on_click(lambda _: self._guard.run(self.refresh))
        self.rows = W.VBox()
        self.detail = W.VBox()
        #: the Dashboard opened last (``None`` before one is opened)
        self.opened: Dashboard | None = None
        self.ui = W.VBox([self.header, W.HBox([self.executor, self.run_button,
                                                self.refresh_button]),
                          self.table, self.rows, self.status.widget, self.detail],
                         layout=W.Layout(width="100%"))
        self.ui.add_class("microlab-widget")
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"CollectionDashboard({self.collection!r})"

    # ------------------------------------------------------------------ actions
    def refresh(self) -> None:
        """Redraw the table and every clip's row from the projects' current state."""
        overview = self.collection.overview()
        done = sum(r["verdict"] == "done" for r in overview)
        actions = sum(r["actions"] for r in overview)
        self.header.value = (f"<b>Collection</b> &mdash; {len(overview)} clips &middot; "
                             f"{actions} actions &middot; {done} done (coverage is each "
                             "model's estimate; verdicts need a clean review)")
        self.table.value = overview._repr_html_()
        rows = []
        for row in overview:
            name = row["clip"]
            project = self.collection.project(name)
            fig = plots.clip_figure_of_project(project, truth=self._truth_array(name))
            image = W.Image(value=plots.to_png(fig, dpi=60), format="png",
                            layout=W.Layout(max_width="640px"))
            button = W.Button(description=f"Open {name}", icon="external-link",
                              layout=W.Layout(width="auto"))
            button.on_click(lambda _, n=name: self._guard.run(lambda: self.open_clip(n)))
            coverage = "-" if row["coverage"] is None else f"{row['coverage']:.0%}"
            text = W.HTML(f"<b>{name}</b><br>{row['frames']} frames<br>"
                          f"iteration {row['iteration']}<br>{row['actions']} actions<br>"
                          f"coverage {coverage}<br>{row['verdict']}",
                          layout=W.Layout(width="170px"))
            rows.append(W.HBox([W.VBox([text, button]), image]))
        self.rows.children = rows

    def run_iteration(self) -> dict[str, Any]:
        """:meth:`Collection.step` on the chosen executor, then redraw; returns its outcome."""
        self.status.info(f"training and predicting every clip ({self.executor.value}) ...")
        outcome = self.collection.step(self.executor.value, progress=False)
        failed = {n: v for n, v in outcome.items() if isinstance(v, str)}
        self.refresh()
        stepped = len(outcome) - len(failed)
        message = f"stepped {stepped} of {len(outcome)} clips"
        if failed:
            message += "; not stepped: " + "; ".join(f"{n}: {v}" for n, v in failed.items())
        self.status.info(message)
        return outcome

    def open_clip(self, name: str) -> Dashboard:
        """Show the full :class:`Dashboard` of clip ``name`` below the rows."""
        self.opened = Dashboard(self.collection.project(name), truth=self.truth.get(name),
                                baselines=False)
        self.detail.children = [W.HTML(f"<h4>{name}</h4>"), self.opened.ui]
        return self.opened

    def _truth_array(self, name: str) -> np.ndarray | None:
        truth = self.truth.get(name)
        if truth is None:
            return None
        return np.asarray(getattr(truth, "ground_truth", truth), float)


__all__ = ["CollectionDashboard"]
