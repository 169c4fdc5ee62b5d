"""Where a backbone's pretrained weights come from: a local file, the hub, or nowhere.

A user with internet gets timm's hub weights the normal way.  Without internet, point
``weights=`` (or the ``MICROLAB_WEIGHTS`` environment variable) at a file, or at a folder that
holds ``<backbone>*.safetensors``; the files in ``shared/weights`` work.  Otherwise the backbone
starts from random init (slower to converge) and a warning says so.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path

from microlab.errors import ModelError

WEIGHTS_ENV = "MICROLAB_WEIGHTS"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


@dataclass(frozen=True)
class PretrainedSource:
    """What :func:`resolve_pretrained` decided: ``kind`` is ``file``, ``hub`` or ``none``."""

    kind: str
    file: Path | None = None

    def describe(self) -> str:
        if self.kind == "file":
            return f"local file {self.file}"
        return {"hub": "timm hub weights", "none": "random init (no pretrained weights)"}[self.kind]


def find_weights_file(backbone: str, location: str | Path) -> Path:
    """A weights file for ``backbone``: ``location`` itself, or the best match inside a folder."""
    path = Path(location).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        candidates = sorted(
            p for p in path.iterdir()
            if p.suffix in WEIGHT_SUFFIXES and (p.name == backbone or p.name.startswith(backbone + "."))
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


def resolve_pretrained(backbone: str, pretrained: str = "auto", weights: str | Path | None = None) -> PretrainedSource:
    """Decide where the backbone's weights come from (see the module docstring)."""
    if pretrained == "none":
        return PretrainedSource("none")
    location = weights or os.environ.get(WEIGHTS_ENV)
    if pretrained == "file" or (pretrained == "auto" and location):
        if not location:
            raise ModelError(f"pretrained='file' needs weights=PATH or the {WEIGHTS_ENV} variable")
        try:
            return PretrainedSource("file", find_weights_file(backbone, location))
        except ModelError:
            if pretrained == "file" or weights:
                raise
            # A folder from MICROLAB_WEIGHTS without this backbone: fall through to the hub.
    if pretrained == "hub":
        return PretrainedSource("hub")
    if hub_reachable():
        return PretrainedSource("hub")
    warnings.warn(
        f"no pretrained weights for {backbone}: the hub is unreachable and no local file was given "
        f"(set {WEIGHTS_ENV}=PATH or pass weights=PATH). Training starts from random init.",
        stacklevel=3,
    )
    return PretrainedSource("none")
