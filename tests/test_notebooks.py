"""The notebooks in notebooks/ run headless from top to bottom.

With ``MICROLAB_HEADLESS=1`` their "stand-in" cells drive the widgets' methods with ground truth
where a person would click.  Each runs in a temporary copy of notebooks/ (the project files it
writes stay there); the executed copy is saved under tests/artifacts/ for a look.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "tests" / "artifacts"
SHARED = REPO.parent / "shared"
OURS = ("quickstart.ipynb", "real_clip.ipynb", "feasibility.ipynb", "classify.ipynb",
        "multi_object.ipynb")


def _sequence(name: str) -> str | None:
    path = Path(os.environ.get("MICROLAB_SHARED_DATA") or SHARED / "data" / "sequences") / name
    return str(path) if (path / "groundtruth.txt").is_file() else None


@pytest.mark.parametrize("name", OURS)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], (f"{name}: a cell has stored outputs; "
                                        "clear them before committing")
            assert cell.execution_count is None, f"{name}: stored execution counts"


def run_notebook(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, timeout: int,
                 env: dict[str, str] | None = None) -> tuple[nbformat.NotebookNode, float]:
    workdir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, workdir,
                    ignore=shutil.ignore_patterns("*.mlab*", ".ipynb_checkpoints"))
    monkeypatch.setenv("MICROLAB_HEADLESS", "1")
    if not os.environ.get("MICROLAB_WEIGHTS") and (SHARED / "weights").is_dir():
        monkeypatch.setenv("MICROLAB_WEIGHTS", str(SHARED / "weights"))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(workdir / name, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    started = time.perf_counter()
    try:
        client.execute()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, ARTIFACTS / f"executed_{name}")
    return nb, time.perf_counter() - started


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(json.dumps(out.get("data", {})))
    return "\n".join(parts)


@pytest.mark.notebook
@pytest.mark.slow
def test_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, seconds = run_notebook("quickstart.ipynb", tmp_path, monkeypatch, timeout=600)
    text = outputs_text(nb)
    assert "application/vnd.jupyter.widget-view+json" in text  # the widgets were displayed
    assert "Iteration 1:" in text  # the printed report: a short summary ...
    assert "coverage" in text
    assert "(estimated" in text  # ... that says its figures are estimates
    assert "Batch done" in text or "Accepted" in text or "Saved" in text
    # No wall-clock assertion: a loaded machine would make it flaky.  The time is printed for a
    # look.
    print(f"quickstart ran in {seconds:.0f} s")


@pytest.mark.notebook
@pytest.mark.slow
def test_real_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A short real sequence when the shared data is there; the notebook falls back to the demo clip.
    sequence = _sequence("otb_crossing")
    env = {"MICROLAB_SEQUENCE": sequence} if sequence else {}
    nb, _ = run_notebook("real_clip.ipynb", tmp_path, monkeypatch, timeout=900, env=env)
    text = outputs_text(nb)
    assert ("otb_crossing" if sequence else "demo") in text
    assert "verdict" in text


@pytest.mark.notebook
@pytest.mark.slow
def test_feasibility(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, seconds = run_notebook("feasibility.ipynb", tmp_path, monkeypatch, timeout=900,
                               env={"MICROLAB_ITERATIONS": "2"})
    text = outputs_text(nb)
    assert "interpolation" in text
    assert "tracker" in text
    assert "image/png" in text
    print(f"feasibility ran in {seconds:.0f} s")


@pytest.mark.notebook
@pytest.mark.slow
def test_classify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, seconds = run_notebook("classify.ipynb", tmp_path, monkeypatch, timeout=900)
    text = outputs_text(nb)
    assert "application/vnd.jupyter.widget-view+json" in text  # the Tagger was displayed
    assert "Iteration 1:" in text
    assert "(estimated" in text
    assert "frames tagged right with" in text
    assert "frame,tags,confidence,source" in text  # the export's header
    print(f"classify ran in {seconds:.0f} s")


@pytest.mark.notebook
@pytest.mark.slow
def test_multi_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, seconds = run_notebook("multi_object.ipynb", tmp_path, monkeypatch, timeout=900)
    text = outputs_text(nb)
    assert "application/vnd.jupyter.widget-view+json" in text  # the widgets were displayed
    assert "Iteration 1:" in text
    assert "tracks" in text
    assert "boxes right with their identity" in text
    assert "Saved frame" in text
    print(f"multi_object ran in {seconds:.0f} s")
