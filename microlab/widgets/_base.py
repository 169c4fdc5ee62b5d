"""What the Annotator and Review share: a list of frames shown one at a time in a
jupyter-bbox-widget, with submit / skip / absent / back, a header and a status area; a
scrubber to look at any frame of the clip and box it; a zoom for small objects."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as W
import numpy as np
from jupyter_bbox_widget import BBoxWidget

from microlab.errors import AnnotationError, FrameIndexError, MicrolabError, StateError
from microlab.project import Project, SubmitResult
from microlab.widgets._common import (
    Guard,
    StatusArea,
    ZoomView,
    bbox_widget_to_boxes,
    boxes_to_bbox_widget,
    describe_kinds,
    encode_image,
    identity_label,
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
    #: a partly boxed frame shows "Every object is boxed" unticked (the Annotator, where a person
    #: boxes what they know); ``False`` starts it ticked (Review, where every box is on show)
    shows_partial = True

    def __init__(self, project: Project, frames: Iterable[int], *,
                 clock: Callable[[], float] | None = None, tracks: bool | None = None) -> None:
        self.project = project
        #: boxes name their objects (a track per object; labels like "pedestrian #3"):
        #: by default when the project already has tracks
        self.tracks = _has_tracks(project) if tracks is None else bool(tracks)
        self.frames: list[int] = [int(f) for f in frames]
        self.position = 0
        #: frame -> the latest :class:`SubmitResult` recorded through this widget
        self.results: dict[int, SubmitResult] = {}
        #: frame -> ``"ok"`` (no action needed), ``"fixed"`` (cost actions) or ``"skipped"``
        self.states: dict[int, str] = {}
        self.status = StatusArea()
        self._guard = Guard(self.status, clock=clock or time.monotonic)
        self._listeners: list[Callable[[FrameStepper], None]] = []

        self.bbox = BBoxWidget(classes=self._label_choices(), label=project.classes[0])
        self.bbox.on_submit(lambda: self._ui(self.submit, debounce=True))
        self.bbox.on_skip(lambda: self._ui(self.skip, debounce=True))
        self.header = W.HTML()
        self.back_button = W.Button(description="Back", icon="arrow-left", tooltip="previous frame")
        self.absent_button = W.Button(description="Object absent", icon="ban",
                                      tooltip="nothing to box in this frame (1 action)")
        #: unticked: only some objects of the frame are boxed (several objects per clip); the
        #: model then learns those without taking the rest of the frame for background
        self.complete_box = W.Checkbox(value=True, description="Every object is boxed",
                                       indent=False, layout=W.Layout(width="auto"),
                                       tooltip="untick when you boxed only some of the objects: "
                                               "the model proposes the others for review")
        self.back_button.on_click(lambda _: self._ui(self.back))
        self.absent_button.on_click(lambda _: self._ui(self.mark_absent, debounce=True))

        #: a clip frame on show for a look only (not in :attr:`frames`), or ``None``
        self.browsing: int | None = None
        #: the part of the frame on show (zoomed in for small objects)
        self.view = ZoomView()
        self._offscreen: list[dict[str, Any]] = []  # boxes outside the zoomed view, frame pixels
        self._shown: int | None = None
        self._syncing = False
        last = max(project.n_frames - 1, 0)
        self.scrubber = W.IntSlider(value=0, min=0, max=last, description="Clip frame",
                                    continuous_update=False, layout=W.Layout(width="55%"))
        self.scrubber.observe(self._on_scrub, names="value")
        #: plays the clip from the frame on show, a frame every 250 ms (in the browser; it moves
        #: the scrubber, so each frame is shown as a scrub would show it)
        self.play = W.Play(value=0, min=0, max=last, step=1, interval=250,
                           tooltip="play the clip from here", layout=W.Layout(width="auto"))
        self._play_link = W.jslink((self.play, "value"), (self.scrubber, "value"))
        small = W.Layout(width="auto")
        self.previous_frame_button = W.Button(icon="step-backward",
                                              tooltip="look at the previous clip frame",
                                              layout=small)
        self.next_frame_button = W.Button(icon="step-forward",
                                          tooltip="look at the next clip frame", layout=small)
        self.box_here_button = W.Button(description="Box this frame", icon="pencil",
                                        tooltip="label the clip frame on show "
                                                "(add it to this list)")
        self.previous_frame_button.on_click(lambda _: self._ui(lambda: self.scrub_by(-1)))
        self.next_frame_button.on_click(lambda _: self._ui(lambda: self.scrub_by(1)))
        self.box_here_button.on_click(lambda _: self._ui(self.box_this_frame))
        self.zoom_buttons = W.ToggleButtons(
            options=[(f"{f}x", f) for f in (1, 2, 4, 8)], value=1, description="Zoom",
            tooltips=["whole frame", "2x", "4x", "8x: for objects a few pixels tall"],
            style={"button_width": "3.2em"},
        )
        self.zoom_buttons.observe(self._on_zoom, names="value")
        self._pan_buttons = []
        for icon, dx, dy in (("arrow-left", -0.5, 0), ("arrow-up", 0, -0.5),
                             ("arrow-down", 0, 0.5), ("arrow-right", 0.5, 0)):
            button = W.Button(icon=icon, tooltip="move the zoomed view", layout=small)
            button.on_click(lambda _, dx=dx, dy=dy: self._ui(lambda: self.pan(dx, dy)))
            self._pan_buttons.append(button)
        self.ui = W.VBox(layout=W.Layout(width="100%"))
        self.ui.add_class("microlab-widget")

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # what text-only frontends and saved notebooks show
        return bundle

    def _build(self) -> None:
        scrub_row = W.HBox([self.play, self.previous_frame_button, self.scrubber,
                            self.next_frame_button, self.box_here_button])
        zoom_row = W.HBox([self.zoom_buttons, *self._pan_buttons])
        self.ui.children = [self.header, *self._extra_children(), scrub_row, zoom_row, self.bbox,
                            W.HBox(self._buttons()), self.status.widget]
        self._show()

    def _extra_children(self) -> list[W.Widget]:
        return []

    def _buttons(self) -> list[W.Widget]:
        return [self.back_button, self.absent_button, *([self.complete_box] if self.tracks else [])]

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
    def shown_frame(self) -> int | None:
        """The clip frame on the drawing: the one being browsed, else the current one."""
        return self.browsing if self.browsing is not None else self.frame

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """The boxes on the drawing now, as ``{"xyxy": [x0, y0, x1, y1], "label": name}`` in
        frame pixels (whatever the zoom), including boxes outside a zoomed view."""
        return bbox_widget_to_boxes([*self.view.to_frame(self.bbox.bboxes), *self._offscreen])

    @boxes.setter
    @reported
    def boxes(self, boxes: Iterable[Any]) -> None:
        self._draw_boxes(xyxy_to_bbox_widget(list(boxes), self.project.classes))

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
        wanted = self.boxes
        proposals = self._propose_identities(frame, wanted) if self.tracks else []
        complete = self.complete_box.value or not self.tracks
        result = self.project.submit(frame, wanted, complete=complete)
        self._recorded(frame, result, "saved")
        if proposals:
            self.bbox.classes = self._label_choices()
            self.status.info(self.status.text + " Identities proposed: " + "; ".join(proposals)
                             + ". Pick another label (class #track) and submit again if one "
                             "is wrong.")
        return result

    def _label_choices(self) -> list[str]:
        """The drawing's labels: each class (a new object) and, with tracks, each known track
        of it ("pedestrian #3")."""
        classes = list(self.project.classes)
        if not self.tracks:
            return classes
        known: dict[int, set[int]] = {}
        for label in self.project.store.labels().values():
            for b in label.boxes:
                if b.track_id is not None:
                    known.setdefault(b.class_id, set()).add(int(b.track_id))
        return [name for c, name in enumerate(classes)
                for name in [name, *(identity_label(name, t) for t in sorted(known.get(c, ())))]]

    def _propose_identities(self, frame: int, wanted: list[dict[str, Any]]) -> list[str]:
        """Give each box without a track the identity the engine proposes (the nearest track
        of its class on nearby labelled frames, else a new one); returns what was proposed."""
        from microlab.multi.association import propose_track

        labelled = {f: lab.detections() for f, lab in self.project.store.labels().items()
                    if f != frame}
        taken = [int(b["track"]) for b in wanted if "track" in b]  # boxes that name theirs
        out = []
        for b in wanted:
            if "track" in b:
                continue
            cls = self.project.class_id(b["label"])
            track, why = propose_track(labelled, frame, b["xyxy"], cls, taken=taken)
            b["track"] = track
            taken.append(track)
            x0, y0 = (round(v) for v in b["xyxy"][:2])
            out.append(f"box at ({x0}, {y0}): {why}")
        return out

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
        if self.browsing is not None:
            self.browsing = None  # back from a look at another frame: to the current one
            self._show()
            return
        if self.position == 0:
            self.status.info("This is the first frame.")
            return
        self.position -= 1
        self._show()

    @reported
    def next(self) -> None:
        """Show the next frame without recording anything."""
        self.browsing = None
        if self.done:
            return
        self.position += 1
        self._show()

    @reported
    def go_to(self, frame: int) -> None:
        """Show ``frame`` (one of this widget's frames)."""
        if frame not in self.frames:
            raise AnnotationError(
                f"frame {frame} is not in this widget's frames {self.frames}; "
                "box_this_frame(frame) adds a clip frame to them"
            )
        self.browsing = None
        self.position = self.frames.index(frame)
        self._show()

    # ------------------------------------------------------------------ the scrubber
    @reported
    def scrub_to(self, frame: int) -> None:
        """Look at any clip frame (nothing is recorded); :meth:`box_this_frame` then labels it."""
        frame = self._clip_frame(frame)
        self.browsing = None if frame == self.frame else frame
        self._show()

    @reported
    def scrub_by(self, step: int) -> None:
        """Look ``step`` frames later in the clip (earlier when negative)."""
        here = self.shown_frame
        if here is None:
            here = self.frames[-1] if self.frames else 0
        self.scrub_to(int(np.clip(here + int(step), 0, self.project.n_frames - 1)))

    @reported
    def box_this_frame(self, frame: int | None = None) -> None:
        """Label the frame on show (or clip frame ``frame``): it joins this widget's frames at
        the current place and opens for drawing, absent or skip like the others."""
        if frame is None:
            frame = self.shown_frame
            if frame is None:
                raise AnnotationError("no frame on show: scrub_to(frame) picks one first")
        frame = self._clip_frame(frame)
        self.browsing = None
        self._take(frame)
        self.status.info(f"Frame {frame} is open for labelling: draw its boxes and press Enter, "
                         "or 'Object absent'.")

    def _take(self, frame: int) -> None:
        if frame in self.frames:
            self.position = self.frames.index(frame)
        else:
            self.frames.insert(self.position, frame)
        self._show()

    def _clip_frame(self, frame: Any) -> int:
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
            raise FrameIndexError("frame index must be an int, but got "
                                  f"{type(frame).__name__} {frame!r}")
        if not 0 <= int(frame) < self.project.n_frames:
            raise FrameIndexError(f"frame {frame} is out of range: "
                                  f"the clip has frames 0..{self.project.n_frames - 1}")
        return int(frame)

    def _on_scrub(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._ui(lambda: self.scrub_to(int(change["new"])))

    # ------------------------------------------------------------------ zoom
    @reported
    def zoom(self, factor: int, centre: tuple[float, float] | None = None) -> None:
        """Show the frame ``factor`` times larger (1 = the whole frame), centred on ``centre``
        (frame pixels; default: the first box on show, else the nearest human box in time, else
        the middle).  Boxes drawn while zoomed are stored in frame pixels."""
        boxes = [*self.view.to_frame(self.bbox.bboxes), *self._offscreen]
        if centre is None:
            centre = self._zoom_centre(boxes)
        self.view = ZoomView.around(centre, factor, self.project.frame_size)  # checks factor
        self._sync_zoom_buttons()
        self._draw_image(self.shown_frame)
        self._draw_boxes(boxes)
        self.header.value = self._header_html(self.frame)

    @reported
    def pan(self, dx: float, dy: float) -> None:
        """Move a zoomed view by ``dx``, ``dy`` view widths/heights (0.5 = half a view)."""
        if self.view.factor == 1:
            self.status.info("Zoom in first (2x, 4x or 8x) to move the view.")
            return
        size = self.project.frame_size
        w, h = self.view.size(size)
        cx, cy = self.view.centre(size)
        self.zoom(self.view.factor, (cx + dx * w, cy + dy * h))

    def _zoom_centre(self, boxes: list[dict[str, Any]], *,
                     keep_view: bool = True) -> tuple[float, float]:
        """Where a zoomed view goes: the first box on show, else (``keep_view``) where the view
        already is, else the nearest human box in time (small objects move little between
        frames), else the frame's middle."""
        width, height = self.project.frame_size
        if boxes:
            b = boxes[0]
            return (float(b["x"]) + float(b["width"]) / 2, float(b["y"]) + float(b["height"]) / 2)
        if keep_view and self.view.factor > 1:
            return self.view.centre((width, height))
        shown = self.shown_frame
        human = {f: d for f, d in self.project.human_labels().items() if len(d)}
        if shown is not None and human:
            nearest = min(human, key=lambda f: abs(f - shown))
            x0, y0, x1, y1 = human[nearest].xyxy[0]
            return ((x0 + x1) / 2, (y0 + y1) / 2)
        if self.view.factor > 1:
            return self.view.centre((width, height))
        return (width / 2, height / 2)

    def _on_zoom(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] != self.view.factor:
            self._ui(lambda: self.zoom(int(change["new"])))

    def _sync_zoom_buttons(self) -> None:
        self._syncing = True
        try:
            if self.view.factor in [v for _, v in self.zoom_buttons.options]:
                self.zoom_buttons.value = self.view.factor
        finally:
            self._syncing = False
        for button in self._pan_buttons:
            button.disabled = self.view.factor == 1

    # ------------------------------------------------------------------ internals
    def _require_frame(self, what: str) -> int:
        if self.browsing is not None:
            raise AnnotationError(
                f"cannot {what}: clip frame {self.browsing} is only on show for a look. Press "
                f"'Box this frame' (box_this_frame()) to label it, or Back to return to "
                + ("the list." if self.frame is None else f"frame {self.frame}.")
            )
        frame = self.frame
        if frame is None:
            raise StateError(
                f"cannot {what}: all {len(self.frames)} frames are done (use back() to revisit, "
                "or the scrubber and 'Box this frame' to label another)"
            )
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
        self.browsing = None
        self.position += 1
        self._show()

    def _ui(self, action: Callable[[], Any], *, debounce: bool = False) -> None:
        if debounce and self._guard.too_soon():
            self.status.info("Ignored a key press that came right after "
                             "the frame changed; press again.")
            return
        self._guard.run(action)

    def _show(self) -> None:
        try:
            self._render()
        finally:
            # The debounce counts from when the new frame is on show, not from when drawing it
            # began: on a loaded machine drawing takes a while, and a key pressed while the old
            # frame was still visible must not act on the new one.
            self._guard.mark_change()

    def _render(self) -> None:
        frame = self.frame
        shown = self.shown_frame
        looking = self.browsing is not None
        self.back_button.disabled = self.position == 0 and not looking
        self.absent_button.disabled = frame is None or looking
        self.box_here_button.disabled = shown is None or not looking
        if shown is not None:
            self._syncing = True
            try:
                self.scrubber.value = shown
            finally:
                self._syncing = False
        # When every frame is answered the drawing is hidden: a last frame left on show would
        # look like an open question.
        self.bbox.layout.display = "none" if shown is None else None
        if shown is None:
            self._shown = None
            self._offscreen = []
            with self.bbox.hold_sync():
                self.bbox.selected_index = -1
                self.bbox.view_only = True
                self.bbox.bboxes = []
            self.header.value = self._header_html(None)
            self._after_show(None)
            return
        try:
            label = self.project.label(shown)
            boxes = boxes_to_bbox_widget(label.boxes, self.project.classes, tracks=self.tracks)
            self.complete_box.value = label.complete or not self.shows_partial
        except MicrolabError as exc:
            self.status.error(exc)
            boxes = []
        if shown != self._shown and self.view.factor > 1:
            # A new frame at a zoom: follow the object (its box here, or the nearest human box).
            self.view = ZoomView.around(self._zoom_centre(boxes, keep_view=False),
                                        self.view.factor, self.project.frame_size)
        self._shown = shown
        self._sync_zoom_buttons()
        # A look at another frame is view-only: drawing there would be saved on the wrong frame.
        self.bbox.view_only = looking
        self._draw_image(shown)
        self._draw_boxes(boxes)
        self.header.value = self._header_html(frame)
        self._after_show(frame)

    def _draw_image(self, frame: int | None) -> None:
        if frame is None:
            return
        try:
            image = encode_image(self.view.crop(self.project.frame(frame)))
        except MicrolabError as exc:  # a frame that cannot be read must not hide the widget
            self.status.error(exc)
            image = b""
        self.bbox.image_bytes = image

    def _draw_boxes(self, boxes: list[dict[str, Any]]) -> None:
        """Put boxes (``BBoxWidget`` dicts in frame pixels) on the drawing, through the zoom."""
        size = self.project.frame_size
        visible: list[dict[str, Any]] = []
        self._offscreen = []
        for b in boxes:
            xyxy = (b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"])
            (visible if self.view.shows(xyxy, size) else self._offscreen).append(b)
        # One message, selection cleared first: the drawing must not keep a box selected that
        # the new list no longer has (it would stay drawn on the next frame).  A new list is
        # assigned: mutating the synced list in place would not reach the browser.
        with self.bbox.hold_sync():
            self.bbox.selected_index = -1
            self.bbox.bboxes = self.view.to_view(visible)

    def _after_show(self, frame: int | None) -> None:
        pass

    def _header_html(self, frame: int | None) -> str:
        totals = self.project.action_totals()
        work = (f"{plural(totals['actions'], 'action')} so far ({self.session_actions} here), "
                f"{plural(totals['frames_viewed'], 'frame')} viewed")
        zoom = f" &middot; zoom {self.view.factor}x" if self.view.factor > 1 else ""
        if self.browsing is not None:
            return (f"<b>{html.escape(self.title)}</b> &mdash; "
                    f"looking at clip frame {self.browsing} of {self.project.n_frames} (not in "
                    "this list: <i>Box this frame</i> labels it, "
                    f"<i>Back</i> returns){zoom} &middot; {work}")
        if frame is None:
            return (f"<b>{html.escape(self.title)}</b> &mdash; all {len(self.frames)} frames done "
                    f"&middot; {work}")
        return (f"<b>{html.escape(self.title)}</b> &mdash; frame {self.position + 1} of "
                f"{len(self.frames)} (clip frame {frame} of {self.project.n_frames}){zoom} "
                f"&middot; {work}")


def _has_tracks(project: Project) -> bool:
    """True when any stored box names its object."""
    return any(b.track_id is not None for label in project.store.labels().values()
               for b in label.boxes)
