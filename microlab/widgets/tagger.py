"""Tagger: frame classification (tags) in a notebook cell (TagDashboard is in tag_dashboard).

>>> tagger = Tagger(project)        # the first frames to tag, then (after a step) the review queue
>>> tagger                          # keys 1-9 tag, Enter accepts the machine's tag, Left/Right move
>>> tagger.tag("beach")             # the same from code: 1 action (0 when the machine said beach)
>>> TagDashboard(project, truth=clip.tags)   # where the tags stand, on a timeline of the clip

Both are thin views over :class:`~microlab.tagging.TagProject`: every answer goes through its
verbs (:meth:`~microlab.tagging.TagProject.answer`, :meth:`~microlab.tagging.TagProject.accept`)
and is committed to the project file before the status line acknowledges it; every number
comes from the engine.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as W
import numpy as np
import traitlets

from microlab import plots
from microlab.errors import AnnotationError, FrameIndexError, MicrolabError, StateError
from microlab.frames import thumbnail
from microlab.sampling import ReviewItem
from microlab.widgets._common import (
    Guard,
    StatusArea,
    encode_image,
    plural,
    reported,
    thumbnail_bytes,
)

if TYPE_CHECKING:

    from microlab.tagging import TagLabels, TagProject

#: the keys that tag (the first nine classes); Enter accepts, Left/Right move
CLASS_KEYS = tuple("123456789")
_NAV_KEYS = {"ArrowLeft": "previous", "Left": "previous", "ArrowRight": "next", "Right": "next"}
#: what the browser sends to Python while the Tagger has the keyboard: every digit (an unknown
#: class key is refused in the status line, and must not reach JupyterLab, where a digit turns
#: the cell into a heading), Enter and the arrows
_CAPTURED = [*"0123456789", "Enter", "ArrowLeft", "ArrowRight"]
MAIN_SIDE = 960  # frames are sent to the browser at most this wide or tall

# A tiny front end: the frame on show, focusable, whose key presses go to Python as messages.
# It also keeps the keyboard away from the Tagger's buttons: a button pressed with the mouse
# does not take the focus (Enter would press it again), and keys aimed at one come here.
_ESM = r"""
const EDITABLE = "input, textarea, select, [contenteditable=''], [contenteditable='true']";

function render({ model, el }) {
  el.classList.add("microlab-keys");
  el.tabIndex = 0;
  const img = document.createElement("img");
  img.alt = "frame";
  const hint = document.createElement("div");
  hint.className = "microlab-keys-hint";
  el.append(img, hint);
  let url = null;
  const show = () => {
    const data = model.get("image");
    if (url) URL.revokeObjectURL(url);
    url = data && data.byteLength ? URL.createObjectURL(new Blob([data], { type: "image/jpeg" }))
                                  : null;
    img.src = url || "";
    img.style.display = url ? "" : "none";
    img.style.width = model.get("display_width");
    hint.textContent = model.get("hint");
  };
  const focus = () => el.focus({ preventScroll: true });
  const onKey = (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.shiftKey) return;
    if (!model.get("key_names").includes(e.key)) return;
    const target = e.target instanceof Element ? e.target : null;
    if (target && target.closest(EDITABLE)) return;  // typing in a text box
    if (target && target.closest("[role=slider]") && e.key.startsWith("Arrow")) return;
    e.preventDefault();
    e.stopPropagation();  // not to JupyterLab's shortcuts, not to a focused button
    if (e.repeat && !e.key.startsWith("Arrow")) return;  // a held key answers once
    model.send({ type: "key", key: e.key });
  };
  const onMouseDown = (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target || target.closest(EDITABLE) || target.closest("[role=slider], .noUi-target")) {
      return;
    }
    if (target.closest("button")) e.preventDefault();  // the click still happens, focus stays
    setTimeout(focus, 0);
  };
  // The whole Tagger box listens (once it is in the page), else only this element.
  let root = null;
  let tries = 0;
  const attach = () => {
    if (!el.isConnected && tries++ < 100) {
      setTimeout(attach, 50);
      return;
    }
    root = el.closest(".microlab-tagger") || el;
    root.addEventListener("keydown", onKey, true);
    root.addEventListener("mousedown", onMouseDown, true);
    if (model.get("autofocus")) focus();
  };
  attach();
  const onMsg = (msg) => { if (msg && msg.type === "focus") focus(); };
  model.on("change:image", show);
  model.on("change:hint", show);
  model.on("change:display_width", show);
  model.on("msg:custom", onMsg);
  show();
  return () => {
    if (url) URL.revokeObjectURL(url);
    if (root) {
      root.removeEventListener("keydown", onKey, true);
      root.removeEventListener("mousedown", onMouseDown, true);
    }
    model.off("change:image", show);
    model.off("change:hint", show);
    model.off("change:display_width", show);
    model.off("msg:custom", onMsg);
  };
}
export default { render };
"""

_CSS = """
.microlab-keys { display: block; width: fit-content; align-self: flex-start; outline: none;
  border: 3px solid #d1d5db; border-radius: 4px; padding: 2px; max-width: 100%;
  box-sizing: border-box; }
