"""Figures of the loop: the clip as spline pieces, progress per iteration, baselines.

Every function builds a :class:`matplotlib.figure.Figure` without pyplot, so it works headless
(``to_png(fig)`` or ``fig.savefig("x.png")``) and in a notebook, where the Dashboard shows the
same figure through ipympl.  Each figure function takes plain data; the ``*_of_project``
helpers collect that data from a :class:`~microlab.project.Project` through engine calls.

>>> # one band per segment, coloured by coverage
>>> fig = plots.clip_figure_of_project(project)
>>> fig = plots.progress_figure(*plots.progress_data(project))
>>> fig = plots.simulation_figure(microlab.simulate.simulate(clip))   # "would it pay off?"
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from microlab.boxes import Detections
    from microlab.project import Project
    from microlab.stopping import SegmentVerdict

#: colour map of coverage, correctness and confidence (red = poor, green = good)
QUALITY_CMAP = "RdYlGn"
METHOD_COLOURS = {"microlab": "#2563eb", "interpolation": "#9333ea", "tracker": "#ea580c"}
VERDICT_COLOURS = {"done": "#15803d", "check": "#a16207", "continue": "#c2410c", "label": "#6b7280"}


def _cmap() -> Any:
    return mpl.colormaps[QUALITY_CMAP]


def _figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    if fig is None:
        return Figure(figsize=size, layout="constrained")
    fig.clear()
    return fig


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# ---------------------------------------------------------------------- the clip
def draw_segment_bands(
    ax: Axes,
    segments: Sequence[Mapping[str, Any]],
    *,
    key: str = "coverage",
    y: tuple[float, float] = (0.0, 1.0),
    alpha: float = 0.35,
    annotate: bool = True,
) -> None:
    """One rectangle per segment (``start``..``end`` frames) coloured by
    ``segment[key]`` in [0, 1]."""
    cmap = _cmap()
    for seg in segments:
        value = seg.get(key)
        if value is None:
            continue
        x0, x1 = seg["start"] - 0.5, seg["end"] + 0.5
        ax.add_patch(Rectangle((x0, y[0]), x1 - x0, y[1] - y[0], facecolor=cmap(float(value)),
                               alpha=alpha, edgecolor="white", linewidth=1.0))
        if annotate:
            ax.text((x0 + x1) / 2, y[0] + 0.04 * (y[1] - y[0]), f"{float(value):.0%}", ha="center",
                    va="bottom", fontsize=8, color="#111")


def draw_confidence_strip(
    ax: Axes,
    confidence: np.ndarray,
    *,
    human_frames: Sequence[int] = (),
    review_frames: Sequence[int] = (),
    boundaries: Sequence[int] = (),
) -> None:
    """The whole clip as a strip, one column per frame coloured by the confidence of its label;
    black ticks mark human frames, blue triangles the review batch."""
    confidence = np.asarray(confidence, float)
    n = len(confidence)
    ax.imshow(confidence[None, :], aspect="auto", cmap=QUALITY_CMAP, vmin=0.0, vmax=1.0,
              extent=(-0.5, n - 0.5, 0.0, 1.0), interpolation="nearest")
    for b in boundaries:
        ax.axvline(b - 0.5, color="white", linewidth=1.5)
    if len(human_frames):
        ax.vlines(list(human_frames), 0.7, 1.0, color="black", linewidth=1.5)
    if len(review_frames):
        ax.scatter(list(review_frames), [0.2] * len(review_frames), marker="^", s=40,
                   color="#2563eb", edgecolor="white", linewidth=0.8, zorder=3)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(0, 1)
    ax.set_yticks([])


def clip_figure(
    n_frames: int,
    segments: Sequence[Mapping[str, Any]],
    *,
    confidence: np.ndarray | None = None,
    verdicts: Sequence[SegmentVerdict] | None = None,
    human_frames: Sequence[int] = (),
    review_frames: Sequence[int] = (),
    fig: Figure | None = None,
) -> Figure:
    """The spline picture: the clip cut into segments, each a band coloured by its coverage.

    Top: per segment, a band coloured by coverage (share of frames with a human or confident
    label) and, when a segment has ``correct_frac`` (ground truth known), a black step at its
    correct share; the confidence of each frame is drawn as a curve broken at segment
    boundaries (one piece per segment, like a spline), and the stopping rule's verdict is
    written above each band.  Bottom (when ``confidence`` is given): the timeline strip of
    the whole clip coloured by confidence per frame; the Dashboard opens a clicked frame in
    Review.

    Args:
        n_frames: clip length.
        segments: dicts with ``start``, ``end``, ``coverage`` and optionally ``correct_frac``.
        confidence: per-frame confidence in [0, 1].
        verdicts: the stopping rule's answers, one per segment
            (:func:`microlab.stopping.segment_verdicts`).
        human_frames: frames a person labelled (ticks).
        review_frames: frames of the current review batch (triangles).
        fig: a figure to draw into (cleared first), e.g. one shown by an ipympl canvas.
    """
    fig = _figure(fig, (8.0, 3.4 if confidence is not None else 2.6))
    if confidence is not None:
        ax, strip = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    else:
        ax, strip = fig.subplots(1, 1), None
    draw_segment_bands(ax, segments, key="coverage", y=(0.0, 1.0))
    has_truth = any(seg.get("correct_frac") is not None for seg in segments)
    if has_truth:
        for i, seg in enumerate(segments):
            if seg.get("correct_frac") is not None:
                ax.hlines(seg["correct_frac"], seg["start"] - 0.5, seg["end"] + 0.5, color="black",
                          linewidth=2.0, label="correct share (ground truth)" if i == 0 else None)
    if confidence is not None:
        confidence = np.asarray(confidence, float)
        for i, seg in enumerate(segments):
            xs = np.arange(seg["start"], seg["end"] + 1)
            ax.plot(xs, confidence[xs], color="#1e3a8a", linewidth=1.0,
                    label="confidence per frame" if i == 0 else None)
    for i, seg in enumerate(segments):
        if verdicts is not None and i < len(verdicts):
            v = verdicts[i]
            ax.text((seg["start"] + seg["end"]) / 2, 1.03, v.verdict, ha="center", va="bottom",
                    fontsize=8, fontweight="bold", color=VERDICT_COLOURS.get(v.verdict, "#111"))
    for seg in segments[1:]:
        ax.axvline(seg["start"] - 0.5, color="#6b7280", linewidth=0.8, linestyle=":")
    ax.set_xlim(-0.5, n_frames - 0.5)
    ax.set_ylim(0, 1.15 if verdicts is not None else 1.02)
    ax.set_yticks([0, 0.5, 1.0], ["0%", "50%", "100%"])
    ax.set_ylabel("coverage")
    ax.set_title("Segments of the clip, coloured by coverage", fontsize=10, loc="left")
    if confidence is not None or has_truth:
        # Above the plot, right of the title: inside it would hide a segment's label.
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=7, frameon=False,
                  borderaxespad=0.2)
    fig.colorbar(mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 1), cmap=QUALITY_CMAP),
                 ax=[a for a in (ax, strip) if a is not None], fraction=0.02, pad=0.01,
                 label="coverage / confidence")
    if strip is not None:
        draw_confidence_strip(strip, confidence, human_frames=human_frames,
                              review_frames=review_frames,
                              boundaries=[s["start"] for s in segments[1:]])
        strip.set_xlabel("frame (click the strip to open a frame in Review)")
    else:
        ax.set_xlabel("frame")
    return fig


def clip_figure_of_project(
    project: Project,
    *,
    truth: np.ndarray | None = None,
    review_frames: Sequence[int] = (),
    fig: Figure | None = None,
) -> Figure:
    """:func:`clip_figure` of a project's current state (with correctness when ``truth`` is
    given)."""
    from microlab.metrics import segment_correctness
    from microlab.stopping import segment_verdicts

    verdicts = segment_verdicts(project)
    segments: list[dict[str, Any]] = [{"start": v.start, "end": v.end, "coverage": v.coverage}
                                      for v in verdicts]
    if truth is not None:
        for seg, frac in zip(segments, segment_correctness(project, truth)):
            seg["correct_frac"] = frac
    return clip_figure(project.n_frames, segments, confidence=project.frame_confidence(),
                       verdicts=verdicts,
                       human_frames=project.human_frames(), review_frames=review_frames, fig=fig)


# ---------------------------------------------------------------------- iterations
def progress_data(
    project: Project, truth: np.ndarray | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Rows for :func:`progress_figure` from a project: one per prediction (iteration >= 1)
    with ``actions``, ``frames_viewed``, ``coverage`` and, when ``truth`` is given,
    ``correct_frac`` (plus a last ``"now"`` row for the labels after the latest reviews)."""
    from microlab.metrics import correctness_history

    rows = [dict(r) for r in project.iteration_history() if r["iteration"] > 0]
    if truth is not None:
        history = correctness_history(project, truth)
        by_iteration = {h["iteration"]: h for h in history}
        for r in rows:
            if r["iteration"] in by_iteration:
                r["correct_frac"] = by_iteration[r["iteration"]]["correct_frac"]
        now = history[-1]
        if rows and now["actions"] > rows[-1]["actions"]:
            rows.append({**now, "coverage": None})
    return rows, project.n_frames


