"""Fixtures of the label import/export tests: source projects to export.

Projects are built once per session and only read by the tests (each test imports into its
own new project under tmp_path).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.datasets import demo_clip
from microlab.project import Project, import_project
from microlab.sequences import Clip

from .helpers import DEMO_FRAMES, DEMO_SIZE, REAL_SEQUENCE


@pytest.fixture(scope="session")
def demo_sequence(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    return demo_clip(tmp_path_factory.mktemp("interop") / "demo", n_frames=DEMO_FRAMES,
                     size=DEMO_SIZE)


@pytest.fixture(scope="session")
def real_sequence_dir(shared_sequences: Path) -> Path:
    return shared_sequences / REAL_SEQUENCE


def _full_project(tmp: Path, folder: Path) -> Project:
    return import_project(tmp / "full.mlab", folder, "otb", folder / "groundtruth.txt")


@pytest.fixture(scope="session")
def real_project(real_sequence_dir: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The real sequence with its ground truth imported: every frame labelled, 5 absent."""
    project = _full_project(tmp_path_factory.mktemp("real"), real_sequence_dir)
    yield project
    project.close()


@pytest.fixture(scope="session")
def demo_project(demo_sequence: Clip,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The demo clip with its ground truth imported: every frame labelled, 14 absent."""
    assert demo_sequence.path is not None
    project = _full_project(tmp_path_factory.mktemp("demo"), demo_sequence.path)
    yield project
    project.close()


@pytest.fixture(scope="session")
def mixed_project(demo_sequence: Clip,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The demo clip labelled the way a session leaves it.

    Two classes; human boxes on every third frame (two boxes of two classes on frame 3), the
    object marked absent on frames 6, 9, 12, 24, 27, 30; one machine box accepted (frame 1);
    machine boxes with score 0.9 on frames 3k+1 (and a second 0.6 "distractor" on frame 4) and
    score 0.3 on frames 3k+2; no box at all on the other frames.
    """
    assert demo_sequence.path is not None
    gt = demo_sequence.ground_truth
    project = Project.open(tmp_path_factory.mktemp("mixed") / "mixed.mlab",
                           video=demo_sequence.path, classes=("object", "distractor"))
    predictions = {}
    for f in range(DEMO_FRAMES):
        present = not np.isnan(gt[f]).any()
        if f % 3 and present:
            boxes, scores, classes = [gt[f]], [0.9 if f % 3 == 1 else 0.3], [0]
            if f == 4:
                boxes, scores, classes = [gt[f], (2, 3, 30.5, 41.25)], [0.9, 0.6], [0, 1]
            predictions[f] = Detections(np.array(boxes), np.array(scores), np.array(classes))
    project.store.write_predictions(predictions, source="model", model_version=1)
    for f in range(0, DEMO_FRAMES, 3):
        if np.isnan(gt[f]).any():
            project.mark_absent(f)
        else:
            project.draw_box(f, gt[f].round(2))
    project.draw_box(3, (60.25, 10.5, 80, 50.75), label="distractor")
    project.accept(1)
    yield project
    project.close()