.microlab-keys:focus { border-color: #2563eb; }
.microlab-keys img { display: block; max-width: 100%; height: auto; }
.microlab-keys-hint { font-size: 12px; color: #6b7280; padding: 2px 4px; }
.microlab-keys:focus .microlab-keys-hint { color: #1d4ed8; }
.microlab-keys:not(:focus) .microlab-keys-hint::after {
  content: "  (click the frame to use the keys)"; color: #9a6700; }
"""


class KeyImage(anywidget.AnyWidget):
    """The frame on show, which takes the keyboard: click it (or display it) and the keys in
    ``key_names`` come to Python as messages instead of reaching JupyterLab or a button.

    ``on_key(fn)`` calls ``fn(key)`` for each (usable as a decorator); :meth:`focus` asks the
    browser to give it the keyboard.
    """

    _esm = _ESM
    _css = _CSS
    image = traitlets.Bytes(b"").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    key_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    display_width = traitlets.Unicode("640px").tag(sync=True)
    autofocus = traitlets.Bool(True).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key_callbacks: list[Callable[[str], Any]] = []
        self.on_msg(self._on_msg)

    def on_key(self, callback: Callable[[str], Any]) -> Callable[[str], Any]:
        self._key_callbacks.append(callback)
        return callback

    def focus(self) -> None:
        self.send({"type": "focus"})

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "key":
            for callback in self._key_callbacks:
                callback(str(content.get("key", "")))


def _lighter(colour: str, amount: float = 0.55) -> str:
    """``colour`` mixed with white (button backgrounds that keep black text readable)."""
    import matplotlib.colors as mcolors

    r, g, b = (c + (1 - c) * amount for c in mcolors.to_rgb(colour))
    return mcolors.to_hex((r, g, b))


class Tagger:
    """Tag frames one at a time: the frame, one button per class, and the keyboard.

    Press **1**-**9** (or click "1 meadow", "2 beach", ...) to tag the frame on show, **Enter**
    to accept the machine's tag shown (0 actions), **Left**/**Right** for the previous/next
    frame of the list (nothing recorded).  In a multi-label project the class keys toggle and
    Enter (or *Save*) commits the tags selected.  Above the frame, a filmstrip of the
    neighbouring clip frames (each with its tag's colour; click one to look at it) and a
    scrubber (a slider over the whole clip, previous/next clip frame) reach any frame; a class
    key tags whatever frame is on show.  Click the frame once so the keys reach it.

    With ``frames=None`` the Tagger walks :meth:`TagProject.initial_frames` first; after a
    :meth:`TagProject.step`, *Next batch* (or Right at the end) walks
    :meth:`TagProject.review_queue`, each frame shown with the machine's tag preselected, its
    confidence and why it was picked.

    Every answer goes through :meth:`TagProject.answer` (a class key: 0 actions when it is the
    machine's tag, else 1) or :meth:`TagProject.accept` (Enter: 0), committed to the project
    file before the status line says "Saved"; errors from the engine show there in red.  The
    buttons and keys have methods, so code drives the widget where no browser is attached:
    :meth:`tag`, :meth:`accept`, :meth:`toggle`, :meth:`save`, :meth:`next`, :meth:`previous`,
    :meth:`go`, :meth:`scrub_by`, :meth:`next_batch`, :meth:`press`.

    Args:
        project: the :class:`~microlab.tagging.TagProject` to tag.
        frames: the clip frames to walk; default the loop's (see above).
        k: how many first frames to propose before any prediction.
        n: review batch size (default: the project's).
        neighbours: filmstrip frames on each side of the frame on show.
        clock: seconds for the key-press debounce (default ``time.monotonic``; tests pass a
            fake one).
    """

    title = "Tagger"

    def __init__(self, project: TagProject, frames: Iterable[int] | None = None, *, k: int = 5,
                 n: int | None = None, neighbours: int = 4,
                 clock: Callable[[], float] | None = None) -> None:
        self.project = project
        self.k = k
        self.n = n
        self.classes: list[str] = list(project.classes)
        self.multi_label = bool(project.multi_label)
        self.colours = plots.tag_colours(len(self.classes))
        self.status = StatusArea()
        self._guard = Guard(self.status, clock=clock or time.monotonic)
        self._listeners: list[Callable[[Tagger], None]] = []
        #: frame -> ``(class ids, actions)`` of the answers given through this widget
        self.answers: dict[int, tuple[tuple[int, ...], int]] = {}
        #: the frames walked, the place in them, and the clip frame on show (``None``: done)
        self.frames: list[int] = []
        self.position = 0
        self.shown: int | None = None
        #: frame -> why the loop proposed it (review batches)
        self.items: dict[int, ReviewItem] = {}
        #: ``"first frames"``, ``"review"`` or ``"given frames"``
        self.mode = "given frames"
        self._batch_iteration = project.iteration
        #: multi-label: the tags selected on the frame on show (saved by Enter / Save)
        self.selected: set[int] = set()
        self._selected_for: int | None = None
        self._thumbs: OrderedDict[int, bytes] = OrderedDict()
        self._prediction: tuple[int, dict[str, np.ndarray] | None] | None = None
        self._syncing = False

        self.header = W.HTML()
        self.info = W.HTML()
        self.surface = KeyImage(key_names=list(_CAPTURED), hint=self._hint())
        self.surface.on_key(self._on_key)
        self.class_buttons: list[W.Button] = []
        for i, name in enumerate(self.classes):
            key = CLASS_KEYS[i] if i < len(CLASS_KEYS) else None
            button = W.Button(description=f"{key} {name}" if key else name,
                              tooltip=(f"{'toggle' if self.multi_label else 'tag'} {name}"
                                       + (f" (key {key})" if key else "")),
                              layout=W.Layout(width="auto"))
            button.style.button_color = _lighter(self.colours[i])
            button.on_click(lambda _, i=i: self._ui(lambda: self._class_key(i), debounce=True))
            self.class_buttons.append(button)
        self.save_button = W.Button(description="Save (Enter)", icon="save",
                                    button_style="primary",
                                    tooltip="save the tags selected (0 actions when they are "
                                            "the machine's, else 1)")
        self.accept_button = W.Button(description="Accept (Enter)", icon="check",
                                      button_style="success",
                                      tooltip="the machine's tag is right (0 actions)")
        self.previous_button = W.Button(description="Previous", icon="arrow-left",
                                        tooltip="previous frame of the list (key Left)")
        self.next_button = W.Button(description="Next", icon="arrow-right",
                                    tooltip="next frame of the list, nothing recorded "
                                            "(key Right)")
        self.batch_button = W.Button(description="Next batch", icon="forward",
                                     tooltip="the loop's next frames: the review queue after a "
                                             "step, else more first frames")
        for button in (self.save_button, self.accept_button, self.previous_button,
                       self.next_button, self.batch_button):
            button.layout.width = "auto"
        self.save_button.on_click(lambda _: self._ui(self.save, debounce=True))
        self.accept_button.on_click(lambda _: self._ui(self.accept, debounce=True))
        self.previous_button.on_click(lambda _: self._ui(self.previous))
        self.next_button.on_click(lambda _: self._ui(self.next))
        self.batch_button.on_click(lambda _: self._ui(self.next_batch))

        last = max(project.n_frames - 1, 0)
        self.scrubber = W.IntSlider(value=0, min=0, max=last, description="Clip frame",
                                    continuous_update=False, layout=W.Layout(width="55%"))
        self.scrubber.observe(self._on_scrub, names="value")
        small = W.Layout(width="auto")
        self.previous_frame_button = W.Button(icon="step-backward", layout=small,
                                              tooltip="look at the previous clip frame")
        self.next_frame_button = W.Button(icon="step-forward", layout=small,
                                          tooltip="look at the next clip frame")
        self.previous_frame_button.on_click(lambda _: self._ui(lambda: self.scrub_by(-1)))
        self.next_frame_button.on_click(lambda _: self._ui(lambda: self.scrub_by(1)))

        self._film: list[tuple[W.VBox, W.Image, W.HTML, W.Button]] = []
        for _ in range(2 * max(int(neighbours), 0) + 1):
            image = W.Image(format="jpeg", layout=W.Layout(width="72px"))
            bar = W.HTML()
            button = W.Button(layout=W.Layout(width="72px"))
            button.on_click(lambda b: self._ui(lambda: self.go(int(b.description))))
            cell = W.VBox([image, bar, button],
                          layout=W.Layout(margin="0 3px 0 0", padding="2px",
                                          border="3px solid transparent", min_width="82px"))
            self._film.append((cell, image, bar, button))
        self.filmstrip = W.HBox([c[0] for c in self._film],
                                layout=W.Layout(overflow="auto", width="100%"))
        self.filmstrip.add_class("microlab-filmstrip")

        answer_row = [*self.class_buttons,
                      self.save_button if self.multi_label else self.accept_button]
        self.ui = W.VBox([
            self.header,
            W.HBox([self.previous_frame_button, self.scrubber, self.next_frame_button]),
            self.filmstrip,
            self.surface,
            self.info,
            W.HBox(answer_row, layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.previous_button, self.next_button, self.batch_button]),
            self.status.widget,
        ], layout=W.Layout(width="100%"))
        self.ui.add_class("microlab-widget")
        self.ui.add_class("microlab-tagger")

        if frames is None:
            self._load_batch(progress=True)
        else:
            self.frames = list(dict.fromkeys(int(f) for f in frames))
            for f in self.frames:
                self._clip_frame(f)
            self.shown = self.frames[0] if self.frames else None
        self._show()
        if self.shown is None:
            self.status.info("Nothing to tag here: every proposed frame already has a tag. "
                             + self._next_step())
        else:
            keys = "toggle a tag, Enter saves" if self.multi_label else (
                "tag the frame, Enter accepts the machine's tag")
            self.status.info(f"Click the frame, then press {self._key_range()} to {keys}; "
                             "Left/Right move (nothing is recorded).")

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # what text-only frontends and saved notebooks show
        return bundle

    def __repr__(self) -> str:
        return (f"Tagger(frames={self.frames}, position={self.position}, shown={self.shown}, "
                f"actions={self.session_actions})")

    # ------------------------------------------------------------------ state
    @property
    def done(self) -> bool:
        """True once every frame of the list has been answered (or passed with Next)."""
        return self.position >= len(self.frames)

    @property
    def frame(self) -> int | None:
        """The clip frame on show (what a class key tags), ``None`` when done."""
        return self.shown

    @property
    def current(self) -> int | None:
        """The frame of the list at the current place, ``None`` when done."""
        return None if self.done else self.frames[self.position]

    @property
    def browsing(self) -> bool:
        """True while the frame on show is not the list's current one (a look with the
        scrubber or the filmstrip)."""
        return self.shown is not None and self.shown != self.current

    @property
    def session_actions(self) -> int:
        """Human actions recorded through this widget."""
        return sum(cost for _, cost in self.answers.values())

    def on_change(self, callback: Callable[[Tagger], None]) -> Callable[[Tagger], None]:
        """Call ``callback(tagger)`` after each recorded answer (usable as a decorator)."""
        self._listeners.append(callback)
        return callback

    # ------------------------------------------------------------------ answers
    @reported
    def tag(self, tags: str | int | Sequence[str | int]) -> int:
        """Tag the frame on show (a class name or id; several in a multi-label project), then
        move on.  Returns the actions spent: 0 when the tag is what the machine shows (an
        accept), else 1."""
        frame = self._require_frame("tag")
        return self._commit(frame, self.project.class_ids(tags))

    @reported
    def accept(self) -> int:
        """The machine's tag on show is right: record it (0 actions), then move on.  A frame a
        person already tagged keeps that tag (nothing recorded)."""
        frame = self._require_frame("accept")
        human = self.project.human_tags().get(frame)
        if human is not None:
            return self._unchanged(frame, human)
        self.project.accept(frame)  # the engine refuses a frame with no machine tag
        shown = self._machine(frame)
        return self._recorded(frame, shown[0] if shown else (), 0, accepted=True)

    @reported
    def toggle(self, tag: str | int) -> set[int]:
        """Multi-label: select or unselect a tag on the frame on show (Enter saves)."""
        frame = self._require_frame("toggle a tag")
        if not self.multi_label:
            raise AnnotationError("this project takes one tag per frame: tag(name) sets it; "
                                  "toggle() is for multi-label projects")
        (cid,) = self.project.class_ids(tag)
        self._sync_selection(frame)
        self.selected ^= {cid}
        self._render_buttons(frame)
        self.status.info(f"Frame {frame}: {self._names(sorted(self.selected))} selected; "
                         "Enter (Save) saves.")
        return set(self.selected)

    @reported
    def save(self) -> int:
        """Multi-label: save the tags selected on the frame on show (0 actions when they are
        the machine's, else 1), then move on."""
        frame = self._require_frame("save")
        if not self.multi_label:
            raise AnnotationError("this project takes one tag per frame: a class key (or "
                                  "tag(name)) saves it, Enter (accept()) keeps the machine's")
        self._sync_selection(frame)
        return self._commit(frame, self.project.class_ids(sorted(self.selected)))

    def _commit(self, frame: int, ids: tuple[int, ...]) -> int:
        human = self.project.human_tags().get(frame)
        if human == ids:
            return self._unchanged(frame, ids)
        shown = self._machine(frame)
        cost = self.project.answer(frame, ids)  # committed before it returns
        return self._recorded(frame, ids, cost,
                              accepted=cost == 0 and shown is not None and shown[0] == ids)

    def _recorded(self, frame: int, ids: Sequence[int], cost: int, *, accepted: bool) -> int:
        self.answers[frame] = (tuple(ids), cost)
        how = f"accepted, {plural(cost, 'action')}" if accepted else plural(cost, "action")
        self.status.success(f"Saved frame {frame}: {self._names(ids)} ({how}).")
        self._move_on(frame)
        for callback in self._listeners:
            callback(self)
        return cost

    def _unchanged(self, frame: int, ids: Sequence[int]) -> int:
        self.status.info(f"Frame {frame} is already tagged {self._names(ids)} by a person: "
                         "nothing recorded.")
        self._move_on(frame)
        return 0

    def _move_on(self, frame: int) -> None:
        """After an answer: the next frame of the list (or back to the list's current one
        after a look elsewhere)."""
        if not self.done and self.frames[self.position] == frame:
            self.position += 1
        self.shown = self.current
        if self.done and self.mode != "given frames" and (
                self.project.iteration > self._batch_iteration):
            # A step ran while this batch was open: its review queue is next.
            text, level = self.status.text, self.status.level
            self._load_batch()
            self.status.show(f"{text} {self._batch_text()}", level)
        elif self.done:
            self.status.show(f"{self.status.text} {self._done_text()}", self.status.level)
        self._show()

    # ------------------------------------------------------------------ navigation
    @reported
    def next(self) -> None:
        """The next frame of the list, nothing recorded (key Right).  After a look elsewhere:
        back to the list's frame; at the end: :meth:`next_batch`."""
        if self.browsing:
            self.shown = self.current
        elif self.done:
            self.next_batch()
            return
        else:
            self.position += 1
            self.shown = self.current
            if self.done:
                self.status.info(self._done_text())
        self._show()

    @reported
    def previous(self) -> None:
        """The previous frame of the list, nothing recorded (key Left).  After a look
        elsewhere: back to the list's frame."""
        if self.browsing:
            self.shown = self.current
        elif self.position == 0:
            self.status.info("This is the first frame of the list.")
            return
        else:
            self.position -= 1
            self.shown = self.current
        self._show()

    @reported
    def go(self, frame: int) -> None:
        """Show any clip frame (nothing recorded); a class key then tags it.  A frame of the
        list becomes the current place."""
        frame = self._clip_frame(frame)
        if frame in self.frames:
            self.position = self.frames.index(frame)
        self.shown = frame
        self._show()

    @reported
    def scrub_by(self, step: int) -> None:
        """Look ``step`` clip frames later (earlier when negative)."""
        here = self.shown
        if here is None:
            here = self.frames[-1] if self.frames else 0
        self.go(int(np.clip(here + int(step), 0, self.project.n_frames - 1)))

    @reported
    def next_batch(self) -> list[int]:
        """The loop's next frames: the review queue once a prediction exists (most likely
        wrong first), else more first frames to tag.  Returns them."""
        self._load_batch()
        self._show()
        self.status.info(self._batch_text())
        return list(self.frames)

    def _load_batch(self, *, progress: bool = False) -> None:
        self._batch_iteration = self.project.iteration
        if self._machine_arrays() is None:
            self.mode = "first frames"
            self.items = {}
            self.frames = list(self.project.initial_frames(self.k, progress=progress))
        else:
            self.mode = "review"
            queue = self.project.review_queue(self.n)
            self.items = {item.frame: item for item in queue}
            self.frames = [item.frame for item in queue]
        self.position = 0
        self.shown = self.current

    # ------------------------------------------------------------------ keys
    @reported
    def press(self, key: str) -> None:
        """What a key does: ``"1"``..``"9"`` tag (toggle, multi-label), ``"Enter"`` accepts
        (saves, multi-label), ``"ArrowLeft"``/``"ArrowRight"`` move."""
        if key in _NAV_KEYS:
            getattr(self, _NAV_KEYS[key])()
        elif key == "Enter":
            (self.save if self.multi_label else self.accept)()
        elif len(key) == 1 and key.isdigit():
            index = int(key) - 1
            if not 0 <= index < min(len(self.classes), len(CLASS_KEYS)):
                raise AnnotationError(f"key {key} is not a class key; the class keys are "
                                      f"{self._key_list()}")
            self._class_key(index)
        else:
            raise AnnotationError(f"key {key!r} does nothing here; the keys are "
                                  f"{self._key_list()}, Enter and Left/Right")

    def _class_key(self, index: int) -> None:
        (self.toggle if self.multi_label else self.tag)(index)

    def _on_key(self, key: str) -> None:
        """A key press from the browser: errors go to the status line, never raised into the
        comm; an answer key right after the frame changed is ignored (see ``DEBOUNCE_S``)."""
        self._ui(lambda: self.press(key), debounce=key not in _NAV_KEYS)

    def _ui(self, action: Callable[[], Any], *, debounce: bool = False) -> None:
        if debounce and self._guard.too_soon():
            self.status.info("Ignored a key press that came right after the frame changed; "
                             "press again.")
            return
        self._guard.run(action)

    # ------------------------------------------------------------------ rendering
    def _show(self) -> None:
        try:
            self._render()
        finally:
            self._guard.mark_change()  # the debounce counts from when the frame is on show

    def _render(self) -> None:
        frame = self.shown
        try:
            labels = self.project.labels()
        except MicrolabError as exc:
            self.status.error(exc)
            labels = None
        self.surface.layout.display = "none" if frame is None else None
        self.filmstrip.layout.display = "none" if frame is None else None
        if frame is not None:
            self._syncing = True
            try:
                self.scrubber.value = frame
            finally:
                self._syncing = False
            try:
                self.surface.image = encode_image(thumbnail(self.project.frame(frame),
                                                            MAIN_SIDE))
            except MicrolabError as exc:  # an unreadable frame must not hide the widget
                self.status.error(exc)
                self.surface.image = b""
            self._render_filmstrip(frame, labels)
        self._render_buttons(frame)
        self.previous_button.disabled = self.position == 0 and not self.browsing
        self.header.value = self._header_html()
        self.info.value = self._info_html(frame)

    def _render_buttons(self, frame: int | None) -> None:
        """Class buttons: a check on the frame's tags (a person's), a star on the machine's
        tag preselected; multi-label: a check on each tag selected."""
        shown = self._machine(frame) if frame is not None else None
        human = self.project.human_tags().get(frame) if frame is not None else None
        if self.multi_label and frame is not None:
            self._sync_selection(frame)
        for i, button in enumerate(self.class_buttons):
            button.disabled = frame is None
            if self.multi_label:
                on = frame is not None and i in self.selected
                button.icon = "check-square" if on else "square-o"
                bold = on
            else:
                mine = human is not None and i in human
                machine = human is None and shown is not None and i in shown[0]
                button.icon = "check" if mine else ("star" if machine else "")
                bold = mine or machine
            button.style.font_weight = "bold" if bold else "normal"
            button.layout.border = "2px solid #111" if bold else "2px solid transparent"
        self.save_button.disabled = frame is None
        self.accept_button.disabled = frame is None or (shown is None and human is None)

    def _render_filmstrip(self, frame: int, labels: TagLabels | None) -> None:
        n, width = self.project.n_frames, len(self._film)
        start = int(np.clip(frame - width // 2, 0, max(n - width, 0)))
        for j, (cell, image, bar, button) in enumerate(self._film):
            f = start + j
            cell.layout.display = None if f < n else "none"
            if f >= n:
                continue
            try:
                image.value = self._thumbnail(f)
            except MicrolabError:  # an unreadable frame still gets its cell
                image.value = b""
            button.description = str(f)
            button.tooltip = f"look at clip frame {f}"
            button.button_style = "info" if f == frame else ""
            cell.layout.border = "3px solid #111" if f == frame else "3px solid transparent"
            bar.value = self._bar_html(f, labels)

    def _bar_html(self, frame: int, labels: TagLabels | None) -> str:
        """A frame's tag as a coloured bar and a name: solid for a person's tag, paler the
        less confident a machine tag."""
        if labels is None:
            return ""
        ids = self._ids_of(labels.tags[frame])
        human = bool(labels.human[frame])
        opacity = 1.0 if human else 0.3 + 0.7 * float(np.clip(labels.confidence[frame], 0, 1))
        if ids:
            parts = "".join(f'<div style="flex:1;background:{self.colours[c]}"></div>'
                            for c in ids)
        else:
            parts = f'<div style="flex:1;background:{plots.UNTAGGED_COLOUR}"></div>'
        name = self._names(ids) if ids or human else "untagged"
        who = "&#10003; " if human else ""
        return (f'<div title="{html.escape(self._names(ids))}'
                f'{" (a person)" if human else f" (confidence {labels.confidence[frame]:.2f})"}">'
                f'<div style="display:flex;height:7px;opacity:{opacity:.2f}">{parts}</div>'
                f'<div style="font-size:10px;line-height:1.2;white-space:nowrap;overflow:hidden;'
                f'text-overflow:ellipsis;max-width:72px">{who}{html.escape(name)}</div></div>')

    def _header_html(self) -> str:
        totals = self.project.action_totals()
        work = (f"{plural(totals['actions'], 'action')} so far ({self.session_actions} here), "
                f"{plural(totals['frames_viewed'], 'frame')} viewed")
        title = f"<b>{html.escape(self.title)}</b>"
        n = self.project.n_frames
        if self.browsing:
            back = ("the list" if self.current is None
                    else f"frame {self.current} of the list")
            return (f"{title} &mdash; looking at clip frame {self.shown} of {n} (not in this "
                    f"list: a class key tags it; Right or Left returns to {back}) &middot; {work}")
        if self.shown is None:
            return (f"{title} &mdash; {self.mode}: all {len(self.frames)} frames done "
                    f"&middot; {work}")
        return (f"{title} &mdash; {self.mode}: frame {self.position + 1} of {len(self.frames)} "
                f"(clip frame {self.shown} of {n}) &middot; {work}")

    def _info_html(self, frame: int | None) -> str:
        if frame is None:
            return f"<div>{html.escape(self._done_text())}</div>"
        human = self.project.human_tags().get(frame)
        machine = self._machine(frame)
        parts = []
        if human is not None:
            parts.append(f"Tagged by a person: <b>{html.escape(self._names(human))}</b>")
            if machine is not None and machine[0] != human:
                parts.append(f"the machine said {html.escape(self._names(machine[0]))}")
        elif machine is not None:
            ids, confidence, kind = machine
            parts.append(f"Machine tag: <b>{html.escape(self._names(ids))}</b> "
                         f"(confidence {confidence:.2f}, {html.escape(kind)})")
            parts.append("Enter accepts it (0 actions)" if not self.multi_label
                         else "preselected: Enter saves (0 actions if unchanged)")
        else:
            parts.append("No machine tag yet: " + (
                "toggle its tags, then Enter (1 action)" if self.multi_label
                else "press its class key (1 action)"))
        item = self.items.get(frame)
        if item is not None:
            parts.append(f"why this frame: <i>{html.escape(item.reason)}</i> "
                         f"(doubt {item.priority:.2f})")
        return "<div>" + " &middot; ".join(parts) + "</div>"

    def _hint(self) -> str:
        answer = "Enter saves" if self.multi_label else "Enter accepts the machine's tag"
        return f"keys: {self._key_list()} · {answer} · Left/Right: previous/next frame"

    # ------------------------------------------------------------------ helpers
    def _done_text(self) -> str:
        what = "first frames" if self.mode == "first frames" else "frames"
        return (f"All {len(self.frames)} {what} done ({plural(self.session_actions, 'action')} "
                f"here). {self._next_step()}")

    def _next_step(self) -> str:
        if self.mode == "given frames":
            return "Next batch: the loop's frames."
        return ("Next: project.step() trains and tags every frame; then Next batch (or Right) "
                "shows the frames most likely wrong.")

    def _batch_text(self) -> str:
        if not self.frames:
            return (f"Nothing left to {'review' if self.mode == 'review' else 'tag'} in "
                    f"iteration {self.project.iteration}: run project.step() for new tags.")
        if self.mode == "review":
            return (f"Review batch of iteration {self.project.iteration}: "
                    f"{plural(len(self.frames), 'frame')}, most likely wrong first. Enter "
                    "accepts the machine's tag, a class key changes it.")
        return (f"{plural(len(self.frames), 'more frame')} to tag first (or run project.step() "
                "to train on the tags so far).")

    def _key_list(self) -> str:
        return ", ".join(f"{CLASS_KEYS[i]} {c}" for i, c in enumerate(self.classes[:9]))

    def _key_range(self) -> str:
        return f"1-{min(len(self.classes), 9)}"

    def _names(self, ids: Iterable[int]) -> str:
        names = [self.classes[int(i)] for i in ids]
        return " + ".join(names) if names else "no tag"

    @staticmethod
    def _ids_of(row: np.ndarray) -> tuple[int, ...]:
        row = np.asarray(row)
        if row.ndim == 0:
            return () if int(row) < 0 else (int(row),)
        return tuple(int(c) for c in np.flatnonzero(row))

    def _machine_arrays(self) -> dict[str, np.ndarray] | None:
        """The latest prediction (read once per iteration)."""
        iteration = self.project.iteration
        if self._prediction is None or self._prediction[0] != iteration:
            self._prediction = (iteration, self.project.prediction())
        return self._prediction[1]

    def _machine(self, frame: int) -> tuple[tuple[int, ...], float, str] | None:
        """``(class ids, confidence, evidence)`` of the machine's tag of a frame, if any."""
        arrays = self._machine_arrays()
        if arrays is None:
            return None
        return (self._ids_of(arrays["tags"][frame]), float(arrays["confidence"][frame]),
                str(arrays["kinds"][frame]))

    def _sync_selection(self, frame: int) -> None:
        """Multi-label: a frame newly on show starts with its person's tags, else the
        machine's."""
        if self._selected_for == frame:
            return
        human = self.project.human_tags().get(frame)
        machine = self._machine(frame)
        self.selected = set(human if human is not None else machine[0] if machine else ())
        self._selected_for = frame

    def _thumbnail(self, frame: int) -> bytes:
        if frame not in self._thumbs:
            self._thumbs[frame] = thumbnail_bytes(self.project.frame(frame), 120)
            while len(self._thumbs) > 256:
                self._thumbs.popitem(last=False)
        return self._thumbs[frame]

    def _require_frame(self, what: str) -> int:
        if self.shown is None:
            raise StateError(f"cannot {what}: all {len(self.frames)} frames of the list are "
                             "done (Previous revisits one, the scrubber shows any clip frame, "
                             "Next batch asks the loop for more)")
        return self.shown

    def _clip_frame(self, frame: Any) -> int:
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
            raise FrameIndexError("frame index must be an int, but got "
                                  f"{type(frame).__name__} {frame!r}")
        if not 0 <= int(frame) < self.project.n_frames:
            raise FrameIndexError(f"frame {frame} is out of range: the clip has frames "
                                  f"0..{self.project.n_frames - 1}")
        return int(frame)

    def _on_scrub(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self._ui(lambda: self.go(int(change["new"])))


__all__ = ["CLASS_KEYS", "KeyImage", "Tagger"]
