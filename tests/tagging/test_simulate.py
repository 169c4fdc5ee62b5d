"""Simulated tagging: its accounting on a toy case, its JSON, and the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from fakes import nearest_colour_trainer

from microlab.cli import main
from microlab.datasets import demo_tag_clip
from microlab.tagging import TagProject, TagSettings
from microlab.tagging.simulate import TagSimulationSettings, format_tag_table, simulate_tags


@pytest.fixture(scope="module")
def tag_clip(tmp_path_factory: pytest.TempPathFactory):
    return demo_tag_clip(tmp_path_factory.mktemp("tags") / "demo", n_frames=150,
                         size=(96, 64), places=3, seed=2)


def test_the_accounting_matches_the_store(tag_clip, tmp_path: Path) -> None:
    path = tmp_path / "sim.mlab"
    result = simulate_tags(tag_clip, trainer=nearest_colour_trainer, project_path=path,
                           simulation=TagSimulationSettings(initial_tags=2), progress=False,
                           log=lambda *_: None)
    assert result["mode"] == "classify"
    assert result["n_frames"] == 150
    assert result["classes"] == list(tag_clip.classes)
    with TagProject.open(path) as project:
        log = project.tag_log()
        first = result["iterations"][0]
        # Iteration 1's figures are what was spent before its model: the 2 initial tags (and
        # any more a person needed to see two classes).
        before = [r for r in log if r.iteration == 0]
        assert first["actions"] == sum(r.cost for r in before) >= 2
        assert first["frames_viewed"] == len(before)
        # Every later answer is an accept (0) or a tag (1); the totals add up.
        assert project.action_totals()["actions"] == sum(r.cost for r in log)
        correct = (project.labels().tags == tag_clip.tags).mean()
    assert result["final"]["correct_frac"] == pytest.approx(
        result["iterations"][-1]["correct_frac"])
    assert correct >= result["iterations"][-1]["correct_frac"]  # answers after it only help
    final = result["final"]
    assert final["actions_to_95"] <= final["actions_to_100"]
    assert final["frames_viewed_to_95"] <= 150
    cp = result["baselines"]["change_points"]
    assert cp["actions_to_100"] == result["n_runs"]
    assert "change_points" in format_tag_table(result)


def test_review_batches_are_the_size_asked_for(tag_clip) -> None:
    result = simulate_tags(tag_clip, trainer=nearest_colour_trainer, baselines=False,
                           settings=TagSettings(review_batch=3),
                           simulation=TagSimulationSettings(initial_tags=1, max_iterations=3,
                                                            stop_when_all_accepted=False),
                           progress=False, log=lambda *_: None)
    its = result["iterations"]
    assert result["settings"]["review_batch"] == 3
    for a, b in itertools.pairwise(its):
        assert b["frames_viewed"] - a["frames_viewed"] == 3
        assert 0 <= b["actions"] - a["actions"] <= 3


def test_cli_simulates_a_tag_clip_and_writes_json(tag_clip, tmp_path: Path, monkeypatch,
                                                  capsys) -> None:
    import microlab.tagging.project as project_module

    monkeypatch.setattr(project_module, "_default_trainer", nearest_colour_trainer)
    out = tmp_path / "r.json"
    assert main(["simulate", str(tag_clip.frames.path.parent), "--task", "classify", "--quiet",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "change_points" in printed
    assert "keyframes" in printed
    result = json.loads(out.read_text())
    assert result["mode"] == "classify"
    assert set(result["final"]) >= {"actions_to_95", "actions_to_100", "frames_viewed_to_95",
                                    "correct_frac"}
    assert np.isclose(result["final"]["correct_frac"], result["iterations"][-1]["correct_frac"])


def test_cli_names_a_bad_labels_file(tag_clip, tmp_path: Path, capsys) -> None:
    import shutil

    folder = Path(shutil.copytree(tag_clip.frames.path.parent, tmp_path / "bad"))
    lines = (folder / "labels.txt").read_text().splitlines()
    lines[9] = "volcano"
    (folder / "labels.txt").write_text("\n".join(lines) + "\n")
    assert main(["simulate", str(folder), "--task", "classify", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "line 10" in err
    assert "volcano" in err
    assert "classes.txt" in err
