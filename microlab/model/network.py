"""The micro-detector network: a timm backbone cut at stride 16 and a small CenterNet head.

Outputs at stride 8: a centre heatmap per class (logits), a sub-cell centre offset (2) and the
log of the box width and height in stride units (2).
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from microlab.errors import ModelError
from microlab.model.weights import PretrainedSource

STRIDE = 8


@contextmanager
def _quiet_timm():
    # timm logs the unused classifier keys when cutting a backbone: harmless,
    # and noisy in a notebook.
    logger = logging.getLogger("timm")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _feature_indices(name: str) -> tuple[int, int]:
    import timm

    try:
        with _quiet_timm():
            probe = timm.create_model(name, features_only=True, pretrained=False)
    except Exception as exc:  # timm raises RuntimeError or KeyError for unknown names
        suggestions = timm.list_models(f"*{name.split('_')[0]}*")[:8]
        raise ModelError(
            f"timm cannot build backbone {name!r} with features_only=True ({exc}). "
            f"Similar names: {suggestions}"
        ) from exc
    reductions = probe.feature_info.reduction()
    try:
        return reductions.index(8), reductions.index(16)
    except ValueError as exc:
        raise ModelError(
            f"backbone {name!r} has feature strides {reductions}; a micro-detector needs 8 and 16"
        ) from exc


def _create(name: str, source: PretrainedSource, **kwargs: object) -> nn.Module:
    """``timm.create_model`` with the weights of ``source`` (a hub user gets timm's own
    ``pretrained=True``; a local or packaged file goes through ``pretrained_cfg_overlay``)."""
    import timm

    if source.kind in ("file", "package"):
        kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(source.file)})
    elif source.kind == "hub":
        kwargs.update(pretrained=True)
    try:
        with _quiet_timm():
            return timm.create_model(name, **kwargs)
    except Exception as exc:
        if source.kind == "none":
            suggestions = timm.list_models(f"*{name.split('_')[0]}*")[:8]
            raise ModelError(f"timm cannot build {name!r} ({exc}). Similar names: "
                             f"{suggestions}") from exc
        raise ModelError(f"could not load {source.describe()} into {name!r}: {exc}") from exc


def build_backbone(name: str, source: PretrainedSource) -> nn.Module:
    """A timm ``features_only`` backbone returning the stride-8 and stride-16 maps."""
    return _create(name, source, features_only=True, out_indices=_feature_indices(name))


def build_classifier(name: str, source: PretrainedSource, num_classes: int) -> nn.Module:
    """A whole timm classifier with a new ``num_classes`` head (timm drops the ImageNet head of
    pretrained weights when the class count differs)."""
    return _create(name, source, num_classes=num_classes)


def _conv(cin: int, cout: int, k: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MicroDetector(nn.Module):
    """Backbone features at strides 8 and 16, merged top-down, then three small output heads."""

    def __init__(self, backbone: nn.Module, num_classes: int, channels: int = 64) -> None:
        super().__init__()
        self.backbone = backbone
        c8, c16 = backbone.feature_info.channels()
        self.lateral8 = nn.Conv2d(c8, channels, 1)
        self.lateral16 = nn.Conv2d(c16, channels, 1)
        self.neck = nn.Sequential(_conv(channels, channels), _conv(channels, channels))
        self.heatmap = nn.Conv2d(channels, num_classes, 1)
        self.offset = nn.Conv2d(channels, 2, 1)
        self.size = nn.Conv2d(channels, 2, 1)
        # Start the heatmap at a 1% prior so focal loss is stable from the first step.
        nn.init.constant_(self.heatmap.bias, -math.log((1 - 0.01) / 0.01))
        nn.init.normal_(self.heatmap.weight, std=0.001)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f8, f16 = self.backbone(x)
        top = F.interpolate(self.lateral16(f16), size=f8.shape[-2:], mode="nearest")
        y = self.neck(self.lateral8(f8) + top)
        return self.heatmap(y), self.offset(y), self.size(y)


def input_normalisation(backbone: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std the backbone was trained with, from its timm pretrained config."""
    cfg = getattr(backbone, "pretrained_cfg", None) or {}
    return (tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
            tuple(cfg.get("std", (0.229, 0.224, 0.225))))
