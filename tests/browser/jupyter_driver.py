"""Helpers of the browser tests: the running JupyterLab, notebooks, cells, kernel state."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("MICROLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@dataclass
class Lab:
    """A running JupyterLab: its root folder, URL and token."""

    root: Path
    port: int
    token: str
    log: Path

    def url(self, notebook: str) -> str:
        # "reset": a fresh workspace, so notebooks of earlier tests do not reopen beside this one
        return f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?reset&token={self.token}"

    def stop_kernels(self) -> None:
        """Shut down every kernel the tests started (they hold CPU and the project files)."""
        base = f"http://127.0.0.1:{self.port}/api/kernels"
        headers = {"Authorization": f"token {self.token}"}
        with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=10) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(f"{base}/{k['id']}", headers=headers, method="DELETE")
            with urllib.request.urlopen(req, timeout=30):
                pass


def write_notebook(path: Path, sources: list[str]) -> Path:
    """A notebook of code cells (python3 kernel) at ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


#: the notebook on show (other panels stay in the DOM, hidden)
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


def open_notebook(page: object, lab: Lab, name: str) -> None:
    """Open a notebook and wait until its kernel is started and idle."""
    page.goto(lab.url(name))  # type: ignore[attr-defined]
    page.wait_for_selector(f"{NOTEBOOK} .jp-Cell", timeout=90_000)  # type: ignore[attr-defined]
    wait_idle(page, timeout_s=120)


def wait_idle(page: object, *, timeout_s: float = 120) -> None:
    """Wait until the notebook's kernel is connected and idle, and no cell is queued or running.

    Works in JupyterLab and Notebook 7: both show the toolbar's execution indicator and the
    kernel name ("No Kernel" until one is connected).
    """
    page.wait_for_function(  # type: ignore[attr-defined]
        r"""() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            if (!panel) return false;
            const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            const kernel = panel.querySelector('.jp-Toolbar-kernelName');
            const connected = kernel && /Python/.test(kernel.textContent);
            const idle = indicator && indicator.getAttribute('data-status') === 'idle';
            const busy = [...panel.querySelectorAll('.jp-InputArea-prompt')]
                .some(p => p.textContent.includes('*'));
            return connected && idle && !busy;
        }""",
        timeout=timeout_s * 1000,
    )


def run_cells(page: object, count: int, *, first: int = 0, timeout_s: float = 180) -> None:
    """Run ``count`` cells from cell ``first`` (Shift+Enter each), and wait until all ran."""
    cells = page.locator(f"{NOTEBOOK} .jp-Cell")  # type: ignore[attr-defined]
    cells.nth(first).locator(".jp-InputArea-prompt").click()  # selects the cell, code or markdown
    for _ in range(count):
        page.keyboard.press("Shift+Enter")  # type: ignore[attr-defined]
        time.sleep(0.3)
    code = [i for i in range(first, first + count)
            if "jp-CodeCell" in (cells.nth(i).get_attribute("class") or "")]
    if code:
        # "[3]:" once run; "[*]:" while queued or running.
        prompt = cells.nth(code[-1]).locator(".jp-InputArea-prompt")
        prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout_s * 1000)
    wait_idle(page, timeout_s=timeout_s)
