"""The frame-classification micro-model: a whole timm classifier fine-tuned by fastai.

Like the micro-detector, it is overfit on purpose to one clip: a few tagged frames, many epochs
of augmented views of them, fastai's transfer-learning recipe (``Learner.fine_tune``: the new
head first with the body frozen, then everything with discriminative learning rates).  Training
is a pure function of its inputs, ``(images, tags, config) -> TagModel``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from microlab.errors import ModelError
from microlab.model.network import build_classifier, input_normalisation
from microlab.model.weights import PRETRAINED_CHOICES, PretrainedSource, resolve_pretrained


@dataclass
class TagModelConfig:
    """How a frame classifier is built and trained.

    Attributes:
        backbone: any timm classifier name.
        pretrained: where the ImageNet weights come from (see :mod:`microlab.model.weights`).
        weights: a local weights file for ``backbone``.
        classes: the tag names, in class-id order.
        multi_label: several tags per frame (sigmoid per class) instead of exactly one (softmax).
        input_side: longest side of the network input, in pixels (a multiple of 32 is used).
        batch_size: augmented views per step.
        steps: optimiser steps with a pretrained body (after ``freeze_steps`` for the head).
        freeze_steps: steps that train the new head alone first.
        lr: fastai's base learning rate for ``fine_tune``.
        scratch_steps: steps when no pretrained weights were found (random init learns slower).
        scratch_lr: learning rate from random init.
        seed: seeds initialisation and augmentation, so a run repeats.
    """

    backbone: str = "mobilenetv2_100"
    pretrained: str = "auto"
    weights: str | None = None
    classes: list[str] = field(default_factory=lambda: ["a", "b"])
    multi_label: bool = False
    input_side: int = 160
    batch_size: int = 16
    steps: int = 40
    freeze_steps: int = 10
    lr: float = 1e-2
    scratch_steps: int = 200
    scratch_lr: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pretrained not in PRETRAINED_CHOICES:
            raise ModelError(
                f"pretrained must be one of {PRETRAINED_CHOICES}, but got {self.pretrained!r}")
        if len(self.classes) < (1 if self.multi_label else 2):
            raise ModelError("a frame classifier needs at least two classes (one for multi-label)"
                             f", but got {self.classes}")
        if self.input_side < 64:
            raise ModelError(f"input_side must be at least 64, but got {self.input_side}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TagModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown classifier settings {unknown}; known: {sorted(known)}")
        return cls(**data)


def input_size(frame_size: tuple[int, int], input_side: int) -> tuple[int, int]:
    """Network input ``(width, height)`` for frames of ``frame_size``: aspect kept, multiples
    of 32, longest side about ``input_side``."""
    w, h = frame_size
    scale = input_side / max(w, h)
    return max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32)


def resize_for_model(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A frame at the network's input size (uint8 RGB)."""
    interp = cv2.INTER_AREA if size[0] < image.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interp)


