"""Review: the frames the loop ranks as most worth a look, with the model's boxes pre-drawn.

>>> review = Review(project)       # project.review_queue(): most likely wrong first
>>> review                         # accept, adjust, delete or draw; Enter saves
>>> review.accept()                # the same from code: 0 actions
>>> review.submit([(12, 30, 80, 140)])   # a corrected box: 1 action
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

import ipywidgets as W

from microlab.errors import MicrolabError
from microlab.project import Project, SubmitResult
from microlab.sampling import ReviewItem
from microlab.widgets._base import FrameStepper
from microlab.widgets._common import clip_position_html, plural, reported, thumbnail_bytes

_FILM_STYLE = {"ok": "success", "fixed": "warning", "skipped": ""}


class Review(FrameStepper):
    """Check the machine's labels where they are most likely wrong.

    Each frame shows the current label (the model's, tracker's or interpolated boxes) on a
    jupyter-bbox-widget, with its score and the reason it was picked.  **Accept** if it is right
    (0 actions); otherwise move or resize a box (a correction), select it and press Delete (a
    false positive), or draw the missed one, then press Enter: :meth:`Project.submit` records
    the fewest actions that explain the change.  A filmstrip of the batch and a bar standing for
    the whole clip show where each frame is; click a thumbnail's button to jump to it.

    Buttons mirror methods: :meth:`accept`, :meth:`submit`, :meth:`skip`, :meth:`mark_absent`,
    :meth:`back`, :meth:`next`, :meth:`go_to`; :attr:`boxes` reads or sets the drawing.

    Args:
        project: a project with at least one prediction.
        frames: frames to review; default the loop's queue (:meth:`Project.review_queue`).
        n: size of the default queue (default: the loop's batch size).
        clock: seconds for the key-press debounce (default ``time.monotonic``; tests pass a
            fake one).
    """

    title = "Review"
    shows_partial = False  # every box is on show: submitting answers the frame whole

    def __init__(self, project: Project, frames: Iterable[int] | None = None, *,
                 n: int | None = None, clock: Callable[[], float] | None = None,
                 tracks: bool | None = None) -> None:
        from microlab.loop import review_items

        self.items: list[ReviewItem] = (
            project.review_queue(n) if frames is None else review_items(project, list(frames))
        )
        super().__init__(project, [item.frame for item in self.items], clock=clock,
                         tracks=tracks)
        self.accept_button = W.Button(description="Accept", icon="check", button_style="success",
                                      tooltip="the boxes shown are right (0 actions)")
        self.next_button = W.Button(description="Next", icon="arrow-right",
                                    tooltip="next frame without recording anything")
        self.accept_button.on_click(lambda _: self._ui(self.accept, debounce=True))
        self.next_button.on_click(lambda _: self._ui(self.next))
        self.info = W.HTML()
        self.clip_bar = W.HTML()
        self.filmstrip = W.HBox(layout=W.Layout(overflow="auto", width="100%"))
        self.filmstrip.add_class("microlab-filmstrip")
        self._film_buttons: dict[int, W.Button] = {}
        self._boundaries = self._segment_starts()
        self._fill_filmstrip()
        self._build()
        if not self.frames:
            self.status.info("Nothing to review: run project.predict() (or step()) first, "
                             "or every frame already has a human label.")
        else:
            self.status.info("Accept if the boxes are right; otherwise fix them and press Enter.")

    # ------------------------------------------------------------------ layout
    def _extra_children(self) -> list[W.Widget]:
        return [self.filmstrip, self.clip_bar, self.info]

    def _buttons(self) -> list[W.Widget]:
        return [self.back_button, self.accept_button, self.absent_button, self.next_button,
                *([self.complete_box] if self.tracks else [])]

    def _segment_starts(self) -> list[int]:
        try:
            return [s.start for s in self.project.segments()[1:]]
        except MicrolabError:  # segment boundaries only decorate the clip bar
            return []

    def _fill_filmstrip(self) -> None:
        self.filmstrip.children = [self._film_cell(item) for item in self.items]

    def _film_cell(self, item: ReviewItem) -> W.Widget:
        try:
            image = W.Image(value=thumbnail_bytes(self.project.frame(item.frame)), format="jpeg",
                            layout=W.Layout(width="96px"))
        except MicrolabError:  # an unreadable frame still gets its button (and an error on show)
            image = W.HTML("<i>unreadable</i>")
        button = W.Button(description=f"{item.frame}", tooltip=f"frame {item.frame}: {item.reason}",
                          layout=W.Layout(width="96px"))
        button.on_click(lambda _, f=item.frame: self._ui(lambda: self.go_to(f)))
        self._film_buttons[item.frame] = button
        return W.VBox([image, button], layout=W.Layout(margin="0 4px 0 0", min_width="100px"))

    # ------------------------------------------------------------------ actions
    @reported
    def accept(self) -> SubmitResult:
        """The label shown is right: record it as human-verified (0 actions), then move on."""
        frame = self._require_frame("accept")
        self.project.accept(frame)
        result = SubmitResult(frame, ("accept",), ())
        self._recorded(frame, result, "accepted")
        return result

    @reported
    def open(self, frame: int) -> None:
        """Show any clip frame (added to the batch if it is not in it), e.g. from a timeline."""
        from microlab.loop import review_items

        frame = int(frame)
        if frame not in self.frames:
            item = review_items(self.project, [frame])[0]
            self.items.append(item)
            self.frames.append(frame)
            self.filmstrip.children = [*self.filmstrip.children, self._film_cell(item)]
        self.go_to(frame)

    def _take(self, frame: int) -> None:
        # The scrubber's "Box this frame": the frame joins the batch like a timeline click.
        self.open(frame)

    # ------------------------------------------------------------------ display
    def _after_show(self, frame: int | None) -> None:
        for f, button in self._film_buttons.items():
            button.button_style = "info" if f == frame else _FILM_STYLE.get(self.states.get(f, ""),
                                                                            "")
            button.icon = "eye" if f == frame else ""
        self.accept_button.disabled = frame is None
        self.next_button.disabled = frame is None
        self.clip_bar.value = clip_position_html(
            self.project.n_frames, self.frames, current=frame, states=self.states,
            boundaries=self._boundaries
        )
        if frame is None:
            totals = self.project.action_totals()
            self.info.value = (
                f"Batch done: {plural(len(self.frames), 'frame')}, "
                f"{plural(self.session_actions, 'action')} here ({totals['actions']} in the "
                "project). Next: <code>project.step()</code> or the Dashboard's <i>Run next "
                "iteration</i>."
            )
            return
        self.info.value = self._info_html(frame)

    def _info_html(self, frame: int) -> str:
        item = self.items[self.frames.index(frame)]
        label = self.project.label(frame)
        rows = []
        for i, b in enumerate(label.boxes, start=1):
            score = "—" if b.score is None else f"{b.score:.2f}"
            rows.append(f"box {i}: <b>{html.escape(self.project.classes[b.class_id])}</b> "
                        f"score {score} ({html.escape(b.source)})")
        if not rows:
            rows.append("no box: the label says the object is <b>absent</b> "
                        "(press Enter to agree, or draw it)")
        state = "human-verified" if label.verified else "machine label"
        return (
            f"<div>Why this frame: <i>{html.escape(item.reason)}</i> &middot; "
            f"doubt {item.priority:.2f} &middot; {state}</div><div>{' &middot; '.join(rows)}</div>"
        )

    def __repr__(self) -> str:
        return (f"Review(frames={self.frames}, position={self.position}, "
                f"actions={self.session_actions})")
