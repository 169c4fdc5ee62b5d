"""Figures of microlab.plots: simulation results and a live project, rendered headless."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fakes import fake_simulation_result

from microlab import plots
from microlab.project import Project


@pytest.mark.parametrize("make",
                         [plots.simulation_figure, plots.summary_figure,
                          plots.simulation_segments_figure])
def test_simulation_figures_render(make) -> None:
    png = plots.to_png(make(fake_simulation_result()))
    assert png[:4] == b"\x89PNG"
    assert len(png) > 5_000


def test_figures_draw_into_a_given_figure(predicted: Project) -> None:
    fig = plots.clip_figure_of_project(predicted)
    again = plots.clip_figure_of_project(predicted, fig=fig)
    assert again is fig
    assert len(fig.axes) == 3  # bands, strip, colour bar


def test_reliability_figure_titles_the_share_of_confident_labels_right() -> None:
    import numpy as np

    conf = np.r_[np.full(10, 0.95), np.full(10, 0.3)]
    ok = np.r_[np.arange(10) < 9, np.arange(10) < 3]
    fig = plots.reliability_figure(conf, ok)
    (ax,) = fig.axes
    assert "90.0% of confident labels right" in ax.get_title(loc="left")
    heights = sorted(round(b.get_height()) for b in ax.patches if b.get_height() > 0)
    assert heights == [30, 90]  # the two occupied bins: 3 of 10 and 9 of 10 correct
    assert plots.to_png(fig)[:4] == b"\x89PNG"
    empty = plots.reliability_figure(np.zeros(0), np.zeros(0, bool))
    assert "no confident label" in empty.axes[0].get_title(loc="left")


def test_engine_and_plots_do_not_import_widget_libraries() -> None:
    code = (
        "import sys, microlab, microlab.loop, microlab.stopping, microlab.plots, microlab.metrics\n"
        "bad = [m for m in ('ipywidgets', 'jupyter_bbox_widget', 'ipympl') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
