"""What the Annotator and Review share: a list of frames shown one at a time in a
jupyter-bbox-widget, with submit / skip / absent / back, a header and a status area."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as W
from jupyter_bbox_widget import BBoxWidget

from microlab.errors import AnnotationError, MicrolabError, StateError
from microlab.project import Project, SubmitResult
from microlab.widgets._common import (
    Guard,
    StatusArea,
    bbox_widget_to_boxes,
    boxes_to_bbox_widget,
    describe_kinds,
    encode_image,
    plural,
    reported,
    xyxy_to_bbox_widget,
)


class FrameStepper:
    """Frames of a project, one at a time, each answered through :meth:`Project.submit`.

    Subclasses add their own controls around ``self.bbox`` (the drawing surface) and may
    override :meth:`_extra_children` and :meth:`_after_show`.
    """

    title = "microlab"

    def __init__(self, project: Project, frames: Iterable[int]) -> None:
        self.project = project
        self.frames: list[int] = [int(f) for f in frames]
        self.position = 0
        #: frame -> the latest :class:`SubmitResult` recorded through this widget
        self.results: dict[int, SubmitResult] = {}
        #: frame -> ``"ok"`` (no action needed), ``"fixed"`` (cost actions) or ``"skipped"``
        self.states: dict[int, str] = {}
        self.status = StatusArea()
        self._guard = Guard(self.status)
        self._listeners: list[Callable[[FrameStepper], None]] = []

        self.bbox = BBoxWidget(classes=list(project.classes), label=project.classes[0])
        self.bbox.on_submit(lambda: self._ui(self.submit, debounce=True))
        self.bbox.on_skip(lambda: self._ui(self.skip, debounce=True))
        self.header = W.HTML()
        self.back_button = W.Button(description="Back", icon="arrow-left", tooltip="previous frame")
        self.absent_button = W.Button(description="Object absent", icon="ban",
                                      tooltip="nothing to box in this frame (1 action)")
        self.back_button.on_click(lambda _: self._ui(self.back))
        self.absent_button.on_click(lambda _: self._ui(self.mark_absent, debounce=True))
        self.ui = W.VBox(layout=W.Layout(width="100%"))
        self.ui.add_class("microlab-widget")

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # what text-only frontends and saved notebooks show
        return bundle

    def _build(self) -> None:
        self.ui.children = [self.header, *self._extra_children(), self.bbox,
                            W.HBox(self._buttons()), self.status.widget]
        self._show()

    def _extra_children(self) -> list[W.Widget]:
        return []

    def _buttons(self) -> list[W.Widget]:
        return [self.back_button, self.absent_button]

    # ------------------------------------------------------------------ state
    @property
    def done(self) -> bool:
        """True once every frame has been answered (or skipped) in order."""
        return self.position >= len(self.frames)

    @property
    def frame(self) -> int | None:
        """The clip frame on show, or ``None`` when done."""
        return None if self.done else self.frames[self.position]

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """The boxes on the drawing now, as ``{"xyxy": [x0, y0, x1, y1], "label": name}``."""
        return bbox_widget_to_boxes(self.bbox.bboxes)

    @boxes.setter
    @reported
    def boxes(self, boxes: Iterable[Any]) -> None:
        # A new list is assigned: mutating the synced list in place would not reach the browser.
        self.bbox.bboxes = xyxy_to_bbox_widget(list(boxes), self.project.classes)

    @property
    def session_actions(self) -> int:
        """Human actions recorded through this widget."""
        return sum(r.actions for r in self.results.values())

    def on_change(self, callback: Callable[[FrameStepper], None]) -> Callable[[FrameStepper], None]:
        """Call ``callback(widget)`` after each recorded answer (usable as a decorator)."""
        self._listeners.append(callback)
        return callback

    # ------------------------------------------------------------------ actions
    @reported
    def submit(self, boxes: Iterable[Any] | None = None) -> SubmitResult:
        """Record the boxes on the drawing (or ``boxes``) for the current frame, then move on.

        The engine turns them into the fewest actions (accept 0; draw, correct, delete 1 each);
        the answer is committed to the project file before the widget says "saved".
        """
        frame = self._require_frame("submit")
        if boxes is not None:
            self.boxes = boxes
        result = self.project.submit(frame, self.boxes)
        self._recorded(frame, result, "saved")
        return result

    @reported
    def skip(self) -> None:
        """Move on without a verdict (0 actions; the frame counts as viewed)."""
        frame = self._require_frame("skip")
        self.project.skip(frame)
        self.states.setdefault(frame, "skipped")
        self.status.info(f"Skipped frame {frame}.")
        self._advance()

    @reported
    def mark_absent(self) -> SubmitResult:
        """Say the object is not in the current frame (1 action), then move on."""
        frame = self._require_frame("mark absent")
        self.project.mark_absent(frame)
        result = SubmitResult(frame, ("absent",), ())
        self._recorded(frame, result, "saved")
        return result

    @reported
    def back(self) -> None:
        """Show the previous frame again (its saved boxes are shown; resubmitting is free)."""
        if self.position == 0:
            self.status.info("This is the first frame.")
            return
        self.position -= 1
        self._show()

    @reported
    def next(self) -> None:
        """Show the next frame without recording anything."""
        if self.done:
            return
        self.position += 1
        self._show()

    @reported
    def go_to(self, frame: int) -> None:
        """Show ``frame`` (one of this widget's frames)."""
        if frame not in self.frames:
            raise AnnotationError(f"frame {frame} is not in this widget's frames {self.frames}")
        self.position = self.frames.index(frame)
        self._show()

    # ------------------------------------------------------------------ internals
    def _require_frame(self, what: str) -> int:
        frame = self.frame
        if frame is None:
            raise StateError(f"cannot {what}: all {len(self.frames)} frames are done (use back() to revisit)")
        return frame

    def _recorded(self, frame: int, result: SubmitResult, verb: str) -> None:
        self.results[frame] = result
        self.states[frame] = "fixed" if result.actions else "ok"
        totals = self.project.action_totals()
        self.status.success(
            f"{verb.capitalize()} frame {frame}: {describe_kinds(result.kinds)} "
            f"({plural(result.actions, 'action')}; {totals['actions']} in the project so far)."
        )
        self._advance()
        for callback in self._listeners:
            callback(self)

    def _advance(self) -> None:
        self.position += 1
        self._show()

    def _ui(self, action: Callable[[], Any], *, debounce: bool = False) -> None:
        if debounce and self._guard.too_soon():
            self.status.info("Ignored a key press that came right after the frame changed; press again.")
            return
        self._guard.run(action)

    def _show(self) -> None:
        self._guard.mark_change()
        frame = self.frame
        self.back_button.disabled = self.position == 0
        self.absent_button.disabled = frame is None
        # When every frame is answered the drawing is hidden: a last frame left on show would
        # look like an open question.
        self.bbox.layout.display = "none" if frame is None else None
        if frame is None:
            with self.bbox.hold_sync():
                self.bbox.selected_index = -1
                self.bbox.view_only = True
                self.bbox.bboxes = []
            self.header.value = self._header_html(None)
            self._after_show(None)
            return
        self.bbox.view_only = False
        try:
            image = encode_image(self.project.frame(frame))
            boxes = boxes_to_bbox_widget(self.project.label(frame).boxes, self.project.classes)
        except MicrolabError as exc:  # a frame that cannot be read must not hide the widget
            self.status.error(exc)
            image, boxes = b"", []
        # One message, selection cleared first: the drawing must not keep a box selected that
        # the new list no longer has (it would stay drawn on the next frame).
        with self.bbox.hold_sync():
            self.bbox.selected_index = -1
            self.bbox.image_bytes = image
            self.bbox.bboxes = boxes
        self.header.value = self._header_html(frame)
        self._after_show(frame)

    def _after_show(self, frame: int | None) -> None:
        pass

    def _header_html(self, frame: int | None) -> str:
        totals = self.project.action_totals()
        work = (f"{plural(totals['actions'], 'action')} so far ({self.session_actions} here), "
                f"{plural(totals['frames_viewed'], 'frame')} viewed")
        if frame is None:
            return (f"<b>{html.escape(self.title)}</b> &mdash; all {len(self.frames)} frames done "
                    f"&middot; {work}")
        return (f"<b>{html.escape(self.title)}</b> &mdash; frame {self.position + 1} of {len(self.frames)} "
                f"(clip frame {frame} of {self.project.n_frames}) &middot; {work}")

