"""The ``microlab`` command line: every command is wired, bad input exits 2 with a message, and
demo / simulate / scene / benchmark do their job (the first two train: marked slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from microlab import benchmark
from microlab.cli import build_parser, main
from microlab.datasets import demo_clip


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "microlab.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("demo", "simulate", "benchmark", "scene", "export", "import"):
        assert command in out


def test_help_does_not_load_torch() -> None:
    code = ("import sys; from microlab.cli import build_parser; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_demo_options_parse() -> None:
    args = build_parser().parse_args(["demo", "--seed", "2", "--random-init", "--frames", "40"])
    assert (args.seed, args.random_init, args.frames) == (2, True, 40)


def test_simulate_on_a_missing_folder_names_it(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere"
    assert main(["simulate", str(missing), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "microlab: error:" in err
    assert "nowhere" in err


def test_scene_writes_an_edited_scene(tmp_path: Path, capsys) -> None:
    main_clip = demo_clip(tmp_path / "a", n_frames=30, size=(96, 64), seed=1)
    other = demo_clip(tmp_path / "b", n_frames=30, size=(96, 64), seed=2)
    out = tmp_path / "scene"
    assert main(["scene", str(main_clip.path), str(other.path), "--out", str(out), "--shots",
                 "3"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (out / "groundtruth.txt").is_file()
    rows = (out / "groundtruth.txt").read_text().splitlines()
    assert len(rows) == len(list((out / "img").iterdir()))
    assert any("nan" in r for r in rows)  # the other clip's shots: the target is absent


def test_benchmark_reuse_writes_the_report(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "sequences"
    (root / "clip1").mkdir(parents=True)
    (root / "clip1" / "groundtruth.txt").write_text("1,1,5,5\n")
    results = tmp_path / "results"
    results.mkdir()
    calls = []
    monkeypatch.setattr(benchmark, "run_benchmark", lambda *a, **k: calls.append((a, k)) or [])
    out = tmp_path / "B.md"
    assert main(["benchmark", str(root), "--out", str(out), "--no-scenes", "--results",
                 str(results), "--reuse"]) == 0
    (args, kwargs), = calls
    assert args == (root,)
    assert kwargs["out"] == out
    assert (kwargs["scenes"], kwargs["reuse"], kwargs["results_dir"]) == (False, True, str(results))


@pytest.mark.slow
def test_demo_prints_its_result(capsys) -> None:
    assert main(["demo", "--frames", "60", "--labels", "3"]) == 0
    out = capsys.readouterr().out
    assert "labelled 3 frames from the known truth" in out
    assert "correct (IoU >= 0.5):" in out
    assert "time from 3 labels to a labelled clip" in out
    assert "weights:" in out
    assert "frames worth a look next:" in out


@pytest.mark.slow
def test_simulate_writes_json(tmp_path: Path, capsys) -> None:
    clip = demo_clip(tmp_path / "clip", n_frames=40, size=(128, 96), seed=4)
    target = tmp_path / "result.json"
    assert main(["simulate", str(clip.path), "--json", str(target), "--max-iterations", "1",
                 "--initial", "3", "--quiet"]) == 0
    result = json.loads(target.read_text())
    assert result["n_frames"] == 40
    assert set(result["baselines"]) == {"interpolation", "tracker"}
    for it in result["iterations"]:  # is "confident" right? (over the machine-labelled frames)
        assert 0 <= it["confident_frac"] <= 1
        assert it["confident_correct_frac"] is None or 0 <= it["confident_correct_frac"] <= 1
        assert 0 <= it["ece"] <= 1
        assert "review_hit_rate" in it
        expected = it["expected_confident_right"]  # the loop's own estimate, beside the truth
        assert expected is None or 0.8 <= expected <= 1
        assert it["answers"] >= 0
    assert "wrote" in capsys.readouterr().out


def test_simulate_many_clips_writes_one_json_each_and_names_a_failed_one(tmp_path: Path,
                                                                         capsys) -> None:
    good = demo_clip(tmp_path / "good", n_frames=24, size=(96, 64), seed=6)
    broken = tmp_path / "broken"
    (broken / "img").mkdir(parents=True)
    (broken / "groundtruth.txt").write_text("1,1,5,5\n")
    out = tmp_path / "results"
    status = main(["simulate", str(good.path), str(broken), "--json-dir", str(out),
                   "--executor", "local", "--workers", "1", "--max-iterations", "1",
                   "--initial", "2", "--steps", "10", "--no-baselines", "--quiet"])
    assert status == 1
    captured = capsys.readouterr()
    assert "clip broken failed:" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["good.json"]
    result = json.loads((out / "good.json").read_text())
    assert result["executor"] == "local"
    assert result["n_frames"] == 24
    assert main(["simulate", str(good.path), str(broken), "--json", str(tmp_path / "x.json"),
                 "--quiet"]) == 2
    assert "--json-dir" in capsys.readouterr().err


def test_simulate_passes_the_start_of_several_objects_on(tmp_path: Path, monkeypatch) -> None:
    """``--initial`` and ``--initial-boxes`` reach the multi-object simulation of a MOT folder;
    without them it starts from 2 fully boxed frames (and the box loop from 5 frames)."""
    import microlab.multi.simulate as multi_simulate

    seen = []

    def fake(folder, *, settings, simulation, baselines, **_):
        seen.append((simulation.initial_frames, simulation.initial_boxes))
        return {"mode": "multi", "sequence": "m", "final": {}}

    monkeypatch.setattr(multi_simulate, "simulate_multi", fake)
    monkeypatch.setattr("microlab.cli._result_table", lambda result: "")
    folder = tmp_path / "mot"
    (folder / "img").mkdir(parents=True)
    (folder / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n")
    assert main(["simulate", str(folder), "--quiet", "--json", str(tmp_path / "a.json")]) == 0
    assert main(["simulate", str(folder), "--quiet", "--initial", "1", "--initial-boxes", "3",
                 "--json", str(tmp_path / "b.json")]) == 0
    assert seen == [(2, None), (1, 3)]