def gentle_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, a little blur and noise, but no change of hue, saturation or grey:
    the colours of a place are often what tells it from another (the detector's stronger
    :func:`~microlab.model.data.photometric_jitter` would teach the classifier to ignore them)."""
    out = image.astype(np.float32)
    out = (out - 128.0) * rng.uniform(0.85, 1.15) + 128.0 + rng.uniform(-12, 12)
    if rng.random() < 0.2:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.2))
    if rng.random() < 0.2:
        out += rng.normal(0, rng.uniform(2, 6), out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


class TagViews(torch.utils.data.Dataset):
    """Augmented views of the tagged frames, classes drawn evenly (``len`` = views per epoch).

    A view is a random crop of 65-100% of each side, flipped half the time, with a gentle
    photometric jitter (:func:`gentle_jitter`); frames are drawn class by class so a class
    tagged once is seen as often as one tagged ten times.
    """

    def __init__(self, images: Sequence[np.ndarray], targets: np.ndarray, *, length: int,
                 mean: np.ndarray, std: np.ndarray, augment: bool = True, seed: int = 0) -> None:
        self.images = list(images)
        self.targets = np.asarray(targets, np.float32)
        self.length = length
        self.mean, self.std = mean, std
        self.augment = augment
        self.rng = np.random.default_rng(seed)
        keys = [tuple(t) for t in self.targets]
        groups: dict[tuple, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        self.groups = list(groups.values())

    def __len__(self) -> int:
        return self.length

    def _pick(self, index: int) -> int:
        if not self.augment:
            return index % len(self.images)
        group = self.groups[int(self.rng.integers(len(self.groups)))]
        return group[int(self.rng.integers(len(group)))]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        i = self._pick(index)
        image = self.images[i]
        if self.augment:
            h, w = image.shape[:2]
            cw, ch = int(w * self.rng.uniform(0.65, 1.0)), int(h * self.rng.uniform(0.65, 1.0))
            x0, y0 = int(self.rng.integers(0, w - cw + 1)), int(self.rng.integers(0, h - ch + 1))
            view = cv2.resize(image[y0:y0 + ch, x0:x0 + cw], (w, h),
                              interpolation=cv2.INTER_LINEAR)
            if self.rng.random() < 0.5:
                view = view[:, ::-1]
            view = gentle_jitter(np.ascontiguousarray(view), self.rng)
        else:
            view = image
        x = ((view.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(self.targets[i])


class TagModel:
    """A trained frame classifier and what it needs to read frames: ``probabilities(frames)``."""

    def __init__(self, net: nn.Module, config: TagModelConfig, *, size: tuple[int, int],
                 mean: Sequence[float], std: Sequence[float],
                 info: dict[str, Any] | None = None) -> None:
        self.net = net.eval()
        self.config = config
        self.size = (int(size[0]), int(size[1]))
        self.mean = np.asarray(mean, np.float32) * 255
        self.std = np.asarray(std, np.float32) * 255
        self.info = dict(info or {})

    def metadata(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "size": list(self.size),
                "mean": (self.mean / 255).tolist(), "std": (self.std / 255).tolist(),
                "info": self.info}

    def to_bytes(self) -> bytes:
        """The weights as safetensors bytes, with :meth:`metadata` in the header."""
        from safetensors.torch import save

        state = {k: v.contiguous() for k, v in self.net.state_dict().items()}
        return save(state, metadata={"microlab_tags": json.dumps(self.metadata())})

    @classmethod
    def from_bytes(cls, data: bytes) -> TagModel:
        """Load a checkpoint written by :meth:`to_bytes`; never unpickles anything."""
        from safetensors.torch import load

        try:
            state = load(data)
            header_len = int.from_bytes(data[:8], "little")
            meta = json.loads(json.loads(data[8:8 + header_len])["__metadata__"]["microlab_tags"])
        except Exception as exc:
            raise ModelError(f"not a microlab frame classifier checkpoint: {exc}") from exc
        config = TagModelConfig.from_dict(meta["config"])
        net = build_classifier(config.backbone, PretrainedSource("none"), len(config.classes))
        net.load_state_dict(state)
        return cls(net, config, size=tuple(meta["size"]), mean=meta["mean"], std=meta["std"],
                   info=meta.get("info"))

    def _batch(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        x = np.stack([(resize_for_model(im, self.size).astype(np.float32) - self.mean) / self.std
                      for im in images]).transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(x))

    @torch.inference_mode()
    def probabilities(self, frames: Iterable[np.ndarray], *, batch_size: int = 32,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Per-frame class probabilities ``(n, classes)``: softmax for one tag per frame,
        independent sigmoids for multi-label."""
        out: list[np.ndarray] = []
        chunk: list[np.ndarray] = []

        def flush() -> None:
            logits = self.net(self._batch(chunk))
            p = torch.sigmoid(logits) if self.config.multi_label else torch.softmax(logits, 1)
            out.append(p.numpy().astype(np.float64))
            if progress is not None:
                progress(len(chunk))
            chunk.clear()

        for image in frames:
            chunk.append(image)
            if len(chunk) == batch_size:
                flush()
        if chunk:
            flush()
        k = len(self.config.classes)
        return np.concatenate(out) if out else np.zeros((0, k))


def _splitter(net: nn.Module) -> list[list[nn.Parameter]]:
    """fastai parameter groups: the body, then the new head (``freeze`` trains the last)."""
    head = {id(p) for p in net.get_classifier().parameters()}
    body = [p for p in net.parameters() if id(p) not in head]
    return [body, [p for p in net.parameters() if id(p) in head]]


