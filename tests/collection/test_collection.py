"""Collection: one project per clip in a checked folder; a step on a worker's copy gives what
``project.step()`` gives here, and nothing but the owner writes the stores."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from microlab.collection import Collection
from microlab.collection.collection import INDEX, StepJob, apply_step, train_and_predict
from microlab.datasets import demo_clip
from microlab.errors import FramesError, StoreError
from microlab.loop import LoopSettings
from microlab.model import MicroModelConfig
from microlab.project import Project
from microlab.sequences import Clip

FAST = LoopSettings(model=MicroModelConfig(pretrained="none", steps=20, scratch_steps=20,
                                           steps_per_epoch=10, batch_size=8, crop_size=96))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    root = tmp_path_factory.mktemp("collection-clips")
    return [demo_clip(root / name, n_frames=30, size=(128, 96), seed=seed)
            for name, seed in (("north", 1), ("south", 2))]


def _box_two_frames(project: Project, clip: Clip) -> None:
    for f in (0, len(clip) // 2):
        row = clip.ground_truth[f]
        if np.isfinite(row).all():
            project.draw_box(f, tuple(row))
        else:
            project.mark_absent(f)


def test_a_new_collection_holds_an_index_and_one_project_per_clip(clips, tmp_path) -> None:
    folder = tmp_path / "study"
    with Collection.open(folder, [c.path for c in clips]) as study:
        assert study.names == ["north", "south"]
        assert len(study.project("north").frames) == 30
    index = json.loads((folder / INDEX).read_text())
    assert [c["project"] for c in index["clips"]] == ["north.mlab", "south.mlab"]
    # each clip stays a normal project
    with Project.open(folder / "south.mlab") as alone:
        assert alone.n_frames == 30
    # reopening keeps them; giving a clip again does not add it twice
    with Collection.open(folder, [clips[0].path]) as again:
        assert again.names == ["north", "south"]
    with pytest.raises(StoreError, match="no clip 'east'"):
        Collection.open(folder).project("east")


def test_foreign_files_are_refused_and_left_untouched(clips, tmp_path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.docx").write_text("precious")
    with pytest.raises(StoreError, match=r"thesis\.docx.*nothing was changed"):
        Collection.open(folder, [clips[0].path])
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.docx"]
    assert (folder / "thesis.docx").read_text() == "precious"


def test_bad_input_names_the_problem_and_writes_nothing(clips, tmp_path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    folder = tmp_path / "study"
    with pytest.raises(FramesError):
        Collection.open(folder, [clips[0].path, broken])
    assert not folder.exists() or not any(folder.iterdir())
    twin = tmp_path / "other" / "north"
    shutil.copytree(clips[0].path, twin)
    with pytest.raises(StoreError, match=r"two clips would be called 'north'.*names="):
        Collection.open(folder, [clips[0].path, twin])
    with pytest.raises(StoreError, match="no collection"):
        Collection.open(tmp_path / "nothing-here")
    folder.mkdir(exist_ok=True)
    (folder / INDEX).write_text("{not json")
    with pytest.raises(StoreError, match="not a readable collection index"):
        Collection.open(folder)


def test_a_step_on_a_workers_copy_equals_the_step_here(clips, tmp_path) -> None:
    clip = clips[0]
    with Project.open(tmp_path / "here.mlab", video=clip.path) as here:
        here.settings = FAST
        _box_two_frames(here, clip)
        here.step(progress=False)
        expected = here.labels()
        expected_store = here.store.models()
    with Project.open(tmp_path / "owner.mlab", video=clip.path) as owner:
        owner.settings = FAST
        _box_two_frames(owner, clip)
        actions = owner.action_totals()
        output = train_and_predict(StepJob(owner.store.snapshot(), str(clip.path), FAST))
        assert owner.iteration == 0
        assert owner.store.models() == []
        report = apply_step(owner, output)
        assert report.iteration == 1
        got = owner.labels()
        assert owner.action_totals() == actions  # no human action written or lost
        assert len(owner.store.models()) == len(expected_store)
    assert sorted(got) == sorted(expected)
    for f in expected:
        np.testing.assert_array_equal(got[f].detections().xyxy, expected[f].detections().xyxy)


def test_collection_step_skips_clips_without_boxes_and_reports_the_rest(clips, tmp_path) -> None:
    with Collection.open(tmp_path / "study", [c.path for c in clips]) as study:
        _box_two_frames(study.project("north"), clips[0])
        outcome = study.step("local", workers=1, settings=FAST, progress=False)
        assert list(outcome) == ["north", "south"]
        assert outcome["north"].iteration == 1
        assert outcome["south"].startswith("skipped: no human box")
        rows = {r["clip"]: r for r in study.overview()}
        assert rows["north"]["iteration"] == 1
        assert rows["north"]["coverage"] is not None
        assert rows["south"]["iteration"] == 0
        assert rows["south"]["coverage"] is None
        assert rows["north"]["actions"] == study.project("north").action_totals()["actions"]
        assert "north" in str(study.overview())
        assert "<table>" in study.overview()._repr_html_()
