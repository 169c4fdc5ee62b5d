"""Training a micro-model with a fastai ``Learner``: (frames, labels, config) -> weights.

Training is a pure function of its inputs, so many segments or clips can later be trained in
parallel on a cluster engine without a rewrite.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from microlab.boxes import Detections, box_iou
from microlab.errors import ModelError
from microlab.model.config import MicroModelConfig
from microlab.model.data import (
    CropSampler,
    LabelledFrame,
    centernet_loss,
    object_sizes,
    refine_scale,
    working_scale,
)
from microlab.model.infer import REFINE_MIN_RATIO, MicroModel
from microlab.model.network import MicroDetector, build_backbone, input_normalisation
from microlab.model.weights import PretrainedSource, resolve_pretrained


def _freeze_early_layers(backbone: nn.Module, n_blocks: int) -> None:
    """Freeze the stem and the first ``n_blocks`` blocks: generic edges, few labels to spare."""
    for _, child in backbone.named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(child) > 1:
            for block in list(child)[:n_blocks]:
                block.requires_grad_(False)
            return
        child.requires_grad_(False)


def _batchnorm_eval(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def _calibrate_threshold(model: MicroModel,
                         labelled: Sequence[LabelledFrame]) -> tuple[float, dict]:
    """Absent/present score threshold from the labelled frames themselves.

    Positive scores: the best candidate overlapping a labelled box.  Absent scores: the best
    candidate on frames a human marked "object absent".  Without absent frames the threshold is
    a fraction of the typical positive score (these are training frames, so scores run high).
    """
    positives: list[float] = []
    absent: list[float] = []
    for frame in labelled:
        found = model.detect([frame.image])[0]
        if len(frame.boxes) == 0:
            absent.append(float(found.scores.max()) if len(found) else 0.0)
        elif not len(found):
            positives.append(0.0)
        else:
            iou = box_iou(found.xyxy, frame.boxes.xyxy).max(axis=1)
            matched = found.scores[iou >= 0.3]
            positives.append(float(matched.max()) if matched.size else 0.0)
    typical = float(np.median(positives)) if positives else 0.75
    threshold = float(np.clip(0.4 * typical, 0.1, 0.5))
    if absent and max(absent) < typical:
        threshold = float(np.clip((max(absent) + typical) / 2, 0.1, 0.6))
    stats = {"positive_scores": [round(v, 4) for v in positives],
             "absent_scores": [round(v, 4) for v in absent]}
    return threshold, stats


def train_micro_model(
    labelled: Sequence[LabelledFrame],
    config: MicroModelConfig | None = None,
    *,
    init: MicroModel | None = None,
    progress: bool = True,
) -> MicroModel:
    """Train a micro-detector on a few labelled frames with fastai's one-cycle schedule.

    Args:
        labelled: the human-labelled frames; frames without boxes train "object absent".
        config: settings (defaults: :class:`MicroModelConfig`).
        init: a previous model of the same backbone to start from (warm start).
        progress: show fastai's progress bar.

    Returns:
        The trained :class:`MicroModel`, with its working scale and absent threshold calibrated.

    Example:
        >>> model = train_micro_model([LabelledFrame(image, Detections([[10, 20, 60, 90]]))])
    """
    from fastai.callback.core import Callback
    from fastai.callback.schedule import fit_one_cycle  # noqa: F401  (adds Learner.fit_one_cycle)
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner

    config = config or MicroModelConfig()
    labelled = list(labelled)
    if not labelled:
        raise ModelError("no labelled frames: draw boxes (or mark frames absent) before training")
    sizes = object_sizes(labelled)
    if sizes.size == 0:
        raise ModelError(
            "all labelled frames say 'object absent': draw at least "
            "one box so the model knows what to find"
        )
    num_classes = len(config.classes)
    for f in labelled:
        if len(f.boxes) and (f.boxes.class_ids.max() >= num_classes or f.boxes.class_ids.min() < 0):
            raise ModelError(f"a box has class id {int(f.boxes.class_ids.max())}, "
                             f"but classes are {config.classes}")

    started = time.perf_counter()
    if init is not None:
        source = PretrainedSource("none")
        if init.config.backbone != config.backbone or init.config.classes != config.classes:
            raise ModelError("warm start needs the same backbone and classes as the initial model")
    else:
        source = resolve_pretrained(config.backbone, config.pretrained, config.weights)
    # Seeded after the weights are resolved: finding them may build models (the first
    # conversion of packaged weights does), and the first run must train like every later one.
    torch.manual_seed(config.seed)
    backbone = build_backbone(config.backbone, source)
    net = MicroDetector(backbone, num_classes, config.head_channels)
    if init is not None:
        net.load_state_dict(init.net.state_dict())
    mean, std = input_normalisation(backbone)
    height, width = labelled[0].image.shape[:2]
    scale = working_scale(
        (width, height), float(np.median(sizes)), object_size=config.object_size,
        max_input_side=config.max_input_side, min_input_side=config.min_input_side,
    )
    pretrained = source.kind != "none" or init is not None
    if pretrained:
        _freeze_early_layers(net.backbone, config.freeze_blocks)

    # From random init the network needs more and faster steps (the scratch defaults) to fit the
    # demo clip; pretrained backbones need neither.  BENCHMARKS.md has the current figures.
    steps, lr = ((config.steps, config.lr) if pretrained
                 else (config.scratch_steps, config.scratch_lr))
    epochs = max(1, math.ceil(steps / config.steps_per_epoch))
    length = config.steps_per_epoch * config.batch_size
    steps_per_epoch = config.steps_per_epoch
    zoom = refine_scale(float(np.median(sizes)), object_size=config.object_size)
    scales = (scale, zoom) if config.refine and zoom >= REFINE_MIN_RATIO * scale else (scale,)
    common = dict(scales=scales, crop_size=config.crop_size, num_classes=num_classes, mean=mean,
                  std=std)
    train_ds = CropSampler(labelled, length=length, augment=True, seed=config.seed,
                           negative_fraction=config.negative_fraction, **common)
    n_views = max(len(labelled), sum(max(1, len(f.boxes)) for f in labelled))
    valid_ds = CropSampler(labelled, length=min(n_views, 2 * config.batch_size), augment=False,
                           **common)
    dls = DataLoaders(
        torch.utils.data.DataLoader(train_ds, batch_size=config.batch_size, shuffle=False,
                                    drop_last=True),
        torch.utils.data.DataLoader(valid_ds, batch_size=config.batch_size),
    )

    dls.n_inp = 1  # one input (the image), four targets

    class KeepBatchNormFrozen(Callback):
        # fastai calls model.train() every epoch; pretrained BN statistics must survive 5 images.
        order = 1

        def before_train(self) -> None:
            if pretrained:
                _batchnorm_eval(self.learn.model.backbone)

    def to_channels_last(xb: torch.Tensor) -> torch.Tensor:
        return xb.contiguous(memory_format=torch.channels_last)

    class ChannelsLast(Callback):
        def before_batch(self) -> None:
            self.learn.xb = tuple(to_channels_last(x) for x in self.learn.xb)

    net = net.to(memory_format=torch.channels_last)
    learn = Learner(dls, net, loss_func=centernet_loss, cbs=[KeepBatchNormFrozen(), ChannelsLast()],
                    wd=1e-4)
    # fastai's progress bar, without its per-epoch loss table (one row per 10 steps floods a
    # terminal).
    with learn.no_logging():
        if progress:
            learn.fit_one_cycle(epochs, lr)
        else:
            with learn.no_bar():
                learn.fit_one_cycle(epochs, lr)
    train_s = time.perf_counter() - started
    losses = [float(v) for v in learn.recorder.losses[-steps_per_epoch:]]
    model = MicroModel(
        net, config, scale=scale, refine_scale=scales[-1] if len(scales) > 1 else None,
        threshold=0.3, mean=mean, std=std,
        info={
            "pretrained": source.describe(),
            "warm_start": init is not None,
            "n_frames": len(labelled),
            "n_boxes": int(sizes.size),
            "epochs": epochs,
            "steps": epochs * steps_per_epoch,
            "train_s": round(train_s, 2),
            "final_train_loss": round(float(np.mean(losses)), 4) if losses else None,
        },
    )
    model.threshold, calibration = _calibrate_threshold(model, labelled)
    model.info["calibration"] = calibration
    return model


def labelled_frame(image: np.ndarray, xyxy: Sequence[Sequence[float]] | np.ndarray,
                   class_ids=None) -> LabelledFrame:
    """Convenience: a :class:`LabelledFrame` from an image and a list of ``xyxy`` boxes."""
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    ids = np.zeros(len(boxes), np.int64) if class_ids is None else np.asarray(class_ids)
    return LabelledFrame(image, Detections(boxes, np.ones(len(boxes)), ids))
