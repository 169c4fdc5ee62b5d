"""The caveat on video: a micro-model trained on one segment, scored there and far away.

The video version of :func:`microlab.spline.strategies.extrapolation`: train a model on a few
frames of one segment (:func:`train_segment_model`), score it on its own segment and a far one
(:func:`score_segments`, with the package's correctness :func:`microlab.metrics.correct_mask`),
and draw both (:func:`plot_transfer`, :func:`plot_transfer_frame`).  A clip that cuts to a
close-up, :func:`microlab.datasets.cut_to_close_up`, makes the far segment another shot.  Torch
loads (through :mod:`microlab.model`) only when a model is trained or scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.patches import Rectangle

from microlab.boxes import box_iou, present_mask
from microlab.errors import SplineError
from microlab.metrics import correct_mask
from microlab.spline.plots import PIECES_COLOUR

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from microlab.model import MicroModelConfig
    from microlab.sequences import Clip


@dataclass(frozen=True)
class TransferResult:
    """A micro-model trained on one segment of a clip, scored on its own and a far segment.

    Attributes:
        sequence: clip name.
        own: ``(start, end)`` frames of the segment it was trained on.
        far: ``(start, end)`` frames of the far-away segment.
        train_frames: the labelled frames it was trained on.
        frames: frames scored (both segments, training frames excluded).
        iou: IoU with the ground truth per scored frame (``nan`` where the object is absent).
        correct: DESIGN.md's correctness per scored frame (IoU >= 0.5, or no box when absent).
        boxes: ``(n, 4)`` the model's ``xyxy`` box per scored frame (NaN where it found none).
        train_s: training seconds.
    """

    sequence: str
    own: tuple[int, int]
    far: tuple[int, int]
    train_frames: np.ndarray
    frames: np.ndarray
    iou: np.ndarray
    correct: np.ndarray
    boxes: np.ndarray
    train_s: float

    def _mask(self, span: tuple[int, int]) -> np.ndarray:
        return (self.frames >= span[0]) & (self.frames < span[1])

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean IoU (present frames) and correct share in the own and the far segment."""
        out = {}
        for name, span in (("own", self.own), ("far", self.far)):
            m = self._mask(span)
            iou = self.iou[m]
            out[name] = {"mean_iou": (float(np.nanmean(iou)) if np.isfinite(iou).any()
                                      else float("nan")),
                         "correct_frac": float(self.correct[m].mean()) if m.any() else float("nan"),
                         "frames": int(m.sum())}
        return out


def train_segment_model(
    sequence: Clip,
    span: tuple[int, int],
    *,
    n_labels: int = 5,
    config: MicroModelConfig | None = None,
) -> tuple[Any, np.ndarray]:
    """Train a micro-model on ``n_labels`` frames spread evenly over ``span`` = ``(start, end)``.

    Returns:
        ``(model, train_frames)``.  Loads torch (through :mod:`microlab.model`) only when called.
    """
    from microlab.model import MicroModelConfig, labelled_frame, train_micro_model

    n = len(sequence)
    if not 0 <= span[0] < span[1] <= n:
        raise SplineError(f"span must be (start, end) with 0 <= start < end <= {n}, but got {span}")
    truth = sequence.ground_truth
    train = np.unique(np.linspace(span[0], span[1] - 1, n_labels + 2)[1:-1]
                      .round().astype(np.int64))
    present = present_mask(truth)
    labelled = [labelled_frame(sequence.frames[int(i)], [truth[i]] if present[i] else [])
                for i in train]
    model = train_micro_model(labelled, config or MicroModelConfig(), progress=False)
    return model, train


