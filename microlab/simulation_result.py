"""The JSON schema of a simulation result (``microlab simulate --json``): read it and check it.

Kept apart from :mod:`microlab.simulate`, which imports the model and the loop, so that a
notebook drawing a recorded result (the spline lesson's bridge to video) loads only json.

Example:
    >>> result = load_simulation("notebooks/data/spline_demo_simulation.json")
    >>> result["n_frames"], len(result["iterations"]) > 0
    (240, True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from microlab.errors import SplineError

_ITERATION_KEYS = ("iteration", "actions", "frames_viewed", "correct_frac", "segments")
_SEGMENT_KEYS = ("start", "end", "coverage", "correct_frac", "actions")


def load_simulation(path: str | Path) -> dict[str, Any]:
    """Read a simulation JSON (written by ``microlab simulate --json``) and check its schema."""
    path = Path(path)
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SplineError(f"cannot read the simulation result {path}: {exc}") from exc
    validate_simulation(result, source=str(path))
    return result


def validate_simulation(result: Mapping[str, Any], *, source: str = "simulation result") -> None:
    """Check the keys the bridge reads; the error names the first missing one and where."""
    for key in ("sequence", "n_frames", "iterations"):
        if key not in result:
            raise SplineError(f"{source}: missing key {key!r}; expected "
                              "the JSON of `microlab simulate`")
    if not result["iterations"]:
        raise SplineError(f"{source}: 'iterations' is empty; the simulation ran no iteration")
    for i, it in enumerate(result["iterations"]):
        for key in _ITERATION_KEYS:
            if key not in it:
                raise SplineError(f"{source}: iterations[{i}] lacks {key!r}")
        for j, seg in enumerate(it["segments"]):
            for key in _SEGMENT_KEYS:
                if key not in seg:
                    raise SplineError(f"{source}: iterations[{i}].segments[{j}] lacks {key!r}")
