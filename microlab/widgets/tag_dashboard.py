"""TagDashboard: where the tags of a clip stand, on a timeline of every frame.

>>> TagDashboard(project, truth=clip.tags)   # header with the work and the estimates; a click
...                                          # on the timeline opens that frame in a Tagger
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np

from microlab import plots
from microlab.calibration import checked_summary
from microlab.errors import AnnotationError
from microlab.stopping import VERDICTS
from microlab.widgets._common import (
    Guard,
    StatusArea,
    plural,
    reported,
)
from microlab.widgets.dashboard import (
    FigureView,
    _in_kernel,
    _ipympl_available,
    _text_progress_bars,
)
from microlab.widgets.tagger import Tagger

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from microlab.tagging import TagIterationReport, TagLabels, TagProject


def _truth_tags(project: TagProject, truth: Any) -> np.ndarray | None:
    """Ground-truth tags as an array in the shape of the project's tags (a TagClip's ``tags``,
    class ids, or for multi-label rows of booleans)."""
    if truth is None:
        return None
    values = np.asarray(getattr(truth, "tags", truth))
    n, k = project.n_frames, len(project.classes)
    if project.multi_label and values.shape == (n,):
        values = np.eye(k, dtype=bool)[values.astype(int)]  # one true tag per frame
    want = (n, k) if project.multi_label else (n,)
    if values.shape != want:
        each = f"a row of {k} booleans" if project.multi_label else "one class id"
        raise AnnotationError(f"truth must have {each} per frame, shape {want}, but got "
                              f"{values.shape}")
    if not project.multi_label and (values.min() < 0 or values.max() >= k):
        raise AnnotationError(f"truth class ids must be 0..{k - 1} ({project.classes}), but got "
                              f"{int(values.min())}..{int(values.max())}")
    return values.astype(bool) if project.multi_label else values.astype(int)


class TagDashboard:
    """Where the tags of a clip stand: a header with the work and the estimates, and a timeline
    of every frame's tag (:func:`microlab.plots.tag_timeline_figure`).

    The header: iteration, actions, frames viewed, coverage (estimated: human tags and tags at
    least ``settings.confident`` confident), the share correct expected from the confidences,
    and how the confident tags fared when a person checked them
    (:func:`~microlab.calibration.checked_summary`).  With ``truth``, the measured share
    correct stands beside each estimate and the timeline gets a row of the true tags with the
    wrong frames in red.  *Run next iteration* trains and tags every frame
    (:meth:`TagProject.step`), *Tag next batch* opens a :class:`Tagger` below; a click on the
    timeline opens that frame in it.

    Buttons mirror methods: :meth:`run_iteration`, :meth:`open_tagger`, :meth:`open_frame`,
    :meth:`refresh`; :meth:`save_png` writes the figure.

    Args:
        project: the :class:`~microlab.tagging.TagProject` to watch.
        truth: the true tags, if known: class ids ``(n,)`` (or a
            :class:`~microlab.tagging.TagClip`); ``(n, classes)`` booleans for multi-label.
        interactive: an ipympl canvas (zoom, click); default when ipympl is installed and a
            kernel runs.  ``False`` draws a PNG image.
    """

    def __init__(self, project: TagProject, truth: Any = None, *,
                 interactive: bool | None = None) -> None:
        self.project = project
        self.truth = _truth_tags(project, truth)
        self.status = StatusArea()
        self._guard = Guard(self.status)
        if interactive is None:
            interactive = _ipympl_available() and _in_kernel()
        self.interactive = interactive
        self.tagger: Tagger | None = None

        self.header = W.HTML()
        self.run_button = W.Button(description="Run next iteration", icon="play",
                                   button_style="primary",
                                   tooltip="train on the tags so far, then tag every frame")
        self.tagger_button = W.Button(description="Tag next batch", icon="tags",
                                      tooltip="the frames worth tagging now, in a Tagger below")
        self.refresh_button = W.Button(description="Refresh", icon="refresh")
        for button in (self.run_button, self.tagger_button, self.refresh_button):
            button.layout.width = "auto"
        self.run_button.on_click(lambda _: self._guard.run(self.run_iteration))
        self.tagger_button.on_click(lambda _: self._guard.run(self.open_tagger))
        self.refresh_button.on_click(lambda _: self._guard.run(self.refresh))
        self.progress = W.Output()
        self.tagger_area = W.VBox()

        self.fig = self._draw()
        self.view = FigureView(self.fig, interactive=interactive)
        self.view.on_click(self._on_click)
        self._update_text()
        self.ui = W.VBox([
            self.header,
            W.HBox([self.run_button, self.tagger_button, self.refresh_button]),
            self.progress,
            self.view.widget,
            self.status.widget,
            self.tagger_area,
        ], layout=W.Layout(width="100%"))
        self.ui.add_class("microlab-widget")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"TagDashboard({self.project!r})"

    # ------------------------------------------------------------------ actions
    @reported
    def refresh(self) -> None:
        """Redraw the timeline and the header from the project's current state."""
        self._draw(self.fig)
        self.view.redraw()
        self._update_text()

    @reported
    def run_iteration(self) -> TagIterationReport:
        """Train on the tags so far and tag every frame (:meth:`TagProject.step`), showing the
        progress bars, then redraw."""
        self.run_button.disabled = True
        self.status.busy("Training and tagging every frame (the kernel is busy until this "
                         "finishes)...")
        try:
            self.progress.clear_output()
            with self.progress, _text_progress_bars():
                report = self.project.step(progress=True)
        finally:
            self.run_button.disabled = False
        self.refresh()
        self.status.success(
            f"Iteration {report.iteration}: trained in {report.train_s:.0f} s, tagged every "
            f"frame in {report.predict_s:.0f} s, coverage {report.coverage:.0%} (estimated). "
            "Tag next batch: the frames most likely wrong.")
        return report

    @reported
    def open_tagger(self, frames: Iterable[int] | None = None) -> Tagger:
        """Show a :class:`Tagger` below (the loop's frames, or ``frames``) and return it."""
        self.tagger = Tagger(self.project, frames)
        self.tagger.on_change(lambda _: self._update_text())
        self.tagger_area.children = [self.tagger.ui]
        return self.tagger

    @reported
    def open_frame(self, frame: int) -> Tagger:
        """Show one clip frame in the Tagger below (what a click on the timeline does)."""
        frame = int(frame)
        tagger = self.tagger if self.tagger is not None else self.open_tagger([frame])
        tagger.go(frame)
        self.status.info(f"Frame {frame} is open in the Tagger below.")
        return tagger

    @reported
    def save_png(self, folder: str | Path, *, prefix: str = "tags") -> Path:
        """Write the timeline as a PNG file (for a report); returns its path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{prefix}_timeline.png"
        path.write_bytes(plots.to_png(self.fig))
        return path

    # ------------------------------------------------------------------ internals
    def _draw(self, fig: Figure | None = None) -> Figure:
        project = self.project
        return plots.tag_timeline_figure(project.labels(), project.classes,
                                         segments=project.segments(), cuts=project.cuts(),
                                         truth=self.truth, verdicts=project.segment_verdicts(),
                                         fig=fig)

    def _on_click(self, event: Any) -> None:
        if event.inaxes is None or event.xdata is None:
            return
        frame = int(np.clip(round(event.xdata), 0, self.project.n_frames - 1))
        self._guard.run(lambda: self.open_frame(frame))

    def _update_text(self) -> None:
        project = self.project
        labels = project.labels()
        totals = project.action_totals()
        threshold = project.settings.confident
        coverage = float(np.mean(labels.confidence >= threshold)) if project.n_frames else 0.0
        lines = [(
            f"<b>Tag dashboard</b> &mdash; iteration {project.iteration} &middot; "
            f"{plural(totals['actions'], 'action')} &middot; "
            f"{plural(totals['frames_viewed'], 'frame')} viewed &middot; "
            f"{plural(int(labels.human.sum()), 'tagged frame')} &middot; "
            f"coverage {coverage:.0%} (estimated)"
        )]
        if project.iteration == 0 or project.prediction() is None:
            lines.append("No machine tags yet: tag the first frames (Tag next batch), then "
                         "Run next iteration.")
            self.header.value = "<br>".join(lines)
            return
        correct = self._correct(labels)
        expected = float(labels.confidence.mean())
        line = f"Share of frames right: {expected:.0%} expected (estimated from confidence)"
        if correct is not None:
            line += f" &middot; <b>{correct.mean():.1%} measured</b> against the truth"
        lines.append(line)
        right, n = project.calibration().checked(threshold)
        line = ("Confident tags checked by a person: " + checked_summary(right, n, dash="&ndash;")
                + ("" if n else " (review checks a few)"))
        confident = ~labels.human & (labels.confidence >= threshold)
        if confident.any():
            line += (f" &middot; {plural(int(confident.sum()), 'confident machine tag')}, "
                     f"{float(labels.confidence[confident].mean()):.0%} expected right")
            if correct is not None:
                line += f", {correct[confident].mean():.1%} measured"
        lines.append(line)
        verdicts = [v.verdict for v in project.segment_verdicts()]
        counts = [f"{verdicts.count(v)} {v}" for v in VERDICTS if v in verdicts]
        lines.append(f"Segments: {' &middot; '.join(counts)} (done: covered, and the last "
                     "answers there were all accepted)")
        self.header.value = "<br>".join(lines)

    def _correct(self, labels: TagLabels) -> np.ndarray | None:
        """Per frame, whether its tags are the true ones (``None`` without truth)."""
        if self.truth is None:
            return None
        tags = np.asarray(labels.tags)
        if tags.ndim == 1:
            return tags == self.truth
        return np.all(tags.astype(bool) == self.truth, axis=1)


__all__ = ["TagDashboard"]
