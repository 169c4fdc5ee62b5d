"""A collection of clips: one project per clip in one folder, stepped together.

>>> study = Collection.open("study/", videos=["day1.mp4", "day2.mp4", "frames/day3/"])
>>> study.project("day1").draw_box(12, (40, 30, 90, 120))   # each clip is a normal Project
>>> study.step(executor="ray")       # train + predict every clip with human boxes, as Ray tasks
>>> study.overview()                 # frames, actions, coverage, iteration, verdict per clip
>>> CollectionDashboard(study)        # the same, with a Dashboard row per clip (microlab.widgets)

The folder holds ``collection.json`` (the index: each clip's name, video and project file) and
one ``<name>.mlab`` per clip, so every clip stays a project that ``Project.open`` reads alone.

**Who writes what.**  :meth:`Collection.step` sends each clip's heavy work (training the
micro-models, running them over every frame) to an executor as a task.  A task gets a
consistent copy of the project (:meth:`~microlab.store.Store.snapshot`; the stored models, so
warm starts work) and the clip's video path; it trains and predicts on its own copy and returns
the new models and the raw candidates.  This process, the only one with the real store open,
then stores them and labels the clip.  Human actions are never written by a worker, and a task
that Ray retries after its worker died recomputes on a fresh copy: nothing is stored twice.
The result is the one ``project.step()`` gives in this process, with the same seeds and thread
count.

The video path must be readable where the task runs: on one machine always; on a cluster, a
path on storage every node mounts (or the same copy at the same path on each node).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microlab.collection.executors import LocalExecutor, RayExecutor, TaskResult, get_executor
from microlab.errors import SettingsError, StoreError
from microlab.frames import open_frames
from microlab.project import Project

if TYPE_CHECKING:  # the loop loads torch: opening a collection does not need it
    from microlab.loop import IterationReport, LoopSettings
    from microlab.model.infer import Candidates

INDEX = "collection.json"
FORMAT = "microlab-collection"
VERSION = 1
# What a collection folder may hold besides the index: its projects (and SQLite's side files).
_OWN_SUFFIXES = (".mlab", ".mlab-wal", ".mlab-shm", ".mlab-journal")


@dataclass(frozen=True)
class ClipEntry:
    """One clip of a collection: its name, its video and its project file (in the folder)."""

    name: str
    video: str
    project: str


@dataclass
class StepOutput:
    """What a worker made for one clip: the new models (config, weights, segment, seconds,
    labelled frames, the version the copy gave it), which model is responsible for each
    segment, and the raw candidates of every frame."""

    models: list[dict[str, Any]]
    versions: list[int]
    responsible: dict[int, int]
    train_s: float
    candidates: Candidates
    inference_s: float
    worker_s: float = 0.0


@dataclass(frozen=True)
class StepJob:
    """One clip's heavy work: the project copy, where its video is, and the loop settings."""

    snapshot: bytes
    video: str
    settings: LoopSettings | None = None


def train_and_predict(job: StepJob) -> StepOutput:
    """The heavy half of one loop iteration, on a copy of a project: train its micro-models on
    the human labels and run them over every frame.  Writes nothing but the copy (removed on
    return)."""
    import time

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="microlab-step-") as tmp:
        path = Path(tmp) / "copy.mlab"
        path.write_bytes(job.snapshot)
        with Project.open(path, video=job.video) as project:
            if job.settings is not None:
                project.settings = job.settings
            before = {m["version"] for m in project.store.models()}
            training = project.loop.train(project, progress=False)
            candidates, inference_s = project.loop.predict_candidates(
                project, training.responsible, progress=False)
            models = []
            for m in project.store.models():
                if m["version"] in before:
                    continue
                _, config, weights = project.store.load_model(m["version"])
                segment = (None if m["segment_start"] is None
                           else (int(m["segment_start"]), int(m["segment_end"])))
                models.append({"version": m["version"], "config": config, "weights": weights,
                               "segment": segment, "train_s": m["train_s"],
                               "n_labels": m["n_labels"]})
    return StepOutput(models, list(training.versions), dict(training.responsible),
                      training.seconds, candidates, inference_s,
                      time.perf_counter() - started)


def apply_step(project: Project, output: StepOutput) -> IterationReport:
    """Store a worker's models in ``project`` and label the clip from its candidates: the rest
    of the iteration ``project.step()`` would have run, in the process that owns the store."""
    from microlab.loop import Training

    mapping: dict[int, int] = {}
    with project.store.transaction():
        for m in output.models:
            mapping[m["version"]] = project.store.save_model(
                config=m["config"], weights=m["weights"], segment=m["segment"],
                train_s=m["train_s"], n_labels=m["n_labels"])
    loop = project.loop
    loop.state(project).last_training = Training(
        [mapping[v] for v in output.versions], output.train_s,
        {int(i): mapping[v] for i, v in output.responsible.items()})
    return loop.predict(project, progress=False,
                        candidates=(output.candidates, output.inference_s))


