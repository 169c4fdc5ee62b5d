"""Annotator: draw boxes on the frames worth labelling first, one frame at a time.

>>> annotator = Annotator(project)          # the sampler's frames (project.initial_frames())
>>> annotator                              # draw, pick the class, Enter = submit, Space = skip
>>> annotator.submit([(10, 20, 110, 220)])  # the same from code (tests, headless runs)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from microlab.project import Project
from microlab.widgets._base import FrameStepper
from microlab.widgets._common import plural


class Annotator(FrameStepper):
    """Label frames in a notebook cell on a jupyter-bbox-widget.

    Draw a box with the mouse, pick its class, press Enter (Submit) to save and move on, Space
    (Skip) to move on without an answer, "Object absent" when there is nothing to box, "Back"
    to revisit.  Each answer goes through :meth:`Project.submit` (one action per box drawn,
    corrected or deleted) and is committed before the next frame appears.

    When every frame so far was marked absent, more frames from shots nobody has seen are
    proposed until a box exists.  The scrubber (a slider over the whole clip, previous/next
    frame, *Box this frame*) reaches any frame; the zoom (2x-8x, with arrows to move the view)
    makes objects a few pixels tall boxable.

    Every button has a method of the same name (:meth:`submit`, :meth:`skip`,
    :meth:`mark_absent`, :meth:`back`, :meth:`scrub_to`, :meth:`scrub_by`,
    :meth:`box_this_frame`, :meth:`zoom`, :meth:`pan`), and :attr:`boxes` sets or reads the
    drawing (in frame pixels, whatever the zoom), so code can drive the widget where no browser
    is attached.

    Args:
        project: the project to label.
        frames: the clip frames to show; default the sampler's ``k`` suggestions
            (:meth:`Project.initial_frames`), which skip frames a person already labelled.
        k: how many frames the sampler suggests when ``frames`` is not given.
        clock: seconds for the key-press debounce (default ``time.monotonic``; tests pass a
            fake one).
        tracks: every box names its object (several objects per clip): the label list holds
            each class (a new object, whose identity the engine proposes from the nearest track
            of its class) and each known track ("pedestrian #3"); default: when the project
            has tracks already.
    """

    title = "Annotator"

    def __init__(self, project: Project, frames: Iterable[int] | None = None, *, k: int = 5,
                 clock: Callable[[], float] | None = None, tracks: bool | None = None) -> None:
        # The first call scans the clip's frames once (a progress bar on long clips).
        chosen = project.initial_frames(k, progress=True) if frames is None else list(frames)
        self.k = k
        #: extend the list with frames from unseen shots while no box exists (sampler mode only)
        self.search = frames is None
        super().__init__(project, chosen, clock=clock, tracks=tracks)
        self._build()
        if not self.frames:
            self.status.info("Nothing to label: every suggested frame already has a human label.")
        else:
            self.status.info("Draw a box around the object, then press Enter (or Submit). "
                             "Space skips; 'Object absent' when there is nothing to box.")

    def _advance(self) -> None:
        # Every frame so far was "absent" (likely when the object is in half the clip and shots
        # are long): propose frames from shots nobody has seen until a box exists.
        last = self.position + 1 >= len(self.frames)
        if self.search and last and self.browsing is None and not self.project.has_boxes():
            more = [f for f in self.project.search_frames(self.k) if f not in self.frames]
            if more:
                self.frames.extend(more)
                self.status.show(
                    f"{self.status.text} No box yet: here are "
                    f"{plural(len(more), 'more frame')} from shots nobody has seen "
                    f"({', '.join(map(str, more))}). The scrubber above "
                    "reaches any other frame.", self.status.level)
            else:
                self.status.show(f"{self.status.text} No box yet, and "
                                 "every shot has been seen: use the scrubber "
                                 "to find a frame with the object.", self.status.level)
        super()._advance()

    def __repr__(self) -> str:
        return (f"Annotator(frames={self.frames}, position={self.position}, "
                f"actions={self.session_actions})")
