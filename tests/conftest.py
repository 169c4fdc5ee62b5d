"""Shared fixtures: the real sequences in ../shared, a small generated clip, a fresh project,
and writers for video files and image folders.

Tests that read ../shared/data/sequences are marked ``needs_shared_data`` (or use the
``shared_sequences`` fixture); they skip with a reason when the folder is absent.  CI has the
folder: set ``MICROLAB_REQUIRE_SHARED_DATA=1`` there to turn that skip into a failure.
``MICROLAB_SHARED_DATA`` points at another copy of the sequences folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from media import synthetic_frames, write_video

from microlab.datasets import demo_clip
from microlab.project import Project
from microlab.sequences import Clip

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_SEQUENCES = Path(
    os.environ.get("MICROLAB_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data" / "sequences"
)

# The small generated clip: big enough for boxes and several frames, small enough to be instant.
SMALL_CLIP_FRAMES = 12
SMALL_CLIP_SIZE = (96, 64)  # (width, height)


def _shared_data_missing() -> str | None:
    if SHARED_SEQUENCES.is_dir() and any(SHARED_SEQUENCES.glob("*/groundtruth.txt")):
        return None
    return (
        f"the shared sequences are not at {SHARED_SEQUENCES} (expected ../shared/data/sequences "
        "next to the repository, or set MICROLAB_SHARED_DATA)"
    )


def _skip_without_shared_data() -> None:
    reason = _shared_data_missing()
    if reason is None:
        return
    if os.environ.get("MICROLAB_REQUIRE_SHARED_DATA"):
        pytest.fail(f"MICROLAB_REQUIRE_SHARED_DATA is set but {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_shared_data") is not None:
        _skip_without_shared_data()


@pytest.fixture(scope="session")
def shared_sequences() -> Path:
    """The folder of real OTB-style sequences (skips the test when it is absent)."""
    _skip_without_shared_data()
    return SHARED_SEQUENCES


@pytest.fixture(scope="session")
def shared_multi() -> Path:
    """The folder of real MOT-layout multi-object clips, beside the sequences (skips the test
    when it is absent)."""
    _skip_without_shared_data()
    folder = SHARED_SEQUENCES.parent / "multi"
    if not (folder / "pets09_s3mf1" / "gt.txt").is_file():
        pytest.skip(f"the shared multi-object clips are not at {folder}")
    return folder


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    """A tiny generated OTB-style clip (12 frames of 96x64), written once per session.

    Read-only: tests that need to damage a clip copy it first (``clip_copy``).
    """
    folder = tmp_path_factory.mktemp("clips") / "demo"
    return demo_clip(folder, n_frames=SMALL_CLIP_FRAMES, size=SMALL_CLIP_SIZE, seed=3)


@pytest.fixture
def clip_copy(small_clip: Clip, tmp_path: Path) -> Path:
    """A private copy of the small clip's sequence folder, free to damage or move."""
    assert small_clip.path is not None
    return Path(shutil.copytree(small_clip.path, tmp_path / "clip"))


@pytest.fixture
def project(small_clip: Clip, tmp_path: Path) -> Iterator[Project]:
    """A new project on the small clip, closed after the test."""
    assert small_clip.path is not None
    proj = Project.open(tmp_path / "test.mlab", video=small_clip.path)
    yield proj
    proj.close()


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """``make_video(name, n=.., size=.., fourcc=..)`` writes a synthetic video under tmp_path."""

    def make(
        name: str, *, n: int = 30, size: tuple[int, int] = (64, 48), fourcc: str = "mp4v"
    ) -> Path:
        return write_video(tmp_path / name, synthetic_frames(n, size), fourcc=fourcc)

    return make


@pytest.fixture
def predicted(project: Project) -> Project:
    """The small project with one human frame and machine boxes on frames 2, 6 and 9."""
    from fakes import BOX, fake_prediction  # imports the loop (torch): only where it is used

    project.draw_box(0, BOX)
    fake_prediction(project, {2: BOX, 6: (20, 12, 50, 52), 9: (60, 5, 90, 40)}, confidence=0.4)
    return project
