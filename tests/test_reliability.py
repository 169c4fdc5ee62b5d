"""Reliability: a process recording human actions is SIGKILLed at random moments, many times;
every action whose call had returned must be in the store afterwards, and the store intact.

The child prints each action's id only *after* the call that recorded it returned, so a
printed id is an acknowledged action (what a widget would have shown as saved).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from microlab.project import Project
from microlab.store import Store

# Runs in the child: record draw / correct / absent / submit forever, one frame per call.
CHILD = r"""
import random, sys
from microlab.project import Project

path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
project = Project.open(path)
width, height = project.frame_size
# AUTOINCREMENT ids grow by one per committed action and a single writer is running, so the
# ids of a call's actions follow from the previous ones without reading the store again.
next_id = (project.store._query("SELECT MAX(id) FROM actions")[0][0] or 0) + 1

def box():
    x0, y0 = rng.uniform(0, width - 10), rng.uniform(0, height - 10)
    return (x0, y0, min(width, x0 + rng.uniform(5, 40)), min(height, y0 + rng.uniform(5, 40)))

print("READY", flush=True)
while True:
    frame = rng.randrange(project.n_frames)
    verb = rng.choice(["draw", "correct", "absent", "submit"])
    shown = project.label(frame).boxes if verb == "correct" else ()
    box_id = ""
    if verb == "draw" or (verb == "correct" and not shown):
        box_id, kinds = project.draw_box(frame, box()), ["draw"]
    elif verb == "correct":
        box_id, kinds = project.correct_box(rng.choice(shown).id, box()), ["correct"]
    elif verb == "absent":
        project.mark_absent(frame)
        kinds = ["absent"]
    else:
        kinds = list(project.submit(frame, [box() for _ in range(rng.randrange(3))]).kinds)
    # The call has returned: the actions are acknowledged.
    for kind in kinds:
        print(next_id, kind, frame, box_id if kind in ("draw", "correct") else "", flush=True)
        next_id += 1
"""

N_KILLS = 24
SEED = 20261126


def _start_child(path: Path, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _acknowledged(lines: list[str]) -> list[tuple[int, str, int, int | None]]:
    out = []
    for line in lines:
        parts = line.split()
        if not parts or parts[0] == "READY":
            continue
        if len(parts) < 3:  # a line cut by the kill: printing had not finished, not acknowledged
            continue
        box = int(parts[3]) if len(parts) > 3 else None
        out.append((int(parts[0]), parts[1], int(parts[2]), box))
    return out


def _check_store(
    path: Path, acknowledged: list[tuple[int, str, int, int | None]], before: int, run: str
) -> int:
    """Reopen the project after a kill; return the number of actions it holds.

    ``before`` is the number of actions the store held when the child started.
    """
    with Project.open(path) as project:  # reopening resumes: no error, no repair step
        assert project.store.integrity_check() == "ok", run
        actions = {a.id: a for a in project.actions()}
        for action_id, kind, frame, box_id in acknowledged:
            assert action_id in actions, f"{run}: acknowledged action {action_id} ({kind}) was lost"
            stored = actions[action_id]
            assert (stored.kind, stored.frame) == (kind, frame), f"{run}: action {action_id}"
            if box_id is not None:
                assert stored.box_id == box_id, f"{run}: action {action_id}"
                assert project.store.box(box_id).frame == frame
        ids = sorted(actions)
        assert ids == list(range(1, len(ids) + 1)), f"{run}: the log has gaps"
        # Actions past the last acknowledged one belong to the single call in flight: one frame.
        last = max((a[0] for a in acknowledged), default=before)
        assert len({actions[i].frame for i in ids if i > last}) <= 1, run
        # Each call is one transaction: a frame with a verdict in the log is marked verified.
        verdicts = ("draw", "correct", "delete", "absent", "accept")
        judged = {a.frame for a in actions.values() if a.kind in verdicts}
        assert judged <= set(project.human_frames()), f"{run}: half-written transaction"
        return len(ids)


def test_sigkill_loses_no_acknowledged_action(small_clip, tmp_path: Path) -> None:
    path = tmp_path / "killed.mlab"
    Project.open(path, video=small_clip.path).close()
    rng = random.Random(SEED)
    total_acknowledged = 0
    grew = 0
    previous = 0
    for run_index in range(N_KILLS):
        child_seed = rng.randrange(1 << 30)
        run = f"kill {run_index} (seed {SEED}, child seed {child_seed})"
        child = _start_child(path, child_seed)
        lines: list[str] = []
        try:
            if run_index % 8 == 7:
                # Now and then kill it while it is still starting and opening the project.
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                ready = child.stdout.readline() if child.stdout else ""
                assert ready.strip() == "READY", (f"{run}: child failed: "
                                                  f"{child.stderr.read() if child.stderr else ''}")
                # Let it acknowledge some actions, then kill at a random moment (often mid-commit).
                for _ in range(rng.randrange(0, 30)):
                    line = child.stdout.readline() if child.stdout else ""
                    assert line, f"{run}: child died: {child.stderr.read() if child.stderr else ''}"
                    lines.append(line)
                time.sleep(rng.uniform(0.0, 0.02))
        finally:
            child.send_signal(signal.SIGKILL)
            # Read through the same buffered pipe objects: communicate() reads the raw file
            # descriptors and would drop lines readline() had already buffered.
            rest = child.stdout.read() if child.stdout else ""
            err = child.stderr.read() if child.stderr else ""
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL, f"{run}: exited by itself: {err}"
        acknowledged = _acknowledged(lines + rest.splitlines(keepends=True))
        total_acknowledged += len(acknowledged)
        count = _check_store(path, acknowledged, previous, run)
        grew += count > previous
        previous = count
    # The test proves something only if the kills interrupted real work.
    assert total_acknowledged >= 5 * N_KILLS // 2
    assert grew >= N_KILLS // 2


def test_durability_settings_are_what_the_store_claims(project: Project) -> None:
    # store.py promises WAL and synchronous=FULL (a sync at every commit).
    db = project.store._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    other = sqlite3.connect(project.path)  # WAL is recorded in the file, not the connection
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    # Reopening sets them again on the new connection.
    with Store.open(project.path) as again:
        assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2


@pytest.mark.parametrize(
    "verb",
    [
        lambda p: p.draw_box(0, (10, 10, 30, 30)),
        lambda p: p.mark_absent(1),
        lambda p: p.submit(2, [(5, 5, 25, 25)]),
        lambda p: p.correct_box(p.draw_box(3, (10, 10, 30, 30)), (12, 12, 32, 32)),
    ],
    ids=["draw", "absent", "submit", "correct"],
)
def test_an_action_is_committed_when_the_call_returns(project: Project, verb) -> None:
    verb(project)
    assert not project.store._db.in_transaction
    # Another connection (another process, after a crash) sees it without any close or flush.
    other = sqlite3.connect(project.path)
    try:
        n = other.execute("SELECT COUNT(*) FROM actions").fetchone()[0]
    finally:
        other.close()
    assert n == len(project.actions()) >= 1
