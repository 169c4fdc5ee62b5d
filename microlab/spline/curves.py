"""Hidden curves: what the learner of the spline analogy may only see through labels it buys.

A curve stands in for a video clip (x: the frame number, y: the box on that frame).  Curves are
registered by name (:func:`register_curve`), so :func:`list_curves`, the game's sliders and the
tests pick a new one up; :data:`GRID` is where errors against a hidden curve are measured.

Example:
    >>> list_curves()
    ['smooth', 'bumpy', 'jump', 'runge']
    >>> get_curve("jump").cuts
    (0.62,)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from microlab.errors import SplineError

DOMAIN = (0.0, 1.0)
GRID = np.linspace(*DOMAIN, 1001)  # where errors against the hidden curve are measured


@dataclass(frozen=True)
class HiddenCurve:
    """A curve on ``[0, 1]`` that the learner may only see through labels it buys.

    Attributes:
        name: registry key.
        description: one line for a student.
        function: vectorised ``x -> y``.
        cuts: x positions where the curve jumps (a scene cut in the video picture).
    """

    name: str
    description: str
    function: Callable[[np.ndarray], np.ndarray]
    cuts: tuple[float, ...] = ()

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(self.function(np.asarray(x, dtype=np.float64)), dtype=np.float64)


CURVES: dict[str, HiddenCurve] = {}


def register_curve(curve: HiddenCurve) -> HiddenCurve:
    """Add a curve to the registry (``list_curves()``, sliders and tests pick it up)."""
    CURVES[curve.name] = curve
    return curve


def list_curves() -> list[str]:
    """Names of the registered hidden curves, in registration order."""
    return list(CURVES)


def get_curve(curve: str | HiddenCurve) -> HiddenCurve:
    """A registered curve by name (a :class:`HiddenCurve` passes through)."""
    if isinstance(curve, HiddenCurve):
        return curve
    if curve in CURVES:
        return CURVES[curve]
    close = difflib.get_close_matches(str(curve), list(CURVES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SplineError(f"unknown curve {curve!r}: expected one of {list(CURVES)}{hint}")


def _smooth(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * 0.8 * x + 0.3) + 0.4 * x


# (centre, width, height): narrow bumps of both signs spread over the range
_BUMPS = ((0.1, 0.035, 0.8), (0.27, 0.05, -0.7), (0.45, 0.03, 0.9),
          (0.6, 0.045, -0.8), (0.76, 0.03, 0.7), (0.9, 0.05, -0.6))


def _bumpy(x: np.ndarray) -> np.ndarray:
    y = 0.3 * np.sin(2 * np.pi * 1.2 * x)
    for centre, width, height in _BUMPS:
        y = y + height * np.exp(-0.5 * ((x - centre) / width) ** 2)
    return y


JUMP_AT = 0.62


def _jump(x: np.ndarray) -> np.ndarray:
    left = 0.6 * np.sin(2 * np.pi * 0.9 * x)
    right = 1.3 - 1.5 * (x - JUMP_AT) + 0.15 * np.sin(2 * np.pi * 3 * x)
    return np.where(x < JUMP_AT, left, right)


def _runge(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + 25.0 * (2 * x - 1) ** 2)


register_curve(HiddenCurve("smooth", "one slow wave: a global polynomial does fine here", _smooth))
register_curve(HiddenCurve(
    "bumpy", "a slow wave with six narrow bumps: local detail everywhere", _bumpy))
register_curve(HiddenCurve(
    "jump", f"two smooth parts with a jump at x = {JUMP_AT} (a scene cut)", _jump, cuts=(JUMP_AT,)))
register_curve(HiddenCurve(
    "runge", "Runge's bell 1/(1+25t²): high-degree polynomials ring at the ends", _runge))
