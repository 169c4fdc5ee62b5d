"""The general model: its training set (human + confident machine labels), leave-one-out
figures, and exports that other tools read (torch state dict, ONNX with the same outputs)."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.collection.general import (
    GeneralSettings,
    evaluate_detector,
    export_model,
    format_leave_one_out,
    leave_one_out,
    train_general_model,
    training_frames,
)
from microlab.datasets import demo_clip
from microlab.errors import ModelError, SettingsError
from microlab.loop import latest_labelling
from microlab.model import MicroModel
from microlab.project import Project

from .test_collection import FAST, _box_two_frames

QUICK_MODEL = {"pretrained": "none", "steps": 20, "scratch_steps": 20, "steps_per_epoch": 10,
               "batch_size": 8, "crop_size": 96}


@pytest.fixture(scope="module")
def stepped(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("general")
    clips = [demo_clip(root / name, n_frames=30, size=(128, 96), seed=seed)
             for name, seed in (("one", 7), ("two", 8))]
    projects = []
    for clip in clips:
        project = Project.open(root / f"{clip.name}.mlab", video=clip.path)
        project.settings = FAST
        _box_two_frames(project, clip)
        project.step(progress=False)
        projects.append(project)
    yield projects, clips
    for project in projects:
        project.close()


def test_the_training_set_is_human_frames_plus_confident_machine_labels(stepped) -> None:
    projects, _ = stepped
    project = projects[0]
    human = project.human_labels()
    confidence = latest_labelling(project)["confidence"]
    confident = {int(f) for f in np.flatnonzero(confidence >= 0.5)} - set(human)
    frames = training_frames(project, GeneralSettings(min_confidence=0.5, machine_per_clip=100))
    assert len(frames) == len(human) + len(confident)
    assert len(training_frames(project, human_only=True)) == len(human)
    capped = training_frames(project, GeneralSettings(min_confidence=0.5, machine_per_clip=3))
    assert len(capped) == len(human) + min(3, len(confident))
    with pytest.raises(SettingsError):
        GeneralSettings(min_confidence=1.5)


def test_leave_one_out_reports_each_model_on_the_clip_left_out(stepped) -> None:
    projects, clips = stepped
    rows = leave_one_out(projects, clips, GeneralSettings(model=QUICK_MODEL))
    assert [r["clip"] for r in rows] == [c.name for c in clips]
    for r in rows:
        for key in ("general", "human_only", "micro_model"):
            assert 0.0 <= r[key]["correct_frac_iou70"] <= r[key]["correct_frac"] <= 1.0
        assert r["train_frames_general"] >= r["train_frames_human"] == 2
    table = format_leave_one_out(rows)
    assert table.count("\n") == 1 + len(rows)
    with pytest.raises(SettingsError):
        leave_one_out(projects[:1], clips[:1])


def test_exports_give_the_same_outputs_as_the_model(stepped, tmp_path) -> None:
    import torch

    projects, clips = stepped
    model = train_general_model(projects, GeneralSettings(model=QUICK_MODEL), progress=False)
    paths = export_model(model, tmp_path / "out", frame_size=(128, 96))
    assert sorted(p.suffix for p in paths.values()) == [".json", ".onnx", ".pth", ".safetensors"]
    again = MicroModel.from_bytes(paths["safetensors"].read_bytes())
    frame = clips[0].frames[3]
    np.testing.assert_allclose(again.detect([frame])[0].xyxy, model.detect([frame])[0].xyxy,
                               atol=1e-4)
    state = torch.load(paths["pth"], weights_only=True)["model"]
    assert state.keys() == model.net.state_dict().keys()
    ort = pytest.importorskip("onnxruntime")
    width, height = model.input_size((128, 96))
    x = np.random.default_rng(0).normal(size=(2, 3, height, width)).astype(np.float32)
    session = ort.InferenceSession(str(paths["onnx"]))
    got = session.run(None, {"image": x})
    with torch.no_grad():
        expected = model.net(torch.from_numpy(x))
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b.numpy(), atol=1e-4)


def test_evaluate_detector_and_bad_input(stepped) -> None:
    projects, clips = stepped
    model = MicroModel.from_bytes(projects[0].store.load_model()[2])
    scores = evaluate_detector(model, clips[0])
    assert scores["frames"] == 30
    assert 0.0 <= scores["correct_frac"] <= 1.0
    with pytest.raises(ModelError, match="no projects"):
        train_general_model([])
