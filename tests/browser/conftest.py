"""JupyterLab on loopback and Debian's Chromium driven by Playwright, for the browser tests.

The recipe of ../shared/docs/ENVIRONMENT.md: a JupyterLab started per test session with
temporary config/data/runtime/settings dirs, a random token, a free port, the extension
manager read-only and news and update checks off; Chromium launched with the flags that keep
it off the (closed) network.  Every test in this folder is marked ``browser`` and skips with
the reason when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_driver import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REPO, Lab


def _missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return (f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium; "
                "Playwright's own browser download is not used)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("playwright is not installed (pip install playwright; "
                "do not run 'playwright install')")
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = _missing()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a temporary root folder on 127.0.0.1."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir()
    # No "receive Jupyter news?" toast and no update check: nothing may cover the widgets.
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "PYTHONPATH": os.pathsep.join([str(REPO),
                                       os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    env.pop("MICROLAB_HEADLESS", None)  # the notebooks must show their widgets to the browser
    port, token = _free_port(), secrets.token_hex(16)
    log = ARTIFACTS / "jupyterlab.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                            timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer on port {port} within 90 s; see {log}")
                time.sleep(0.5)
        yield Lab(root, port, token, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, lab: Lab, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser tab; its kernels are shut down after the test."""
    viewport = {"width": 1280, "height": 1000}
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"browser_{name}_end.png"), full_page=True)
    finally:
        context.close()
        lab.stop_kernels()