def _labels(row: Mapping[str, Any], n_frames: int) -> float | None:
    """Correct labels when known, else confident (covered) labels."""
    if row.get("correct_frac") is not None:
        return float(row["correct_frac"]) * n_frames
    if row.get("coverage") is not None:
        return float(row["coverage"]) * n_frames
    return None


def progress_figure(
    rows: Sequence[Mapping[str, Any]],
    n_frames: int,
    *,
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Four panels over the iterations, with the baselines on the same axes when given.

    1. labels vs human actions: % correct (or % covered without ground truth) after each
       iteration; the baselines' curves (interpolation, tracker) on the same axes;
    2. human work per iteration: actions and frames viewed, cumulative;
    3. labels gained per human action in each iteration (bars) and overall (line);
    4. label efficiency ``1 - actions / labels``.

    Args:
        rows: per iteration ``actions``, ``frames_viewed`` and ``correct_frac`` and/or
            ``coverage`` (see :func:`progress_data`, or a simulation's ``iterations``).
        n_frames: clip length.
        baselines: a simulation's ``baselines`` (each with ``curve``, ``labels_per_action``,
            ``label_efficiency``).
        fig: a figure to draw into (cleared first).
    """
    fig = _figure(fig, (8.0, 5.6))
    (a_curve, a_work), (a_gain, a_eff) = fig.subplots(2, 2)
    known = any(r.get("correct_frac") is not None for r in rows)
    what = "correct" if known else "covered (confident)"
    its = [r for r in rows if r.get("iteration") != "now"]
    colour = METHOD_COLOURS["microlab"]

    # 1. labels vs actions
    pts = [(r["actions"], _labels(r, n_frames)) for r in rows if _labels(r, n_frames) is not None]
    if pts:
        xs, ys = zip(*pts)
        a_curve.plot(xs, np.asarray(ys) / n_frames * 100, "o-", color=colour, label="microlab")
    for name, base in (baselines or {}).items():
        curve = base.get("curve") or []
        if curve:
            a_curve.step([c["actions"] for c in curve], [c["correct_frac"] * 100 for c in curve],
                         where="post",
                         color=METHOD_COLOURS.get(name, "#444"),
                         label=f"{name} (views every frame)")
    a_curve.axhline(95, color="#6b7280", linestyle=":", linewidth=1)
    a_curve.set_xlim(left=0)
    a_curve.set_xlabel("human actions")
    a_curve.set_ylabel(f"% frames {what}")
    a_curve.set_ylim(0, 102)
    a_curve.set_title(f"Labels {what} vs human actions", fontsize=10, loc="left")
    if pts or baselines:
        a_curve.legend(fontsize=7, loc="lower right")

    # 2. work per iteration
    if its:
        x = [int(r["iteration"]) for r in its]
        a_work.bar(x, [r["actions"] for r in its], color=colour, alpha=0.7,
                   label="actions (cumulative)")
        a_work.plot(x, [r["frames_viewed"] for r in its], "s-", color="#111",
                    label="frames viewed (cumulative)")
        a_work.set_xticks(x)
        a_work.legend(fontsize=7, loc="upper left")
    a_work.set_xlabel("iteration (work done before its prediction)")
    a_work.set_title("Human work", fontsize=10, loc="left")

    # 3. labels per action
    gains, totals, x = [], [], []
    prev_labels, prev_actions = 0.0, 0
    for r in its:
        labels = _labels(r, n_frames)
        if labels is None:
            continue
        d_actions = r["actions"] - prev_actions
        gains.append((labels - prev_labels) / d_actions if d_actions > 0 else np.nan)
        totals.append(labels / r["actions"] if r["actions"] else np.nan)
        x.append(int(r["iteration"]))
        prev_labels, prev_actions = labels, r["actions"]
    if x:
        a_gain.bar(x, gains, color=colour, alpha=0.7, label="this iteration")
        a_gain.plot(x, totals, "o-", color=colour, label="so far")
        a_gain.set_xticks(x)
    for name, base in (baselines or {}).items():
        lpa = base.get("labels_per_action")
        if lpa is not None and np.isfinite(lpa):
            a_gain.axhline(lpa, color=METHOD_COLOURS.get(name, "#444"), linestyle="--",
                           linewidth=1.2, label=f"{name} (at 100%)")
    a_gain.axhline(0, color="#111", linewidth=0.6)
    a_gain.set_xlabel("iteration")
    a_gain.set_ylabel(f"frames {what.split()[0]} per action")
    a_gain.set_title("Labels gained per human action", fontsize=10, loc="left")
    if x or baselines:
        a_gain.legend(fontsize=7)

    # 4. label efficiency
    eff = [(int(r["iteration"]), 1 - r["actions"] / lab) for r in its
           if (lab := _labels(r, n_frames))]
    if eff:
        ex, ey = zip(*eff)
        a_eff.plot(ex, np.asarray(ey) * 100, "o-", color=colour, label="microlab")
        a_eff.set_xticks(ex)
    for name, base in (baselines or {}).items():
        if base.get("label_efficiency") is not None:
            a_eff.axhline(base["label_efficiency"] * 100, color=METHOD_COLOURS.get(name, "#444"),
                          linestyle="--", linewidth=1.2, label=f"{name} (at 100%)")
    lowest = min((100 * (1 - r["actions"] / lab) for r in its if (lab := _labels(r, n_frames))),
                 default=0.0)
    a_eff.set_ylim(min(0.0, lowest), 101)
    a_eff.set_xlabel("iteration")
    a_eff.set_ylabel("%")
    a_eff.set_title(f"Label efficiency: 1 - actions / frames {what.split()[0]}", fontsize=10,
                    loc="left")
    if eff or baselines:
        a_eff.legend(fontsize=7, loc="lower right")
    return fig


def progress_figure_of_project(
    project: Project,
    *,
    truth: np.ndarray | None = None,
    baselines: Mapping[str, Mapping[str, Any]] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """:func:`progress_figure` of a project (correctness and baselines when known)."""
    rows, n = progress_data(project, truth)
    return progress_figure(rows, n, baselines=baselines, fig=fig)


# ---------------------------------------------------------------------- calibration
def reliability_figure(
    confidence: np.ndarray,
    correct: np.ndarray,
    *,
    bins: int = 10,
    threshold: float = 0.8,
    fig: Figure | None = None,
) -> Figure:
    """Is confidence right? The share of labels correct per confidence bin (bars, with the
    number of labels in each) against the diagonal a calibrated model would follow, and the
    share correct among labels at or above ``threshold`` ("confident") in the title.

    Pass machine labels only: human frames are right by definition.
    """
    from microlab.metrics import confidence_report

    conf = np.asarray(confidence, float).reshape(-1)
    ok = np.asarray(correct, bool).reshape(-1)
    report = confidence_report(conf, ok, threshold=threshold, bins=bins)
    fig = _figure(fig, (4.2, 3.4))
    ax = fig.subplots(1, 1)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    shares = np.array([ok[which == b].mean() if (which == b).any() else np.nan
                       for b in range(bins)])
    counts = np.bincount(which, minlength=bins)
    ax.bar(centres, np.nan_to_num(shares) * 100, width=1 / bins * 0.9,
           color=METHOD_COLOURS["microlab"], alpha=0.75)
    ax.plot([0, 1], [0, 100], color="#111", linestyle=":", linewidth=1)  # where calibrated
    ax.axvline(threshold, color="#6b7280", linestyle="--", linewidth=1)
    for x, share, n in zip(centres, shares, counts):
        if n:
            ax.text(x, min(np.nan_to_num(share) * 100 + 2, 96), str(int(n)), ha="center",
                    fontsize=6, color="#374151")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 102)
    ax.set_xlabel("confidence of the machine label")
    ax.set_ylabel("% correct (labels in each bin on the bar)")
    precision = report["confident_correct_frac"]
    ece = report["ece"]
    title = ("Reliability: " + ("no confident label" if precision is None
                                else f"{precision:.1%} of confident labels right")
             + ("" if ece is None else f", ECE {ece:.3f}")
             + "\nbars: share correct per confidence bin; dotted: calibrated")
    ax.set_title(title, fontsize=8, loc="left")
    return fig


def reliability_figure_of_project(
    project: Project, truth: np.ndarray, *, fig: Figure | None = None
) -> Figure:
    """:func:`reliability_figure` of a project's machine labels against ``truth``."""
    from microlab.loop import CONFIDENT
    from microlab.metrics import correct_mask, project_boxes

    machine = np.setdiff1d(np.arange(project.n_frames), project.human_frames())
    ok = correct_mask(project_boxes(project), truth)
    return reliability_figure(project.frame_confidence()[machine], ok[machine],
                              threshold=CONFIDENT, fig=fig)


# ---------------------------------------------------------------------- simulation
def summary_figure(result: Mapping[str, Any], *, fig: Figure | None = None) -> Figure:
    """The feasibility answer of a :func:`microlab.simulate.simulate` result: for each method,
    the human actions and the frames a person must look at to reach 95% and 100% correct."""
    fig = _figure(fig, (8.0, 3.0))
    a_act, a_view = fig.subplots(1, 2)
    methods = {"microlab": result["final"], **result.get("baselines", {})}
    names = list(methods)
    x = np.arange(len(names))
    for ax, keys, title in (
        (a_act, ("actions_to_95", "actions_to_100"), "Human actions"),
        (a_view, ("frames_viewed_to_95", "frames_viewed_to_100"), "Frames a person looks at"),
    ):
        for j, key in enumerate(keys):
            values = [methods[m].get(key, np.nan) for m in names]
            bars = ax.bar(x + (j - 0.5) * 0.38, values, width=0.36,
                          color=[METHOD_COLOURS.get(m, "#444") for m in names],
                          alpha=0.55 if j else 1.0, label=f"{key.rsplit('_', 1)[1]}% correct")
            ax.bar_label(bars, fmt="%g", fontsize=7)
        ax.set_xticks(x, names)
        ax.set_title(f"{title} to reach 95% / 100% correct", fontsize=9, loc="left")
    clip_line = a_view.axhline(result["n_frames"], color="#6b7280", linestyle=":", linewidth=1,
                               label=f"whole clip ({result['n_frames']} frames)")
    a_view.legend(handles=[clip_line], fontsize=7, loc="lower right")
    for ax in (a_act, a_view):
        ax.margins(y=0.15)
    return fig


def simulation_figure(result: Mapping[str, Any], *, fig: Figure | None = None) -> Figure:
    """:func:`progress_figure` of a simulation result, baselines included."""
    return progress_figure(result["iterations"], result["n_frames"],
                           baselines=result.get("baselines"), fig=fig)


def simulation_segments_figure(result: Mapping[str, Any], *, fig: Figure | None = None) -> Figure:
    """:func:`clip_figure` of a simulation's last iteration: coverage bands and correct share."""
    last = result["iterations"][-1] if result["iterations"] else {"segments": []}
    return clip_figure(result["n_frames"], last["segments"], fig=fig)


# ---------------------------------------------------------------------- frame tags
#: one colour per tag class (matplotlib's tab10, repeated past ten classes)
TAG_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf")
UNTAGGED_COLOUR = "#d1d5db"
WRONG_COLOUR = "#dc2626"


def tag_colours(n: int) -> list[str]:
    """The colour of each of ``n`` tag classes (the Tagger's filmstrip uses the same)."""
    return [TAG_COLOURS[i % len(TAG_COLOURS)] for i in range(n)]


def _tag_matrix(tags: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` booleans from class ids ``(n,)`` (``-1`` = none) or ``(n, k)`` rows."""
    tags = np.asarray(tags)
    if tags.ndim == 2:
        return tags.astype(bool)
    out = np.zeros((len(tags), k), bool)
    on = tags >= 0
    out[np.flatnonzero(on), tags[on].astype(int)] = True
    return out


def _frame_bars(ax: Axes, frames: np.ndarray, y0: np.ndarray | float, heights: np.ndarray,
                colours: np.ndarray) -> None:
    """One rectangle per frame (a frame wide, exact at any zoom), as one collection: fast for
    clips of thousands of frames."""
    from matplotlib.collections import PolyCollection

    if not len(frames):
        return
    x = np.asarray(frames, float)
    y0 = np.broadcast_to(np.asarray(y0, float), x.shape)
    y1 = y0 + np.asarray(heights, float)
    verts = np.stack([np.c_[x - 0.5, y0], np.c_[x - 0.5, y1], np.c_[x + 0.5, y1],
                      np.c_[x + 0.5, y0]], axis=1)
    ax.add_collection(PolyCollection(verts, facecolors=colours, edgecolors="none"))


def _lanes(ax: Axes, member: np.ndarray, confidence: np.ndarray | None, palette: list[str],
           *, single: bool) -> None:
    """Tags as bars: one row (single-label: the tag's colour) or one lane per class
    (multi-label); with ``confidence``, height and shade follow it."""
    n, k = member.shape
    rgba = np.asarray([mpl.colors.to_rgba(c) for c in palette])
    conf = np.ones(n) if confidence is None else np.clip(confidence, 0.0, 1.0)
    height = 0.15 + 0.85 * conf
    alpha = 0.3 + 0.7 * conf
    frames = np.arange(n)
    if single:
        ids = np.where(member.any(axis=1), member.argmax(axis=1), -1)
        colours = np.where((ids >= 0)[:, None], rgba[np.maximum(ids, 0)],
                           mpl.colors.to_rgba(UNTAGGED_COLOUR))
        colours[:, 3] = np.where(ids >= 0, alpha, 1.0)
        _frame_bars(ax, frames, 0.0, np.where(ids >= 0, height, 0.15), colours)
        return
    for c in range(k):
        on = member[:, c]
        colours = np.repeat(rgba[c][None], on.sum(), axis=0)
        colours[:, 3] = alpha[on]
        _frame_bars(ax, frames[on], k - 1 - c + 0.05, 0.9 * height[on], colours)


def _segment_start(segment: Any) -> int:
    if isinstance(segment, Mapping):
        return int(segment["start"])
    if hasattr(segment, "start"):
        return int(segment.start)
    return int(segment[0])


def tag_timeline_figure(
    labels: Any,
    classes: Sequence[str],
    *,
    segments: Sequence[Any] | None = None,
    cuts: Sequence[int] | None = None,
    truth: np.ndarray | None = None,
    verdicts: Sequence[SegmentVerdict] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Every frame's tags on one timeline: a bar per frame in its tag's colour, taller and
    darker the more confident; a black tick above each frame a person tagged; solid lines at
    shot cuts, dotted ones at the other segment boundaries.  Multi-label tags get one lane per
    class.  With ``truth``, a second row shows the true tags, with the frames whose tags are
    wrong marked in red and the share correct in its title.

    Args:
        labels: a :class:`~microlab.tagging.TagLabels` (``tags`` ``(n,)`` class ids, ``-1`` =
            none, or ``(n, classes)`` booleans; ``confidence`` ``(n,)``; ``human`` ``(n,)``).
        classes: the class names, in class-id order.
        segments: the segments (:class:`~microlab.segments.Segment`, ``(start, end)`` pairs or
            dicts with ``start``): a dotted line where each begins.
        cuts: frames where a new shot starts (solid lines).
        truth: the true tags, in the shape of ``labels.tags``.
        verdicts: the stopping rule's answer per segment
            (:meth:`~microlab.tagging.TagProject.segment_verdicts`), written above each one.
        fig: a figure to draw into (cleared first), e.g. one shown by an ipympl canvas.

    >>> fig = tag_timeline_figure(project.labels(), project.classes, cuts=project.cuts())
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from microlab.errors import AnnotationError

    tags = np.asarray(labels.tags)
    confidence = np.asarray(labels.confidence, float).reshape(-1)
    human = np.asarray(labels.human, bool).reshape(-1)
    n, k = len(confidence), len(classes)
    single = tags.ndim == 1
    if tags.shape != ((n,) if single else (n, k)) or human.shape != (n,):
        raise AnnotationError(
            f"labels need tags of shape ({n},) or ({n}, {k}) and human of shape ({n},) for "
            f"{n} confidences and {k} classes, but got tags {tags.shape}, human {human.shape}")
    member = _tag_matrix(tags, k)
    truth_member = None
    if truth is not None:
        truth = np.asarray(truth)
        if truth.shape != tags.shape:
            raise AnnotationError(f"truth must have the shape of the tags, {tags.shape} (one "
                                  f"{'class id' if single else 'row of booleans'} per frame), "
                                  f"but got {truth.shape}")
        truth_member = _tag_matrix(truth, k)
    palette = tag_colours(k)
    lanes = 1 if single else k
    tall = 0.45 * lanes if not single else 0.9
    fig = _figure(fig, (8.0, 1.5 + tall * (2 if truth is not None else 1)))
    if truth_member is not None:
        ax, truth_ax = fig.subplots(2, 1, sharex=True)
    else:
        ax, truth_ax = fig.subplots(1, 1), None
    _lanes(ax, member, confidence, palette, single=single)
    top = float(lanes) + (0.1 if not single else 0.0)
    tagged = np.flatnonzero(human)
    if len(tagged):
        ax.vlines(tagged, top + 0.04 * lanes, top + 0.22 * lanes, color="black", linewidth=1.2)
    starts = sorted({_segment_start(s) for s in segments or ()} - {0})
    cut_set = {int(c) for c in cuts or ()} - {0}
    for a in (ax, truth_ax):
        if a is None:
            continue
        for c in sorted(cut_set):
            a.axvline(c - 0.5, color="#111", linewidth=0.9)
        for s in starts:
            if s not in cut_set:
                a.axvline(s - 0.5, color="#6b7280", linewidth=0.8, linestyle=":")
        a.set_xlim(-0.5, n - 0.5)
        if single:
            a.set_yticks([])
        else:
            a.set_yticks(np.arange(k) + 0.5, list(reversed(classes)), fontsize=7)
    ceiling = top + 0.26 * lanes
    for v in verdicts or ():
        # a narrow segment gets the verdict's initial, so neighbours' words do not overlap
        word = v.verdict if (v.end - v.start + 1) >= 0.07 * n else v.verdict[0]
        ax.text((v.start + v.end) / 2, ceiling, word, ha="center", va="bottom", fontsize=7,
                fontweight="bold", color=VERDICT_COLOURS.get(v.verdict, "#111"))
    ax.set_ylim(0, ceiling + (0.3 * lanes if verdicts else 0.0))
    ax.set_ylabel("tags", fontsize=8)
    ax.set_title("Tags of every frame (height and shade: confidence)", fontsize=9, loc="left")
    handles: list[Any] = [Patch(color=c, label=name) for c, name in zip(palette, classes)]
    handles.append(Line2D([], [], color="black", linewidth=1.2, label="tagged by a person"))
    if cut_set:
        handles.append(Line2D([], [], color="#111", linewidth=0.9, label="shot cut"))
    if set(starts) - cut_set:
        handles.append(Line2D([], [], color="#6b7280", linewidth=0.8, linestyle=":",
                              label="segment boundary"))
    # Above the plots, in a row of its own: inside it would hide frames, beside the title it
    # would overlap it.
    fig.legend(handles=handles, loc="outside upper right", fontsize=7, ncol=len(handles),
               frameon=False, handlelength=1.2)
    if truth_ax is None or truth_member is None:
        ax.set_xlabel("frame")
        return fig
    _lanes(truth_ax, truth_member, None, palette, single=single)
    wrong = np.flatnonzero(np.any(member != truth_member, axis=1))
    if len(wrong):
        red = np.repeat(np.asarray(mpl.colors.to_rgba(WRONG_COLOUR))[None], len(wrong), axis=0)
        _frame_bars(truth_ax, wrong, float(lanes) + 0.08 * lanes, np.full(len(wrong),
                                                                         0.2 * lanes), red)
    truth_ax.set_ylim(0, lanes * 1.3)
    truth_ax.set_ylabel("truth", fontsize=8)
    truth_ax.set_title(f"Truth: {len(wrong)} of {n} frames wrong (red), "
                       f"{1 - len(wrong) / max(n, 1):.1%} correct", fontsize=9, loc="left")
    truth_ax.set_xlabel("frame")
    return fig


def _runs(frames: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of consecutive frames."""
    out: list[tuple[int, int]] = []
    for f in frames:
        if out and out[-1][0] + out[-1][1] == f:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((int(f), 1))
    return out


def track_timeline_figure(
    timeline: Any,
    classes: Sequence[str],
    *,
    fig: Figure | None = None,
) -> Figure:
    """One row per track, like CVAT's: a bar where the track has a box (coloured by its
    class), black ticks where a person gave its box, orange triangles at suspected identity
    switches and red crosses at measured ones (with ground truth).

    Args:
        timeline: a :class:`~microlab.multi.timeline.TrackTimeline`.
        classes: class names, in class-id order.
        fig: a figure to draw into (cleared first).

    >>> fig = track_timeline_figure(track_timeline(per_frame, human_frames=human), classes)
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tracks = timeline.tracks
    palette = tag_colours(max(len(classes), 1))
    fig = _figure(fig, (8.0, 1.4 + 0.22 * max(len(tracks), 1)))
    ax = fig.subplots(1, 1)
    row = {t: i for i, t in enumerate(tracks)}
    for t in tracks:
        y = row[t]
        colour = palette[timeline.classes.get(t, 0) % len(palette)]
        ax.broken_barh(_runs(timeline.frames[t]), (y - 0.35, 0.7), facecolors=colour,
                       alpha=0.85)
        human = timeline.human.get(t, [])
        if human:
            ax.vlines(human, y - 0.42, y + 0.42, color="black", linewidth=1.2)
    if timeline.suspected_switches:
        ax.scatter([f for f, _, _ in timeline.suspected_switches],
                   [row[t] for _, t, _ in timeline.suspected_switches], marker="v", s=28,
                   color="#ea580c", zorder=4)
    if timeline.measured_switches:
        ax.scatter([f for f, _, _, _ in timeline.measured_switches],
                   [row[t] for _, t, _, _ in timeline.measured_switches], marker="x", s=36,
                   color=WRONG_COLOUR, zorder=5, linewidths=1.6)
    ax.set_yticks(range(len(tracks)), [f"track {t}" for t in tracks], fontsize=7)
    ax.set_ylim(len(tracks) - 0.5, -0.5)
    ax.set_xlim(-0.5, timeline.n_frames - 0.5)
    ax.set_xlabel("frame")
    title = (f"{len(tracks)} tracks; {len(timeline.suspected_switches)} suspected identity "
             "switches")
    if timeline.measured_switches:
        title += f", {len(timeline.measured_switches)} measured against the truth"
    ax.set_title(title, fontsize=9, loc="left")
    handles: list[Any] = [Patch(color=palette[i % len(palette)], label=name)
                          for i, name in enumerate(classes)]
    handles += [Line2D([], [], color="black", linewidth=1.2, label="box by a person"),
                Line2D([], [], marker="v", linestyle="", color="#ea580c",
                       label="suspected switch"),
                Line2D([], [], marker="x", linestyle="", color=WRONG_COLOUR,
                       label="measured switch")]
    fig.legend(handles=handles, loc="outside upper right", fontsize=7, ncol=len(handles),
               frameon=False, handlelength=1.2)
    return fig


def track_timeline_of_project(project: Project, *, truth: Sequence[Detections] | None = None,
                              fig: Figure | None = None) -> Figure | None:
    """:func:`track_timeline_figure` of a project's current labels (``None`` when no box has
    a track); ``truth`` (every frame's true boxes with ids, e.g. a MOT clip's) adds the
    measured identity switches."""
    from microlab.boxes import Detections
    from microlab.multi.timeline import track_timeline

    labels = project.store.labels()
    per_frame = [labels[f].detections() if f in labels else Detections.empty()
                 for f in range(project.n_frames)]
    if not any((d.track_ids >= 0).any() for d in per_frame):
        return None
    timeline = track_timeline(per_frame, human_frames=project.human_frames(), truth=truth)
    return track_timeline_figure(timeline, project.classes, fig=fig)
