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


# ---------------------------------------------------------------------- frame tags
def _tag_labels(tags, confidence, human_frames=()):
    import numpy as np

    from microlab.tagging import TagLabels

    tags = np.asarray(tags)
    human = np.zeros(len(tags), bool)
    human[list(human_frames)] = True
    return TagLabels(tags, np.asarray(confidence, float), human, ("model",) * len(tags), 1)


def test_tag_timeline_has_a_bar_per_frame_and_marks_wrong_frames() -> None:
    import numpy as np

    truth = np.repeat([0, 1, 2, 0], 10)
    tags = truth.copy()
    tags[12:15] = 2
    tags[30] = -1  # no tag
    labels = _tag_labels(tags, np.linspace(0, 1, 40), human_frames=[0, 25])
    fig = plots.tag_timeline_figure(labels, ["meadow", "beach", "harbour"],
                                    segments=[(0, 9), (10, 19), (20, 29), (30, 39)],
                                    cuts=[10, 30], truth=truth)
    tag_ax, truth_ax = fig.axes
    (bars,) = tag_ax.collections[:1]
    assert len(bars.get_paths()) == 40  # one bar per frame
    heights = [p.vertices[:, 1].max() for p in bars.get_paths()]
    assert heights[39] > heights[20] > heights[1]  # taller where more confident
    assert "4 of 40 frames wrong" in truth_ax.get_title(loc="left")
    assert "90.0% correct" in truth_ax.get_title(loc="left")
    # Wrong frames in red above the truth row: frames 12-14 and 30.
    red = truth_ax.collections[-1]
    centres = sorted(float(np.ptp(p.vertices[:, 0]) / 2 + p.vertices[:, 0].min())
                     for p in red.get_paths())
    assert centres == [12.0, 13.0, 14.0, 30.0]
    (legend,) = fig.legends
    names = [t.get_text() for t in legend.get_texts()]
    assert names == ["meadow", "beach", "harbour", "tagged by a person", "shot cut",
                     "segment boundary"]
    assert plots.to_png(fig)[:4] == b"\x89PNG"


def test_tag_timeline_of_multi_label_tags_has_a_lane_per_class() -> None:
    import numpy as np

    tags = np.zeros((20, 3), bool)
    tags[:10, 0] = True
    tags[5:, 2] = True
    fig = plots.tag_timeline_figure(_tag_labels(tags, np.full(20, 0.5)), ["a", "b", "c"])
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c", "b", "a"]
    assert sum(len(c.get_paths()) for c in ax.collections) == 25  # one bar per tag on
    again = plots.tag_timeline_figure(_tag_labels(tags, np.full(20, 0.5)), ["a", "b", "c"],
                                      fig=fig)
    assert again is fig


def test_tag_timeline_refuses_truth_of_another_shape() -> None:
    import numpy as np

    from microlab.errors import AnnotationError

    labels = _tag_labels(np.zeros(5, int), np.ones(5))
    with pytest.raises(AnnotationError, match=r"shape of the tags, \(5,\).*got \(4,\)"):
        plots.tag_timeline_figure(labels, ["a", "b"], truth=np.zeros(4, int))
