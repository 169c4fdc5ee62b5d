"""Annotator: draw boxes on the frames worth labelling first, one frame at a time.

>>> annotator = Annotator(project)          # the sampler's frames (project.initial_frames())
>>> annotator                              # draw, pick the class, Enter = submit, Space = skip
>>> annotator.submit([(10, 20, 110, 220)])  # the same from code (tests, headless runs)
"""

from __future__ import annotations

from collections.abc import Iterable

from microlab.project import Project
from microlab.widgets._base import FrameStepper


class Annotator(FrameStepper):
    """Label frames in a notebook cell on a jupyter-bbox-widget.

    Draw a box with the mouse, pick its class, press Enter (Submit) to save and move on, Space
    (Skip) to move on without an answer, "Object absent" when there is nothing to box, "Back"
    to revisit.  Each answer goes through :meth:`Project.submit` (one action per box drawn,
    corrected or deleted) and is committed before the next frame appears.

    Every button has a method of the same name (:meth:`submit`, :meth:`skip`,
    :meth:`mark_absent`, :meth:`back`), and :attr:`boxes` sets or reads the drawing, so code
    can drive the widget where no browser is attached.

    Args:
        project: the project to label.
        frames: the clip frames to show; default the sampler's ``k`` suggestions
            (:meth:`Project.initial_frames`), which skip frames a person already labelled.
        k: how many frames the sampler suggests when ``frames`` is not given.
    """

    title = "Annotator"

    def __init__(self, project: Project, frames: Iterable[int] | None = None, *, k: int = 5) -> None:
        # The first call scans the clip's frames once (a progress bar on long clips).
        chosen = project.initial_frames(k, progress=True) if frames is None else list(frames)
        super().__init__(project, chosen)
        self._build()
        if not self.frames:
            self.status.info("Nothing to label: every suggested frame already has a human label.")
        else:
            self.status.info("Draw a box around the object, then press Enter (or Submit). "
                             "Space skips; 'Object absent' when there is nothing to box.")

    def __repr__(self) -> str:
        return (f"Annotator(frames={self.frames}, position={self.position}, "
                f"actions={self.session_actions})")
