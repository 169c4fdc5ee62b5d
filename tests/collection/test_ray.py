"""On a local Ray instance (2 CPUs): the same simulations and steps as the local executor, clip
for clip, and a worker killed mid-task is retried by Ray without any store written twice."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from microlab.collection import (
    Collection,
    LocalExecutor,
    RayExecutor,
    SimulationOptions,
    simulate_many,
)
from microlab.collection.collection import StepJob, StepOutput, train_and_predict
from microlab.datasets import demo_clip
from microlab.sequences import Clip

from .test_collection import FAST, _box_two_frames

QUICK = SimulationOptions(max_iterations=2, baselines=False,
                          model={"pretrained": "none", "steps": 20, "scratch_steps": 20,
                                 "steps_per_epoch": 10, "batch_size": 8, "crop_size": 96})


@pytest.fixture(scope="module")
def ray_executor():
    ray.shutdown()
    executor = RayExecutor(workers=2)
    # Functions of this module travel by value: Ray workers cannot import the tests package.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield executor
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    root = tmp_path_factory.mktemp("ray-clips")
    return [demo_clip(root / name, n_frames=30, size=(128, 96), seed=seed)
            for name, seed in (("east", 4), ("west", 5))]


def _summary(result: dict) -> list:
    return [(it["actions"], it["frames_viewed"], it["correct_frac"]) for it in
            result["iterations"]] + [result["final"]]


def test_ray_and_local_simulations_agree_clip_for_clip(ray_executor, clips, tmp_path) -> None:
    folders = [c.path for c in clips]
    local = simulate_many(folders, QUICK, executor="local", workers=2,
                          json_dir=tmp_path / "local", progress=False)
    remote = simulate_many(folders, QUICK, executor=ray_executor, json_dir=tmp_path / "ray",
                           progress=False)
    assert [r.name for r in remote] == ["east", "west"]
    assert all(r.ok for r in remote)
    for a, b in zip(local, remote):
        assert a.value["executor"] == "local"
        assert b.value["executor"] == "ray"
        assert _summary(a.value) == _summary(b.value)
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == ["east.json", "west.json"]


def test_a_failing_clip_is_reported_by_name_while_the_others_finish(ray_executor, clips,
                                                                    tmp_path) -> None:
    broken = tmp_path / "broken"
    (broken / "img").mkdir(parents=True)
    (broken / "groundtruth.txt").write_text("1,2,3\n")
    results = simulate_many([clips[0].path, broken], QUICK, executor=ray_executor,
                            json_dir=tmp_path / "out", progress=False)
    assert results[0].ok
    assert not results[1].ok
    assert results[1].name == "broken"
    assert results[1].error
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["east.json"]


class DieOnce:
    """The worker's half of a step, except that the first attempt per clip kills its own worker
    process (as an out-of-memory kill or a lost node would)."""

    def __init__(self, marks: Path) -> None:
        self.marks = marks

    def __call__(self, job: StepJob) -> StepOutput:
        mark = self.marks / Path(job.video).name
        if not mark.exists():
            mark.write_text("died once")
            os._exit(1)
        return train_and_predict(job)


def test_a_killed_worker_is_retried_and_nothing_is_stored_twice(ray_executor, clips,
                                                                tmp_path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    with Collection.open(tmp_path / "study", [c.path for c in clips]) as study:
        for clip in clips:
            _box_two_frames(study.project(clip.path.name), clip)
        before = {n: study.project(n).store.actions() for n in study}
        outcome = study.step(ray_executor, settings=FAST, task=DieOnce(marks), progress=False)
        assert sorted(p.name for p in marks.iterdir()) == ["east", "west"]  # each died once
        for name in study:
            project = study.project(name)
            assert outcome[name].iteration == 1
            assert project.store.actions() == before[name]  # none lost, none duplicated
            assert len(project.store.iterations()) == 2  # iteration 0 and the one step
            assert len(project.store.models()) == 1

        # The same step through the local executor (same seeds, one thread per task) gives
        # the same labels.
    with Collection.open(tmp_path / "again", [c.path for c in clips]) as again:
        for clip in clips:
            _box_two_frames(again.project(clip.path.name), clip)
        again.step("local", workers=2, settings=FAST, progress=False)
        with Collection.open(tmp_path / "study") as study:
            for name in again:
                a, b = again.project(name).labels(), study.project(name).labels()
                assert sorted(a) == sorted(b)
                for f in a:
                    np.testing.assert_array_equal(a[f].detections().xyxy,
                                                  b[f].detections().xyxy)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_cli_joins_a_cluster_started_by_ray_start(clips, tmp_path) -> None:
    """The documented cluster recipe, on loopback: `ray start --head`, then the same simulate
    command with --address; the results equal the local executor's."""
    import subprocess

    ray.shutdown()
    ray_cli = Path(sys.executable).with_name("ray")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    # A loopback cluster in a test: no auth token to hand around (README says what a real
    # cluster needs).
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0", "RAY_AUTH_MODE": "disabled"}
    subprocess.run([str(ray_cli), "start", "--head", f"--port={port}", "--num-cpus=2",
                    "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True, env=env,
                   timeout=180)
    try:
        out = tmp_path / "cluster"
        model = QUICK.model or {}
        cmd = [sys.executable, "-m", "microlab.cli", "simulate", str(clips[0].path),
               "--executor", "ray", "--address", address, "--json-dir", str(out),
               "--max-iterations", "2", "--no-baselines", "--quiet"]
        cmd += ["--steps", str(model["steps"])]  # the CLI's one model flag
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads((out / "east.json").read_text())
        assert result["executor"] == "ray"
    finally:
        subprocess.run([str(ray_cli), "stop", "--force"], check=False, capture_output=True,
                       env=env,
                       timeout=120)
    # One thread, as each Ray task had (CPU training is bit-identical only at one count).
    local = simulate_many([clips[0].path], SimulationOptions(
        max_iterations=2, baselines=False, model={"steps": model["steps"],
                                                  "scratch_steps": model["steps"]}),
        executor=LocalExecutor(1, threads_per_task=1), progress=False)
    assert _summary(local[0].value) == _summary(result)
