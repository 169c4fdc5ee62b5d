"""The multi-object benchmark section: targets summed over clips, speed scaled per 1,000 frames,
the crowd check, and the other sections of the file kept."""

from __future__ import annotations

import json

import pytest

from microlab import benchmark_multi
from microlab.benchmark import write_markdown
from microlab.benchmark_multi import find_multi_clips, run_multi_benchmark, write_multi_section
from microlab.errors import SettingsError


def _three(a95: int, a100: int, viewed: int) -> dict:
    return {"actions_to_95": a95, "actions_to_100": a100, "frames_viewed_to_95": viewed}


def _multi(name: str, n: int, ours: tuple[int, int, int], interpolation: tuple[int, int],
           csrt: tuple[int, int], iterations: list[tuple[float, float]], *,
           baselines: bool = True) -> dict:
    its = [{"iteration": i + 1, "actions": 10 + i, "frames_viewed": 2 + 5 * i,
            "correct_frac": 0.9, "correct_frac_iou07": 0.6, "idf1": 0.95, "tracks": 4,
            "train_s": train, "predict_s": predict, "review_hit_rate": 0.4 if i else None}
           for i, (train, predict) in enumerate(iterations)]
    result = {"mode": "multi", "sequence": name, "n_frames": n, "n_objects": 4,
              "n_boxes": 4 * n, "iterations": its, "peak_rss_mb": 1500.0,
              "final": {**_three(*ours), "correct_frac": 0.97, "idf1": 0.96,
                        "idf1_motmetrics": 0.96}}
    if baselines:
        result["baselines"] = {"iou05": {"interpolation": _three(*interpolation, n),
                                         "csrt": _three(*csrt, n)}}
    return result


def test_targets_are_summed_over_clips_against_each_clips_best_baseline(tmp_path):
    results = [
        _multi("a", 100, (10, 20, 10), (40, 50), (30, 35), [(30, 10), (20, 10)]),  # best: csrt
        _multi("b", 300, (20, 40, 30), (12, 20), (50, 60), [(40, 30)]),  # best: interpolation
    ]
    out = tmp_path / "B.md"
    write_multi_section(results, None, out, "test machine")
    text = out.read_text()
    # 30 actions against 30 + 12 = 42 is 0.71x: missed; 40 of 400 frames viewed is 10%.
    assert ("- summed over 2 clips: missed: 30 actions to 95% against 42 for the best baseline "
            "of each clip (0.71x; target <= 0.50x), 10% of the frames viewed") in text
    assert "- a: 10 actions against 30 (csrt), 10% of the frames viewed" in text
    assert "- b: 20 actions against 12 (interpolation), 10% of the frames viewed" in text
    assert "| a | 100 | 4 | 400 | microlab | 10 | 10 | 20 | 97.0% (60.0%) | 0.960 (0.960) |" in text
    assert "| | | | | CSRT tracker | 30 | 100 | 35 | | |" in text
    # Speed, predict scaled to 1,000 frames: "a" 30 + 10 * 10 = 130 s and 20 + 10 * 10 = 120 s,
    # the worst 130; "b" has no later iteration.
    assert "| a | 100 | 4.0 | 40 | 30 | 130 | 1500 |" in text
    assert "| b | 300 | 4.0 | 70 | — | 140 | 1500 |" in text
    assert "peak memory" not in text  # no crowd, no crowd targets
    assert "review 40.0%" in text
    assert "review —" in text

    half = [_multi("c", 100, (5, 9, 10), (40, 50), (30, 35), [(30, 10)])]
    write_multi_section(half, None, out, "test machine")
    assert "- summed over 1 clips: met: 5 actions to 95% against 30" in out.read_text()


def test_the_crowd_row_judges_iteration_time_and_memory(tmp_path):
    clip = _multi("a", 100, (10, 20, 10), (40, 50), (30, 35), [(30, 10)])
    crowd = _multi("crowd_25", 1000, (0, 0, 0), (0, 0), (0, 0), [(60, 50), (50, 80)],
                   baselines=False)
    crowd["peak_rss_mb"] = 3500.0
    out = tmp_path / "B.md"
    write_multi_section([clip], crowd, out, "test machine")
    text = out.read_text()
    assert "| crowd_25 | 1000 | 4.0 | 110 | 130 | 130 | 3500 |" in text
    assert "- iteration <= 120 s per 1,000 frames with 25 objects: missed: at most 130 s" in text
    assert "- peak memory <= 3 GB: missed: 3500 MB" in text
    assert "crowd_25" not in text.split("Targets")[1].split("### Speed")[0]  # not in the sums


def test_the_section_and_the_box_report_keep_each_other(tmp_path):
    from test_benchmark import _result

    out = tmp_path / "B.md"
    boxes = [_result("box_clip", 300, (5, 9, 5), (20, 30), (6, 8), [(30, 10), (20, 10)])]
    write_markdown(boxes, out, "test machine", set())
    box_report = out.read_text()
    write_multi_section([_multi("a", 100, (10, 20, 10), (40, 50), (30, 35), [(30, 10)])], None,
                        out, "test machine")
    text = out.read_text()
    assert text.startswith(box_report.rstrip("\n"))
    write_markdown(boxes, out, "test machine", set())  # the box report again: section kept
    assert out.read_text().count("## Several objects per clip") == 1
    assert "| a | 100 | 4 | 400 | microlab |" in out.read_text()


def test_run_finds_mot_clips_and_reuses_earlier_results(tmp_path, monkeypatch):
    root = tmp_path / "multi"
    for name in ("clip1", "not_a_clip"):
        (root / name / "img").mkdir(parents=True)
    (root / "clip1" / "gt.txt").write_text("1,1,5,5,10,10,1,1,1\n")
    assert [p.name for p in find_multi_clips(root)] == ["clip1"]
    with pytest.raises(SettingsError, match="MOT-layout"):
        find_multi_clips(tmp_path / "missing")
    results = tmp_path / "results"
    results.mkdir()
    (results / "clip1.multi.json").write_text(json.dumps(
        _multi("clip1", 10, (3, 4, 2), (5, 6), (7, 8), [(10, 1)])))

    def no_simulation(*args, **kwargs):
        raise AssertionError("reuse must not simulate again")

    monkeypatch.setattr(benchmark_multi, "run_one", no_simulation)
    monkeypatch.setattr(benchmark_multi, "machine_description", lambda: "test machine")
    out = tmp_path / "B.md"
    run_multi_benchmark(root, out=out, only=["clip1"], results_dir=str(results), reuse=True,
                        crowd=False)
    assert "| clip1 | 10 | 4 | 40 | microlab | 3 | 2 | 4 |" in out.read_text()
    with pytest.raises(SettingsError, match="results_dir"):
        run_multi_benchmark(root, out=out, reuse=True, crowd=False)