def train_tag_model(images: Sequence[np.ndarray], tags: np.ndarray,
                    config: TagModelConfig | None = None, *,
                    progress: bool = True) -> TagModel:
    """Fine-tune a timm classifier on tagged frames with fastai.

    Args:
        images: RGB frames (any size; all of one clip).
        tags: class ids ``(n,)`` for one tag per frame, or a 0/1 matrix ``(n, classes)`` for
            multi-label.
        config: settings (defaults: :class:`TagModelConfig`).
        progress: show fastai's progress bar.

    Example:
        >>> model = train_tag_model(frames, np.array([0, 1, 1]), TagModelConfig(classes=["a", "b"]))
        >>> model.probabilities(clip_frames).argmax(1)
    """
    from fastai.callback.schedule import fine_tune, fit_one_cycle  # noqa: F401 (adds methods)
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner
    from fastai.losses import BCEWithLogitsLossFlat, CrossEntropyLossFlat

    config = config or TagModelConfig()
    images = list(images)
    k = len(config.classes)
    tags = np.asarray(tags)
    if not images:
        raise ModelError("no tagged frames: tag a few frames before training")
    if config.multi_label:
        if tags.shape != (len(images), k):
            raise ModelError(f"multi-label tags need shape ({len(images)}, {k}), "
                             f"but got {tags.shape}")
        targets = tags.astype(np.float32)
    else:
        if tags.shape != (len(images),) or tags.min() < 0 or tags.max() >= k:
            raise ModelError(f"tags need one class id in 0..{k - 1} per image, but got "
                             f"shape {tags.shape} with values {sorted(set(tags.tolist()))[:8]}")
        targets = np.eye(k, dtype=np.float32)[tags.astype(int)]
    started = time.perf_counter()
    source = resolve_pretrained(config.backbone, config.pretrained, config.weights)
    torch.manual_seed(config.seed)
    net = build_classifier(config.backbone, source, k)
    mean, std = input_normalisation(net)
    size = input_size((images[0].shape[1], images[0].shape[0]), config.input_side)
    small = [resize_for_model(im, size) for im in images]
    mean255, std255 = np.asarray(mean, np.float32) * 255, np.asarray(std, np.float32) * 255
    pretrained = source.pretrained
    steps, lr = (config.steps, config.lr) if pretrained else (config.scratch_steps,
                                                               config.scratch_lr)
    steps_per_epoch = 10
    train = TagViews(small, targets, length=steps_per_epoch * config.batch_size,
                     mean=mean255, std=std255, seed=config.seed)
    valid = TagViews(small, targets, length=min(len(small), 64), mean=mean255, std=std255,
                     augment=False)
    dls = DataLoaders(
        torch.utils.data.DataLoader(train, batch_size=config.batch_size, drop_last=True),
        torch.utils.data.DataLoader(valid, batch_size=config.batch_size),
    )
    if config.multi_label:
        loss = BCEWithLogitsLossFlat()
    else:
        # CrossEntropyLossFlat wants class ids: the one-hot targets are turned back into them.
        ce = CrossEntropyLossFlat()

        def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return ce(logits, target.argmax(dim=1))
    learn = Learner(dls, net, loss_func=loss, splitter=_splitter, wd=1e-4)
    epochs = max(1, math.ceil(steps / steps_per_epoch))
    freeze_epochs = max(1, math.ceil(config.freeze_steps / steps_per_epoch)) if pretrained else 0
    with learn.no_logging(), (nullcontext() if progress else learn.no_bar()):
        if pretrained:
            learn.fine_tune(epochs, lr, freeze_epochs=freeze_epochs)
        else:
            learn.fit_one_cycle(epochs, lr)
    net.eval()
    losses = [float(v) for v in learn.recorder.losses[-steps_per_epoch:]]
    return TagModel(net, config, size=size, mean=mean, std=std, info={
        "pretrained": source.describe(),
        "n_frames": len(images),
        "steps": (epochs + freeze_epochs) * steps_per_epoch,
        "train_s": round(time.perf_counter() - started, 2),
        "final_train_loss": round(float(np.mean(losses)), 4) if losses else None,
    })


__all__ = ["TagModel", "TagModelConfig", "TagViews", "input_size", "train_tag_model"]
