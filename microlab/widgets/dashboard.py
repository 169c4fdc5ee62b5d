"""Dashboard: where the loop stands, segment by segment and iteration by iteration.

>>> dashboard = Dashboard(project)                 # coverage, confidence, work, verdicts
>>> Dashboard(project, truth=clip)                 # + correctness and the baselines
>>> dashboard.run_iteration()                      # train + predict with a progress bar
>>> dashboard.open_frame(120)                      # what a click on the timeline does
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np

from microlab import plots
from microlab.errors import AnnotationError
from microlab.project import Project
from microlab.sequences import Clip
from microlab.widgets._common import Guard, StatusArea, plural, reported
from microlab.widgets.review import Review

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from microlab.loop import IterationReport
    from microlab.multi.clip import MultiClip


@contextmanager
def _text_progress_bars() -> Iterator[None]:
    """Make fastai draw text progress bars while a Dashboard button runs the loop.

    fastai's notebook bars draw once and then update that display by its id; output captured by
    an ``ipywidgets.Output`` (where a button's callback writes) ignores updates by id, so the bar
    would stay at 0%.  fastprogress's text bars redraw with a carriage return, which output
    widgets do show.  A typed ``project.step()`` in a cell keeps the notebook bars.
    """
    try:
        import fastai.callback.progress as fastai_progress
        from fastprogress.fastprogress import ConsoleMasterBar, ConsoleProgressBar
    except ImportError:
        yield
        return
    saved = fastai_progress.master_bar, fastai_progress.progress_bar
    fastai_progress.master_bar, fastai_progress.progress_bar = ConsoleMasterBar, ConsoleProgressBar
    try:
        yield
    finally:
        fastai_progress.master_bar, fastai_progress.progress_bar = saved


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _ipympl_available() -> bool:
    try:
        import ipympl.backend_nbagg  # noqa: F401
    except ImportError:
        return False
    return True


class FigureView:
    """A matplotlib figure in a widget: an ipympl canvas (interactive: zoom, click) or a PNG
    image (anywhere, e.g. a frontend without ipympl)."""

    def __init__(self, fig: Figure, *, interactive: bool) -> None:
        self.fig = fig
        self.interactive = interactive
        if interactive:
            from ipympl.backend_nbagg import Canvas, FigureManager

            # Built directly (not through pyplot) so the figure is not registered globally and
            # not shown a second time by a later plt.show().
            self.canvas = Canvas(fig)
            FigureManager(self.canvas, id(fig))
            self.canvas.header_visible = False
            self.canvas.footer_visible = False
            self.canvas.toolbar_visible = "fade-in-fade-out"
            self.canvas.resizable = False
            self.widget: W.Widget = self.canvas
        else:
            self.canvas = None
            self.widget = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.widget.add_class("microlab-figure")
        self.redraw()

    def redraw(self) -> None:
        if self.canvas is not None:
            self.canvas.draw_idle()
        else:
            self.widget.value = plots.to_png(self.fig)

    def on_click(self, callback: Any) -> None:
        """Call ``callback(event)`` on a mouse click (interactive view only)."""
        if self.canvas is not None:
            self.canvas.mpl_connect("button_press_event", callback)


class Dashboard:
    """Plots of the loop, the stopping rule per segment, and the buttons that drive it.

    * **The clip** as spline pieces: one band per segment coloured by coverage, the confidence
      of every frame, the correct share per segment when ground truth is known, the stopping
      rule's verdict (:func:`microlab.stopping.segment_verdicts`) above each band, and a
      timeline strip of the whole clip coloured by confidence: click it to open that frame in
      Review (or use the frame box and "Open in Review").
    * **Progress**: labels vs human actions (with the interpolation and tracker baselines on
      the same axes when known), work per iteration, labels gained per action, label efficiency.
    * **Run next iteration** trains and predicts (:meth:`Project.step`) with progress bars;
      **Review batch** opens the loop's next review queue below.

    Every button has a method: :meth:`run_iteration`, :meth:`open_review`, :meth:`open_frame`,
    :meth:`refresh`; :meth:`save_png` writes the figures for a report.

    Args:
        project: the project to watch.
        truth: ground truth, if known: a :class:`~microlab.sequences.Clip` (its baselines
            are computed once, which takes a tracker pass over the clip), an ``(n, 4)`` ``xyxy``
            array (NaN rows = absent), or a :func:`~microlab.simulate.simulate` result (its
            baselines are drawn; correctness needs a Clip or array); for several objects a
            :class:`~microlab.multi.MultiClip` (the track timeline marks the measured identity
            switches, the header gives the share of boxes right with their identity).
        baselines: compute the baselines of a Clip (``False`` skips the tracker pass).
        interactive: ipympl canvases (zoom, click); default when ipympl is installed and a
            kernel runs.  ``False`` draws PNG images.
        loop: what "Run next iteration" and the review queue use instead of ``project.step``
            and ``project.review_queue``, e.g. a :class:`~microlab.multi.loop.MultiLoop`.
    """

    def __init__(
        self,
        project: Project,
        truth: Clip | MultiClip | np.ndarray | Mapping[str, Any] | None = None,
        *,
        baselines: bool = True,
        interactive: bool | None = None,
        loop: Any = None,
    ) -> None:
        from microlab.multi.clip import MultiClip

        self.project = project
        #: the loop behind "Run next iteration" and the review queue: ``project.step`` and
        #: ``project.review_queue`` when None; a :class:`~microlab.multi.loop.MultiLoop` for
        #: several objects per frame
        self.loop = loop
        self.truth: np.ndarray | None = None
        #: with a multi-object clip as truth: every frame's true boxes with identities
        self.track_truth: list[Any] | None = None
        self.baselines: dict[str, Any] | None = None
        self.status = StatusArea()
        self._guard = Guard(self.status)
        if isinstance(truth, MultiClip):
            self.track_truth = list(truth.truth)
            if len(self.track_truth) != project.n_frames:
                raise AnnotationError(f"the truth has {len(self.track_truth)} frames but the "
                                      f"project {project.n_frames}: pass the clip the project "
                                      "was opened on")
        elif isinstance(truth, Clip):
            self.truth = np.asarray(truth.ground_truth, float)
            if baselines:
                from microlab.simulate import run_baselines

                self.baselines = run_baselines(truth)
        elif isinstance(truth, Mapping):
            self.baselines = dict(truth.get("baselines") or {}) or None
        elif truth is not None:
            self.truth = np.asarray(truth, float)
        if self.truth is not None and self.truth.shape != (project.n_frames, 4):
            raise AnnotationError(
                f"truth must have one xyxy row per frame, shape ({project.n_frames}, 4), "
                f"but got {self.truth.shape}"
            )
        if interactive is None:
            interactive = _ipympl_available() and _in_kernel()
        self.interactive = interactive
        self.review: Review | None = None

        self.header = W.HTML()
        self.run_button = W.Button(description="Run next iteration", icon="play",
                                   button_style="primary",
                                   tooltip="train on the human labels, then predict every frame")
        self.review_button = W.Button(description="Review batch", icon="eye",
                                      tooltip="the frames most worth a look now")
        self.refresh_button = W.Button(description="Refresh", icon="refresh")
        self.frame_box = W.BoundedIntText(value=0, min=0, max=project.n_frames - 1,
                                          description="frame", layout=W.Layout(width="180px"))
        self.open_button = W.Button(description="Open in Review", icon="external-link")
        for button in (self.run_button, self.review_button, self.refresh_button, self.open_button):
            button.layout.width = "auto"
        self.run_button.on_click(lambda _: self._ui(self.run_iteration))
        self.review_button.on_click(lambda _: self._ui(self.open_review))
        self.refresh_button.on_click(lambda _: self._ui(self.refresh))
        self.open_button.on_click(lambda _: self._ui(lambda: self.open_frame(self.frame_box.value)))
        self.progress = W.Output()
        self.verdict_table = W.HTML()
        self.review_area = W.VBox()

        self.clip_fig = plots.clip_figure_of_project(project, truth=self.truth)
        self.progress_fig = plots.progress_figure_of_project(project, truth=self.truth,
                                                             baselines=self.baselines)
        self.clip_view = FigureView(self.clip_fig, interactive=interactive)
        self.progress_view = FigureView(self.progress_fig, interactive=interactive)
        #: with ground truth: is "confident" right? (None without it)
        self.reliability_fig = (None if self.truth is None else
                                plots.reliability_figure_of_project(project, self.truth))
        self.reliability_view = (None if self.reliability_fig is None else
                                 FigureView(self.reliability_fig, interactive=interactive))
        #: several objects: one row per track, identity switches flagged (None without tracks)
        self.track_fig = plots.track_timeline_of_project(project, truth=self.track_truth)
        self.track_view = (None if self.track_fig is None else
                           FigureView(self.track_fig, interactive=interactive))
        self.clip_view.on_click(self._on_clip_click)
        self._update_text()

        self.ui = W.VBox([
            self.header,
            W.HBox([self.run_button, self.review_button, self.refresh_button]),
            self.progress,
            self.clip_view.widget,
            W.HBox([self.frame_box, self.open_button]),
            self.verdict_table,
            *([] if self.track_view is None else [self.track_view.widget]),
            self.progress_view.widget,
            *([] if self.reliability_view is None else [self.reliability_view.widget]),
            self.status.widget,
            self.review_area,
        ], layout=W.Layout(width="100%"))
        self.ui.add_class("microlab-widget")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # what text-only frontends and saved notebooks show
        return bundle

    def __repr__(self) -> str:
        return f"Dashboard({self.project!r})"

    # ------------------------------------------------------------------ actions
    @reported
    def refresh(self) -> None:
        """Redraw every plot and the verdicts from the project's current state."""
        review_frames = self.review.frames if self.review is not None else []
        plots.clip_figure_of_project(self.project, truth=self.truth, review_frames=review_frames,
                                     fig=self.clip_fig)
        plots.progress_figure_of_project(self.project, truth=self.truth, baselines=self.baselines,
                                         fig=self.progress_fig)
        self.clip_view.redraw()
        self.progress_view.redraw()
        if self.reliability_view is not None:
            plots.reliability_figure_of_project(self.project, self.truth,
                                                fig=self.reliability_fig)
            self.reliability_view.redraw()
        if self.track_view is not None:
            plots.track_timeline_of_project(self.project, truth=self.track_truth,
                                            fig=self.track_fig)
            self.track_view.redraw()
        self._update_text()

    @reported
    def run_iteration(self) -> IterationReport:
        """Train on the human labels and predict every frame (:meth:`Project.step`), showing
        the progress bars, then redraw."""
        self.run_button.disabled = True
        self.status.busy("Training and predicting (the kernel is busy until this finishes)...")
        try:
            self.progress.clear_output()
            with self.progress, _text_progress_bars():
                report = (self.project.step(progress=True) if self.loop is None
                          else self.loop.step(self.project, progress=True))
        finally:
            self.run_button.disabled = False
        self.refresh()
        coverage = getattr(report, "coverage", None)
        self.status.success(
            f"Iteration {report.iteration}: trained in {report.train_s:.0f} s, predicted in "
            f"{report.predict_s:.0f} s"
            + ("" if coverage is None else f", coverage {coverage:.0%}")
            + ". Review the next batch."
        )
        return report

    @reported
    def open_review(self, frames: list[int] | None = None) -> Review:
        """Show a :class:`Review` below (the loop's queue, or ``frames``) and return it."""
        if frames is None and self.loop is not None:
            frames = [item.frame for item in self.loop.review_queue(self.project)]
        self.review = Review(self.project, frames)
        self.review.on_change(lambda _: self._update_text())
        self.review_area.children = [self.review.ui]
        self.refresh()
        return self.review

    @reported
    def open_frame(self, frame: int) -> Review:
        """Open one clip frame in Review (what a click on the timeline strip does)."""
        frame = int(frame)
        if self.review is None:
            self.review = Review(self.project, [frame])
            self.review.on_change(lambda _: self._update_text())
            self.review_area.children = [self.review.ui]
        else:
            self.review.open(frame)
        self.frame_box.value = frame
        self.status.info(f"Frame {frame} is open in Review below.")
        return self.review

    @reported
    def save_png(self, folder: str | Path, *, prefix: str = "dashboard") -> list[Path]:
        """Write the figures as PNG files (for a report); returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        figures = [("clip", self.clip_fig), ("progress", self.progress_fig)]
        if self.reliability_fig is not None:
            figures.append(("reliability", self.reliability_fig))
        for name, fig in figures:
            path = folder / f"{prefix}_{name}.png"
            path.write_bytes(plots.to_png(fig))
            out.append(path)
        return out

    # ------------------------------------------------------------------ internals
    def _ui(self, action: Any) -> None:
        self._guard.run(action)

    def _on_clip_click(self, event: Any) -> None:
        if event.inaxes is None or event.xdata is None:
            return
        frame = int(np.clip(round(event.xdata), 0, self.project.n_frames - 1))
        self._ui(lambda: self.open_frame(frame))

    def _trust_text(self) -> str:
        """How far "confident" can be trusted: what people found when they checked confident
        labels (with its uncertainty), and the measured figure when the truth is known."""
        from microlab.calibration import checked_summary
        from microlab.loop import CONFIDENT

        if self.project.iteration == 0:
            return "Confident labels: none yet (no prediction)."
        right, n = self.project.loop.calibration(self.project).checked(CONFIDENT)
        text = ("Confident labels checked by a person: "
                + checked_summary(right, n, dash="&ndash;")
                + ("" if n else " (review checks a few)"))
        if self.truth is not None:
            from microlab.metrics import confidence_report, correct_mask, project_boxes

            machine = np.setdiff1d(np.arange(self.project.n_frames), self.project.human_frames())
            ok = correct_mask(project_boxes(self.project), self.truth)
            actual = confidence_report(self.project.frame_confidence()[machine], ok[machine],
                                       threshold=CONFIDENT)["confident_correct_frac"]
            if actual is not None:
                text += f" &middot; against the ground truth: {actual:.1%} right"
        if self.track_truth is not None:
            from microlab.multi.identity import identity_scores

            labels = self.project.store.labels()
            scores = identity_scores([labels[f].detections() for f in range(self.project.n_frames)],
                                     self.track_truth)
            text += (f" &middot; against the ground truth: {scores.correct_frac:.1%} of the boxes "
                     f"right with their identity (IDF1 {scores.idf1:.3f})")
        return text + "."

    def _update_text(self) -> None:
        from microlab.stopping import segment_verdicts

        verdicts = segment_verdicts(self.project)
        self.verdicts = verdicts
        totals = self.project.action_totals()
        history = self.project.iteration_history()
        coverage = history[-1]["coverage"] if len(history) > 1 else 0.0
        done = sum(v.done for v in verdicts)
        stop = "stop: every segment is done" if done == len(verdicts) else "continue"
        self.header.value = (
            f"<b>Dashboard</b> &mdash; iteration {self.project.iteration} &middot; "
            f"{plural(totals['actions'], 'action')} &middot; "
            f"{plural(totals['frames_viewed'], 'frame')} viewed &middot; "
            f"{plural(len(self.project.human_frames()), 'human frame')} &middot; "
            f"coverage {coverage:.0%} (estimated) &middot; {done} of {len(verdicts)} "
            f"segments done &rarr; <b>{stop}</b><br>{self._trust_text()}"
        )
        correct = None
        if self.truth is not None:
            from microlab.metrics import segment_correctness

            correct = segment_correctness(self.project, self.truth)
        rows = []
        for i, v in enumerate(verdicts):
            colour = plots.VERDICT_COLOURS.get(v.verdict, "#111")
            truth_cell = f"<td>{correct[i]:.0%}</td>" if correct is not None else ""
            rows.append(
                f"<tr><td>{v.start}&ndash;{v.end}</td><td>{v.coverage:.0%}</td>{truth_cell}"
                f"<td>{v.reviewed} / {v.corrected}</td>"
                f'<td style="color:{colour};font-weight:bold">{v.verdict}</td>'
                f"<td>{html.escape(v.reason)}</td></tr>"
            )
        truth_head = "<th>correct</th>" if correct is not None else ""
        self.verdict_table.value = (
            "<style>.microlab-verdicts td, .microlab-verdicts th {padding: 1px 10px 1px 0; "
            "text-align: left}</style>"
            '<table class="microlab-verdicts" '
            'style="font-size:90%"><tr><th>frames</th><th>coverage</th>'
            f"{truth_head}<th>last review: frames / corrected</th><th>verdict</th><th>why</th></tr>"
            + "".join(rows) + "</table>"
        )