@dataclass
class Overview:
    """One row per clip (plain dicts), shown as a table in Jupyter and as text elsewhere."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    COLUMNS = ("clip", "frames", "human frames", "actions", "frames viewed", "iteration",
               "coverage", "verdict")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def _cells(self, row: dict[str, Any]) -> list[str]:
        cov = row["coverage"]
        return [str(row["clip"]), str(row["frames"]), str(row["human frames"]),
                str(row["actions"]), str(row["frames viewed"]), str(row["iteration"]),
                "-" if cov is None else f"{cov:.0%}", str(row["verdict"])]

    def __str__(self) -> str:
        table = [list(self.COLUMNS), *(self._cells(r) for r in self.rows)]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.COLUMNS))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in self._cells(r))
                       + "</tr>" for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Collection:
    """Many clips, one :class:`~microlab.project.Project` each, in one folder.  Open with
    :meth:`Collection.open`."""

    def __init__(self, folder: Path, clips: list[ClipEntry]) -> None:
        self.folder = folder
        self.clips = clips
        self._projects: dict[str, Project] = {}
        self.last_errors: dict[str, str] = {}

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, folder: str | os.PathLike[str], videos: Sequence[str | os.PathLike[str]] = (),
             *, names: Sequence[str] | None = None,
             classes: Sequence[str] = ("object",)) -> Collection:
        """Open the collection in ``folder``, creating it (or adding clips) from ``videos``.

        Args:
            folder: the collection's folder: new, empty, or made by this method.
            videos: clips to add (video files or frame folders); ones already in it are kept.
            names: a name per video (default: the file's stem or the folder's name).
            classes: object classes of the new projects.

        Raises:
            StoreError: the folder holds files that are not a collection's (they are left
                untouched), its index is broken, or two clips would share a name.
            FramesError: a video cannot be read (nothing is written then).
        """
        folder = Path(folder).expanduser()
        videos = [Path(v).expanduser() for v in videos]
        if names is not None and len(names) != len(videos):
            raise SettingsError(f"got {len(videos)} videos but {len(names)} names; give one name "
                                "per video, or none")
        index = folder / INDEX
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder} is a file; a collection is a folder (pick a new path)")
        if folder.is_dir():
            cls._refuse_foreign(folder)
        clips = cls._read_index(index) if index.is_file() else []
        if not clips and not videos:
            raise StoreError(f"no collection at {folder}; pass videos=[...] to make one there")
        known = {Path(c.video).resolve() for c in clips}
        taken = {c.name for c in clips}
        new: list[tuple[str, Path]] = []
        for i, video in enumerate(videos):
            if video.resolve() in known:
                continue
            name = str(names[i]) if names is not None else _default_name(video)
            if not name or any(ch in name for ch in '/\\:*?"<>|') or name.startswith("."):
                raise StoreError(f"clip name {name!r} cannot name a file; pass names=[...]")
            if name in taken:
                raise StoreError(f"two clips would be called {name!r} ({video}); pass "
                                 "names=[...] to tell them apart")
            taken.add(name)
            known.add(video.resolve())
            new.append((name, video))
        for _, video in new:  # every video readable before anything is written
            open_frames(video)
        folder.mkdir(parents=True, exist_ok=True)
        for name, video in new:
            with Project.open(folder / f"{name}.mlab", video=video, classes=classes):
                pass
            clips.append(ClipEntry(name, str(video.resolve()), f"{name}.mlab"))
        if new or not index.is_file():
            cls._write_index(index, clips)
        return cls(folder, clips)

    @staticmethod
    def _refuse_foreign(folder: Path) -> None:
        foreign = sorted(p.name for p in folder.iterdir()
                         if not (p.name == INDEX or (p.is_file() and p.name.endswith(_OWN_SUFFIXES))
                                 or p.name == INDEX + ".tmp"))
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                              else "")
            raise StoreError(f"{folder} holds files that are not part of a microlab collection "
                             f"({shown}); nothing was changed. Pick an empty or new folder for "
                             "the collection")

    @staticmethod
    def _read_index(index: Path) -> list[ClipEntry]:
        try:
            data = json.loads(index.read_text())
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {FORMAT!r}")
            if int(data.get("version", 0)) > VERSION:
                raise StoreError(f"{index} was written by a newer microlab (collection version "
                                 f"{data['version']}); upgrade microlab")
            return [ClipEntry(str(c["name"]), str(c["video"]), str(c["project"]))
                    for c in data["clips"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{index} is not a readable collection index ({exc}); restore it "
                             "from a backup, or open the .mlab files one by one with "
                             "Project.open") from None

    @staticmethod
    def _write_index(index: Path, clips: list[ClipEntry]) -> None:
        data = {"format": FORMAT, "version": VERSION,
                "clips": [{"name": c.name, "video": c.video, "project": c.project}
                          for c in clips]}
        tmp = index.with_name(INDEX + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(index)  # all or nothing

    # ------------------------------------------------------------------ clips
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.clips]

    def __len__(self) -> int:
        return len(self.clips)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __repr__(self) -> str:
        return f"Collection({str(self.folder)!r}, {len(self)} clips: {', '.join(self.names)})"

    def _entry(self, name: str) -> ClipEntry:
        for c in self.clips:
            if c.name == name:
                return c
        raise StoreError(f"no clip {name!r} in this collection; its clips are "
                         f"{', '.join(self.names)}")

    def project(self, name: str) -> Project:
        """The project of clip ``name`` (opened once, then kept open)."""
        entry = self._entry(name)
        if name not in self._projects:
            self._projects[name] = Project.open(self.folder / entry.project, video=entry.video)
        return self._projects[name]

    def close(self) -> None:
        for project in self._projects.values():
            project.close()
        self._projects.clear()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the loop, for all
    def step(self, executor: str | LocalExecutor | RayExecutor | None = "local", *,
             address: str | None = None, workers: int | None = None,
             clips: Sequence[str] | None = None, settings: LoopSettings | None = None,
             task: Callable[[StepJob], StepOutput] = train_and_predict,
             progress: bool = True) -> dict[str, IterationReport | str]:
        """One loop iteration for every clip (or ``clips``) with a human box: the training and
        prediction of all of them run as tasks on ``executor`` (``"local"``: a process pool;
        ``"ray"``: Ray tasks, on the cluster at ``address`` if given), then each project
        stores its results here.

        ``task`` is the worker's half (:func:`train_and_predict`; tests inject a failing one).

        Returns:
            Per clip, its :class:`~microlab.loop.IterationReport`, or why it was not stepped
            (no human box yet, or the task's error; the other clips are stepped regardless).
        """
        chosen = list(clips) if clips is not None else self.names
        outcome: dict[str, IterationReport | str] = {}
        jobs, job_names = [], []
        for name in chosen:
            project = self.project(name)
            if settings is not None:
                project.settings = settings
            if not any(len(d) for d in project.human_labels().values()):
                outcome[name] = ("skipped: no human box yet (box the object on a frame "
                                 "project.initial_frames() proposes)")
                continue
            jobs.append(StepJob(project.store.snapshot(), self._entry(name).video,
                                project.settings))
            job_names.append(name)
        self.last_errors = {}
        results: list[TaskResult] = []
        if jobs:
            results = get_executor(executor, address=address, workers=workers).map(
                task, jobs, names=job_names, progress=progress,
                description="train + predict clips")
        for r in results:
            if r.ok:
                outcome[r.name] = apply_step(self.project(r.name), r.value)
            else:
                outcome[r.name] = f"failed: {r.error}"
                self.last_errors[r.name] = r.error or ""
        return {name: outcome[name] for name in chosen}

    # ------------------------------------------------------------------ reports
    def overview(self) -> Overview:
        """Per clip: frames, human frames, actions, frames viewed, iteration, coverage (the
        latest prediction's share of covered frames) and the stopping rule's verdict."""
        from microlab.stopping import segment_verdicts

        rows = []
        for name in self.names:
            project = self.project(name)
            totals = project.action_totals()
            coverage = None
            if project.iteration > 0:
                coverage = float(project.store.iterations()[-1]["stats"].get("coverage", 0.0))
            verdicts = [v.verdict for v in segment_verdicts(project)]
            done = verdicts.count("done")
            verdict = ("done" if done == len(verdicts) else
                       f"{done}/{len(verdicts)} segments done")
            if name in self.last_errors:
                verdict = f"failed: {self.last_errors[name]}"
            rows.append({"clip": name, "frames": project.n_frames,
                         "human frames": len(project.human_frames()),
                         "actions": totals["actions"], "frames viewed": totals["frames_viewed"],
                         "iteration": project.iteration, "coverage": coverage,
                         "verdict": verdict})
        return Overview(rows)


def _default_name(video: Path) -> str:
    return video.name if video.is_dir() else video.stem


__all__ = ["ClipEntry", "Collection", "Overview", "StepJob", "StepOutput", "apply_step",
           "train_and_predict"]