def score_segments(
    model: Any,
    sequence: Clip,
    *,
    own: tuple[int, int],
    far: tuple[int, int],
    train_frames: Sequence[int] | np.ndarray = (),
    step: int = 1,
    train_s: float = float("nan"),
) -> TransferResult:
    """Per-frame IoU and correctness of ``model`` on two segments of ``sequence``.

    Args:
        model: a trained :class:`microlab.model.MicroModel`.
        sequence: the clip (ground truth needed).
        own: ``(start, end)`` of the segment the model was trained on.
        far: ``(start, end)`` of a far-away segment.
        train_frames: frames left out of the scores (the model saw their labels).
        step: score every ``step``-th frame.
        train_s: training seconds, carried into the result.
    """
    n = len(sequence)
    for name, (a, b) in (("own", own), ("far", far)):
        if not 0 <= a < b <= n:
            raise SplineError(f"{name} must be (start, end) with 0 <= start < end <= {n}, "
                              f"but got {(a, b)}")
    truth = sequence.ground_truth
    train = np.asarray(train_frames, dtype=np.int64)
    frames = np.concatenate([np.arange(own[0], own[1], step), np.arange(far[0], far[1], step)])
    frames = np.setdiff1d(frames, train)
    found = model.predict(sequence.frames, frames, progress=False).detections()
    iou = np.full(len(frames), np.nan)
    boxes = np.full((len(frames), 4), np.nan)
    present = present_mask(truth)
    for k, f in enumerate(frames):
        det = found[int(f)]
        if len(det):
            boxes[k] = det.xyxy[int(np.argmax(det.scores))]
        if present[f]:
            iou[k] = float(box_iou(det.xyxy, truth[f]).max()) if len(det) else 0.0
    # The model's best box per frame, judged as every label is (IoU >= 0.5, or no box where the
    # object is absent); detections() keeps one box per class, so this is the box ``iou`` scores.
    correct = correct_mask(boxes, np.asarray(truth, dtype=np.float64)[frames])
    return TransferResult(sequence.name, tuple(own), tuple(far), train, frames, iou, correct, boxes,
                          train_s)


def segment_transfer(
    sequence: Clip,
    *,
    own: tuple[int, int],
    far: tuple[int, int],
    n_labels: int = 5,
    config: MicroModelConfig | None = None,
    step: int = 1,
) -> TransferResult:
    """Train a micro-model on ``n_labels`` frames of ``own``, score it on ``own`` and ``far``.

    The video version of :func:`extrapolation`; see :func:`train_segment_model` and
    :func:`score_segments` to score one model on several clips.
    """
    import time

    started = time.perf_counter()
    model, train = train_segment_model(sequence, own, n_labels=n_labels, config=config)
    train_s = time.perf_counter() - started
    return score_segments(model, sequence, own=own, far=far, train_frames=train, step=step,
                          train_s=train_s)


def plot_transfer(ax: Axes, result: TransferResult) -> None:
    """Per-frame IoU of one segment's micro-model in its own segment and in a far one."""
    summary = result.summary()
    for name, span, colour in (("own", result.own, PIECES_COLOUR), ("far", result.far, "tab:red")):
        m = result._mask(span)
        s = summary[name]
        ax.axvspan(span[0], span[1], color=colour, alpha=0.1)
        ax.plot(result.frames[m], result.iou[m], ".", color=colour, ms=4,
                label=f"{name} segment {span[0]}–{span[1]}: mean IoU {s['mean_iou']:.2f}, "
                      f"{100 * s['correct_frac']:.0f}% correct")
    # Frames where the object is out of view have no IoU: a tick below 0 if the model rightly
    # found nothing, a cross if it put a box on something else.
    absent = np.isnan(result.iou)
    for ok, marker, text in ((True, "|", "object absent, no box (correct)"),
                             (False, "x", "object absent, false box")):
        pick = absent & (result.correct == ok)
        if pick.any():
            ax.plot(result.frames[pick], np.full(int(pick.sum()), -0.06), marker, color="0.3", ms=6,
                    label=text)
    ax.plot(result.train_frames, np.full(len(result.train_frames), 1.04), "v", color="black", ms=6,
            label="frames it was trained on")
    ax.axhline(0.5, color="0.3", lw=0.8, ls=":")
    ax.set_ylim(-0.12, 1.1)
    ax.set_xlabel("frame")
    ax.set_ylabel("IoU with ground truth")
    ax.legend(fontsize=8, loc="lower left")


def plot_transfer_frame(ax: Axes, sequence: Clip, result: TransferResult,
                        frame: int) -> None:
    """One scored frame with the true box (dashed white) and the model's box (red)."""
    rows = np.flatnonzero(result.frames == frame)
    if not rows.size:
        raise SplineError(f"frame {frame} was not scored; scored frames run "
                          f"{result.frames.min()}..{result.frames.max()}")
    ax.imshow(sequence.frames[int(frame)])
    for box, style in ((sequence.ground_truth[frame], dict(edgecolor="white", ls="--")),
                       (result.boxes[rows[0]], dict(edgecolor="red", ls="-"))):
        if np.isfinite(box).all():
            ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                   fill=False, lw=2, **style))
    iou = result.iou[rows[0]]
    ax.set_title(f"frame {frame}: IoU {iou:.2f}" if np.isfinite(iou)
                 else f"frame {frame}: object absent", fontsize=9)
    ax.axis("off")
