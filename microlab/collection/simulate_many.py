"""Simulate many clips at once: one task per clip folder, on any executor.

Each task runs the simulation of one folder from start to end, as ``microlab simulate`` does
for one: its temporary project store is made, written and removed by the task that owns it,
so a retried task starts from nothing and cannot write twice.  The kind of clip is found from
its files (``gt.txt``: every object, MOT layout; ``groundtruth.txt``: one object;
``labels.txt`` with ``task="classify"``: frame tags).

>>> results = simulate_many(["data/a", "data/b"], executor="ray", json_dir="out/")
>>> [r.name for r in results if not r.ok]      # the clips that failed, by folder name
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from microlab.collection.executors import LocalExecutor, RayExecutor, TaskResult, get_executor
from microlab.errors import SettingsError

TASKS = ("detect", "classify")


@dataclass(frozen=True)
class SimulationOptions:
    """How to simulate each clip (the options of ``microlab simulate``).

    Attributes:
        task: ``"detect"`` (boxes; several objects when the folder has ``gt.txt``) or
            ``"classify"`` (frame tags from ``labels.txt``).
        presence: with ``classify``, tag object presence from the box truth.
        initial: frames labelled before the first model (default: 5; 2 fully boxed frames
            with several objects per clip).
        initial_boxes: with several objects per clip, box at most this many objects of each
            first frame (the largest; the frame is marked partly boxed); default: every object.
        batch: frames per review batch (default: the loop's).
        segment_length: longest segment in frames.
        max_iterations: rounds of train, predict and review.
        budget: stop after this many actions (single-object boxes only).
        strategy: the training strategy of the box loop.
        baselines: also replay the baselines.
        weights: local pretrained backbone weights (a file or folder), for workers too.
        model: model settings to override (fields of
            :class:`~microlab.model.MicroModelConfig` for boxes, of
            :class:`~microlab.model.classifier.TagModelConfig` for tags), e.g.
            ``{"steps": 30}`` for a quick feasibility run.
        keep_projects: a folder where each simulation leaves its project,
            ``<clip folder name>.mlab`` (moved there when the simulation is done, so a task
            retried after its worker died never finds half a project; an existing file is
            refused).  Default: a temporary project, removed.
    """

    task: str = "detect"
    presence: bool = False
    initial: int | None = None
    initial_boxes: int | None = None
    batch: int | None = None
    segment_length: int = 150
    max_iterations: int = 8
    budget: int | None = None
    strategy: str = "clip"
    baselines: bool = True
    weights: str | None = None
    model: dict[str, Any] | None = None
    keep_projects: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise SettingsError(f"task must be one of {', '.join(TASKS)}, but got {self.task!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def simulate_folder(folder: str | os.PathLike[str], options: SimulationOptions | None = None,
                    *, progress: bool = False) -> dict[str, Any]:
    """Simulate one clip folder; returns the JSON-ready result of the matching simulation
    (:func:`~microlab.simulate.simulate`, :func:`~microlab.multi.simulate.simulate_multi` or
    :func:`~microlab.tagging.simulate.simulate_tags`)."""
    options = options or SimulationOptions()
    folder = Path(folder)
    if options.weights:
        from microlab.model.weights import WEIGHTS_ENV

        os.environ[WEIGHTS_ENV] = str(Path(options.weights).expanduser())
    if options.keep_projects is None:
        return _simulate(folder, options, progress=progress, project_path=None)
    import shutil
    import tempfile

    target = Path(options.keep_projects) / f"{folder.name}.mlab"
    if target.exists():
        raise SettingsError(f"{target} exists already; remove it or keep the projects in "
                            "another folder")
    with tempfile.TemporaryDirectory(prefix="microlab-sim-") as tmp:
        path = Path(tmp) / target.name
        result = _simulate(folder, options, progress=progress, project_path=path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
    return result


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _simulate(folder: Path, options: SimulationOptions, *, progress: bool,
              project_path: Path | None) -> dict[str, Any]:
    quiet = {"progress": progress, "log": (print if progress else _silent),
             "project_path": project_path}
    if options.task == "classify":
        from microlab.tagging import TagSettings, load_tag_clip
        from microlab.tagging.simulate import TagSimulationSettings, simulate_tags

        clip = load_tag_clip(folder, presence=options.presence)
        return simulate_tags(
            clip, settings=TagSettings(model=dict(options.model or {}),
                                       review_batch=options.batch,
                                       max_segment=options.segment_length),
            simulation=TagSimulationSettings(initial_tags=_or(options.initial, 5),
                                             max_iterations=options.max_iterations),
            baselines=options.baselines, **quiet)
    if (folder / "gt.txt").is_file():  # the MOT layout: every object of the clip
        from microlab.multi.loop import MultiSettings
        from microlab.multi.simulate import MultiSimulationSettings, simulate_multi

        return simulate_multi(
            folder, settings=MultiSettings(model=dict(options.model or {}),
                                           review_batch=options.batch,
                                           max_segment=options.segment_length),
            simulation=MultiSimulationSettings(max_iterations=options.max_iterations,
                                               initial_frames=_or(options.initial, 2),
                                               initial_boxes=options.initial_boxes),
            baselines=options.baselines, **quiet)
    from microlab.loop import LoopSettings
    from microlab.model import MicroModelConfig
    from microlab.simulate import SimulationSettings, simulate

    return simulate(
        folder, loop=LoopSettings(strategy=options.strategy, review_batch=options.batch,
                                  segment_length=options.segment_length,
                                  model=MicroModelConfig(**(options.model or {}))),
        settings=SimulationSettings(initial_labels=_or(options.initial, 5),
                                    max_iterations=options.max_iterations,
                                    max_actions=options.budget),
        baselines=options.baselines, **quiet)


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


def _simulate_task(folder: str, options: SimulationOptions) -> dict[str, Any]:
    import resource

    result = simulate_folder(folder, options, progress=False)
    # The worker's peak so far: an upper bound when the worker ran other clips before.
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def simulate_many(
    folders: Sequence[str | os.PathLike[str]],
    options: SimulationOptions | None = None,
    *,
    executor: str | LocalExecutor | RayExecutor | None = "local",
    address: str | None = None,
    workers: int | None = None,
    json_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> list[TaskResult]:
    """Simulate every folder, one task each, on ``executor``; one result per folder, in order.

    Each successful result's value is the simulation dict with ``"executor"`` (``"local"`` or
    ``"ray"``) and ``"task_s"`` (seconds inside the task) added.  With ``json_dir``, each is
    written to ``<folder name>.json`` there as soon as all are done; a failed clip writes
    nothing and keeps its error in its result.

    Raises:
        SettingsError: two folders share a name (their JSON files would collide), a folder
            does not exist, or the executor cannot start.
    """
    folders = [Path(f) for f in folders]
    if not folders:
        raise SettingsError("no clip folders given: pass one or more folders with img/")
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise SettingsError(f"not a folder: {', '.join(missing)}; pass clip folders (img/ plus "
                            "groundtruth.txt, gt.txt or labels.txt)")
    names = [f.name for f in folders]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SettingsError(f"several folders are named {', '.join(twice)}: their results would "
                            "share one JSON file; rename or simulate them separately")
    run = get_executor(executor, address=address, workers=workers)
    options = options or SimulationOptions()
    results = run.map(_simulate_task, [str(f) for f in folders], names=names,
                      shared={"options": options}, progress=progress,
                      description="simulate clips")
    out = []
    for r in results:
        if r.ok:
            value = {**r.value, "executor": run.name, "task_s": round(r.seconds, 2),
                     "wall_s": round(r.seconds, 1)}
            r = TaskResult(r.name, value, None, r.seconds, r.worker)
        out.append(r)
    if json_dir is not None:
        folder = Path(json_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for r in out:
            if r.ok:
                (folder / f"{r.name}.json").write_text(json.dumps(r.value, indent=2,
                                                                  default=float) + "\n")
    return out


__all__ = ["SimulationOptions", "simulate_folder", "simulate_many"]
