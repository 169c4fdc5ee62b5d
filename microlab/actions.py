"""Actions: what a person does to a frame, as small frozen dataclasses the store records.

:meth:`~microlab.store.Store.apply_actions` takes a list of these for one frame and records
them in one transaction.  Each knows the ``kind`` it is logged as (the ``actions`` table's
``kind`` column) and its ``cost`` in human actions:

>>> store.apply_actions(3, [Accept((12,)), Draw((10, 20, 60, 90), class_id=1)])

Boxes must already be validated (:func:`~microlab.boxes.validate_xyxy`) by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from microlab.errors import AnnotationError

#: Human actions each logged kind costs; ``import`` is free (the labels came from a file).
ACTION_COSTS = {"draw": 1, "correct": 1, "delete": 1, "absent": 1, "accept": 0, "skip": 0,
                "import": 0}


def _xyxy(value: Sequence[float] | np.ndarray) -> tuple[float, float, float, float]:
    try:
        box = tuple(float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError) as exc:
        message = f"a box must be 4 numbers (x0, y0, x1, y1), but got {value!r}"
        raise AnnotationError(message) from exc
    if len(box) != 4:
        raise AnnotationError(f"a box must be 4 numbers (x0, y0, x1, y1), but got {value!r}")
    return box  # type: ignore[return-value]


@dataclass(frozen=True)
class Action:
    """Base of every action: the logged ``kind`` and its ``cost``."""

    kind: ClassVar[str]

    @property
    def cost(self) -> int:
        return ACTION_COSTS[self.kind]


@dataclass(frozen=True)
class Draw(Action):
    """A new box drawn by a human (1 action); ``track_id`` names the object (None: none)."""

    xyxy: tuple[float, float, float, float]
    class_id: int = 0
    track_id: int | None = None
    kind: ClassVar[str] = "draw"

    def __post_init__(self) -> None:
        object.__setattr__(self, "xyxy", _xyxy(self.xyxy))


@dataclass(frozen=True)
class Correct(Action):
    """Replace box ``box_id`` with ``xyxy`` (1 action): its geometry, its class or its
    identity; ``class_id=None`` / ``track_id=None`` keep the box's own."""

    box_id: int
    xyxy: tuple[float, float, float, float]
    class_id: int | None = None
    track_id: int | None = None
    kind: ClassVar[str] = "correct"

    def __post_init__(self) -> None:
        object.__setattr__(self, "xyxy", _xyxy(self.xyxy))


@dataclass(frozen=True)
class Delete(Action):
    """Delete a false positive or a wrong human box (1 action)."""

    box_id: int
    kind: ClassVar[str] = "delete"


@dataclass(frozen=True)
class MarkAbsent(Action):
    """The object is not in this frame: removes its human and accepted boxes (1 action).

    With ``track_id``, one object of several has left the view: only that track's boxes go.
    """

    track_id: int | None = None
    kind: ClassVar[str] = "absent"


@dataclass(frozen=True)
class Accept(Action):
    """Accept the given machine boxes as correct (0 actions; none = accept "absent")."""

    box_ids: tuple[int, ...] = ()
    kind: ClassVar[str] = "accept"

    def __post_init__(self) -> None:
        object.__setattr__(self, "box_ids", tuple(self.box_ids))


@dataclass(frozen=True)
class Skip(Action):
    """Looked at the frame without a verdict (0 actions; the frame counts as viewed)."""

    kind: ClassVar[str] = "skip"


@dataclass(frozen=True)
class MarkComplete(Action):
    """Say whether every object of the frame is boxed (logged as ``skip``, 0 actions).

    ``complete=False`` marks a frame *partly boxed*: its human boxes are right, but other objects
    may be unboxed; the model learns from its boxes without taking the rest of the frame for
    background, and the frame stays in review with the model's boxes for the others.  Accepting
    a frame's boxes, or marking it absent, makes it complete again.
    """

    complete: bool = True
    kind: ClassVar[str] = "skip"


@dataclass(frozen=True)
class Import(Action):
    """A human box read from a label file (0 actions; the frame counts as verified)."""

    xyxy: tuple[float, float, float, float]
    class_id: int = 0
    track_id: int | None = None
    kind: ClassVar[str] = "import"

    def __post_init__(self) -> None:
        object.__setattr__(self, "xyxy", _xyxy(self.xyxy))


@dataclass(frozen=True)
class ImportAbsent(Action):
    """A frame a label file marks "object absent" (logged as ``import``, 0 actions)."""

    kind: ClassVar[str] = "import"


ACTIONS: tuple[type[Action], ...] = (Draw, Correct, Delete, MarkAbsent, Accept, Skip,
                                     MarkComplete, Import, ImportAbsent)
