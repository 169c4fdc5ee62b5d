"""Shared parts of the widgets: frame images, box conversions, the status area, error display.

Nothing here decides anything about labels: boxes go to :meth:`Project.submit` and the engine
decides what they cost.
"""

from __future__ import annotations

import functools
import html
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import cv2
import ipywidgets as W
import numpy as np

from microlab.boxes import class_index
from microlab.errors import AnnotationError, MicrolabError, SettingsError
from microlab.frames import thumbnail
from microlab.store import BoxRecord

log = logging.getLogger("microlab.widgets")

T = TypeVar("T")

#: UI events (Enter, Space, clicks) arriving this soon after a new frame appeared are ignored:
#: a key pressed twice quickly would otherwise act on the next frame before the person saw it.
DEBOUNCE_S = 0.35


# ---------------------------------------------------------------------- images
def encode_image(image: np.ndarray, *, fmt: str = "jpeg", quality: int = 90) -> bytes:
    """An RGB ``uint8`` frame as JPEG or PNG bytes (what ``BBoxWidget.image_bytes`` and
    ``ipywidgets.Image`` display)."""
    ext = {"jpeg": ".jpg", "jpg": ".jpg", "png": ".png"}.get(fmt)
    if ext is None:
        raise SettingsError(f"fmt must be 'jpeg' or 'png', but got {fmt!r}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext == ".jpg" else []
    ok, data = cv2.imencode(ext, cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR),
                            params)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {image.shape} as {fmt}")
    return data.tobytes()


def thumbnail_bytes(image: np.ndarray, max_side: int = 120) -> bytes:
    """A small JPEG of a frame for filmstrips."""
    return encode_image(thumbnail(image, max_side), quality=80)


# ---------------------------------------------------------------------- boxes
#: How a drawing's label names an object: ``"pedestrian #3"`` is class pedestrian, track 3.
_IDENTITY = re.compile(r"^(?P<name>.+) #(?P<track>\d+)$")


def identity_label(class_name: str, track: int | None) -> str:
    """The drawing's label of a box: its class, and ``#track`` when it names its object."""
    return class_name if track is None else f"{class_name} #{int(track)}"


def boxes_to_bbox_widget(boxes: Iterable[BoxRecord], classes: Sequence[str], *,
                         tracks: bool = False) -> list[dict[str, Any]]:
    """Stored boxes as ``BBoxWidget`` dicts ``{x, y, width, height, label}`` in image pixels;
    with ``tracks``, a label also names the box's object (``"pedestrian #3"``)."""
    out = []
    for b in boxes:
        x0, y0, x1, y1 = (float(v) for v in b.xyxy)
        label = identity_label(classes[b.class_id], b.track_id if tracks else None)
        out.append({"x": round(x0, 2), "y": round(y0, 2), "width": round(x1 - x0, 2),
                    "height": round(y1 - y0, 2), "label": label})
    return out


def bbox_widget_to_boxes(bboxes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``BBoxWidget`` dicts as ``{"xyxy", "label"}`` dicts for :meth:`Project.submit`, with
    ``"track"`` when the label names an object (``"pedestrian #3"``).

    Coordinates pass through unchanged (the engine checks them against ``image_size``, clipping
    within a pixel and naming the box otherwise); a box with no label gets class 0.
    """
    out = []
    for b in bboxes:
        try:
            x, y, w, h = (float(b[k]) for k in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(
                f"a drawn box needs numeric x, y, width and height, but got {dict(b)!r}"
            ) from exc
        # The drawing surface allows negative width/height while dragging up or left.
        x0, x1 = sorted((x, x + w))
        y0, y1 = sorted((y, y + h))
        label = b.get("label") or 0
        named = _IDENTITY.match(label) if isinstance(label, str) else None
        if named:
            out.append({"xyxy": [x0, y0, x1, y1], "label": named["name"],
                        "track": int(named["track"])})
        else:
            out.append({"xyxy": [x0, y0, x1, y1], "label": label})
    return out


def xyxy_to_bbox_widget(boxes: Iterable[Any], classes: Sequence[str]) -> list[dict[str, Any]]:
    """Boxes given by a caller (``xyxy`` sequences or ``{"xyxy", "label"}`` dicts) as
    ``BBoxWidget`` dicts; ``label`` may be a class name or id."""
    out = []
    for item in boxes:
        if isinstance(item, Mapping) and {"x", "y", "width", "height"} <= set(item):
            out.append({k: item[k] for k in ("x", "y", "width", "height")} | {
                "label": _class_name(item.get("label", 0), classes, item.get("track"))})
            continue
        if isinstance(item, Mapping):
            if "xyxy" not in item:
                raise AnnotationError("a box dict needs 'xyxy' (or x, y, width, height), "
                                      f"but got {dict(item)!r}")
            xyxy, label, track = item["xyxy"], item.get("label", 0), item.get("track")
        else:
            xyxy, label, track = item, 0, None
        arr = np.asarray(xyxy, dtype=float).reshape(-1)
        if arr.shape != (4,):
            raise AnnotationError(f"a box must be 4 numbers (x0, y0, x1, y1), but got {xyxy!r}")
        x0, y0, x1, y1 = arr.tolist()
        out.append({"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0,
                    "label": _class_name(label, classes, track)})
    return out


def _class_name(label: Any, classes: Sequence[str], track: Any = None) -> str:
    """The drawing's label for a class name or id (``"name #track"`` when a track is given or
    the label names one already)."""
    named = _IDENTITY.match(label) if isinstance(label, str) and label not in classes else None
    if named:
        label, track = named["name"], int(named["track"])
    return identity_label(classes[class_index(label, classes)], track)


@dataclass(frozen=True)
class ZoomView:
    """The part of a frame on show: ``factor`` times larger, its top-left corner at ``(x, y)``.

    Small objects (people 10-20 px tall in drone footage) are boxed on an enlarged crop; the
    boxes travel in frame pixels everywhere except on the drawing surface, so a box drawn at 4x
    is stored exactly where it is in the frame.
    """

    x: float = 0.0
    y: float = 0.0
    factor: int = 1

    @classmethod
    def around(cls, centre: tuple[float, float], factor: int,
               image_size: tuple[int, int]) -> ZoomView:
        """The view of ``factor`` centred on ``centre`` (frame pixels), kept inside the frame."""
        if factor not in ZOOM_FACTORS:
            raise AnnotationError(f"zoom must be one of {ZOOM_FACTORS}, but got {factor!r}")
        width, height = image_size
        view_w, view_h = width / factor, height / factor
        x = float(np.clip(centre[0] - view_w / 2, 0, width - view_w))
        y = float(np.clip(centre[1] - view_h / 2, 0, height - view_h))
        # Whole pixels: the crop is then exact and boxes convert without rounding drift.
        return cls(float(round(x)), float(round(y)), factor)

    def size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """Width and height of the crop, in frame pixels."""
        return (round(image_size[0] / self.factor), round(image_size[1] / self.factor))

    def centre(self, image_size: tuple[int, int]) -> tuple[float, float]:
        w, h = self.size(image_size)
        return (self.x + w / 2, self.y + h / 2)

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The visible part of ``image``, enlarged ``factor`` times (nearest pixel:
        edges stay sharp)."""
        if self.factor == 1:
            return image
        h, w = image.shape[:2]
        cw, ch = self.size((w, h))
        x0, y0 = int(self.x), int(self.y)
        part = image[y0:y0 + ch, x0:x0 + cw]
        return cv2.resize(part, (cw * self.factor, ch * self.factor),
                          interpolation=cv2.INTER_NEAREST)

    def shows(self, xyxy: Sequence[float], image_size: tuple[int, int]) -> bool:
        """True when the box overlaps the view (it is then drawn,
        possibly reaching past the edge)."""
        w, h = self.size(image_size)
        x0, y0, x1, y1 = xyxy
        return x1 > self.x and x0 < self.x + w and y1 > self.y and y0 < self.y + h

    def to_view(self, boxes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``BBoxWidget`` dicts in frame pixels -> on the enlarged crop."""
        f = self.factor
        return [dict(b, x=round((b["x"] - self.x) * f, 3), y=round((b["y"] - self.y) * f, 3),
                     width=round(b["width"] * f, 3), height=round(b["height"] * f, 3))
                for b in boxes]

    def to_frame(self, boxes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``BBoxWidget`` dicts on the enlarged crop -> in frame pixels."""
        f = self.factor
        return [dict(b, x=float(b["x"]) / f + self.x, y=float(b["y"]) / f + self.y,
                     width=float(b["width"]) / f, height=float(b["height"]) / f) for b in boxes]


ZOOM_FACTORS = (1, 2, 3, 4, 6, 8)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "action")`` -> ``"1 action"``; ``plural(3, "action")`` -> ``"3 actions"``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def describe_kinds(kinds: Sequence[str]) -> str:
    """``("accept",)`` -> ``"accepted"``; ``("correct", "draw")``
    -> ``"1 correction, 1 box drawn"``."""
    names = {"draw": ("box drawn", "boxes drawn"), "correct": ("correction", "corrections"),
             "delete": ("box deleted", "boxes deleted"),
             "absent": ("marked absent", "marked absent"),
             "accept": ("accepted", "accepted"), "skip": ("skipped", "skipped")}
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    parts = []
    for k, c in counts.items():
        one, many = names.get(k, (k, k))
        parts.append(one if k in ("accept", "skip", "absent") else f"{c} {one if c == 1 else many}")
    return ", ".join(parts) or "nothing"


# ---------------------------------------------------------------------- status
_COLOURS = {"info": "#555", "success": "#1a7f37", "busy": "#9a6700", "error": "#cf222e"}


class StatusArea:
    """One line of status under a widget; errors in red with their type, never hidden.

    ``text`` and ``level`` hold the latest message, ``history`` every message (for tests and
    for a person scrolling back in a headless run).
    """

    def __init__(self) -> None:
        self.widget = W.HTML(layout=W.Layout(min_height="1.6em"))
        self.widget.add_class("microlab-status")
        self.text = ""
        self.level = "info"
        self.history: list[tuple[str, str]] = []

    def show(self, text: str, level: str = "info") -> None:
        self.text, self.level = text, level
        self.history.append((level, text))
        colour = _COLOURS.get(level, "#555")
        weight = "bold" if level == "error" else "normal"
        self.widget.value = (
            f'<span class="microlab-status-{level}" style="color:{colour};font-weight:{weight}">'
            f"{html.escape(text)}</span>"
        )

    def info(self, text: str) -> None:
        self.show(text, "info")

    def success(self, text: str) -> None:
        self.show(text, "success")

    def busy(self, text: str) -> None:
        self.show(text, "busy")

    def error(self, exc: BaseException | str) -> None:
        if isinstance(exc, BaseException):
            text = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, MicrolabError):
                text += "  (unexpected: please report it with the traceback in the log)"
        else:
            text = exc
        self.show(text, "error")


def reported(method: Callable[..., T]) -> Callable[..., T]:
    """Decorate a widget method so that an error it raises is shown in ``self.status`` (in red,
    with its type) and then raised again: a notebook cell or test driving the widget fails
    loudly, and a person looking at the widget sees why."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self.status.error(exc)
            exc.__microlab_shown__ = True  # type: ignore[attr-defined]
            raise

    return wrapper


class Guard:
    """Runs a widget's button and key callbacks.

    An exception raised inside a widget callback would only reach the browser's log console, so
    here it is shown in the status area (if the method did not already show it) and logged with
    its traceback.  Key presses arriving right after a new frame appeared are ignored (see
    :data:`DEBOUNCE_S`).
    """

    def __init__(self, status: StatusArea, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.status = status
        #: seconds from an arbitrary start; tests inject a fake one instead of sleeping
        self.clock = clock
        self.last_change = -math.inf

    def mark_change(self) -> None:
        """Note that the widget just showed a new frame."""
        self.last_change = self.clock()

    def too_soon(self) -> bool:
        return self.clock() - self.last_change < DEBOUNCE_S

    def run(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:
            if not getattr(exc, "__microlab_shown__", False):
                self.status.error(exc)
            log.exception("widget action failed")


def clip_position_html(
    n_frames: int, marks: Sequence[int], *, current: int | None = None,
    states: Mapping[int, str] | None = None, boundaries: Sequence[int] = (),
) -> str:
    """A thin bar the width of the cell standing for the whole clip, with a tick per marked
    frame (green when done, orange when it cost actions, blue when pending, black = current)
    and faint lines at segment boundaries."""
    colours = {"pending": "#3b82f6", "ok": "#16a34a", "fixed": "#ea580c"}
    span = max(n_frames - 1, 1)
    parts = [('<div class="microlab-clipbar" style="position:relative;height:18px;margin:4px 0;'
              'background:#e5e7eb;border-radius:3px" title="the whole clip">')]
    for b in boundaries:
        parts.append(f'<div style="position:absolute;left:{100 * b / span:.2f}%;top:0;bottom:0;'
                     'width:1px;background:#9ca3af"></div>')
    for f in marks:
        state = (states or {}).get(f, "pending")
        colour = "#111" if f == current else colours.get(state, "#3b82f6")
        width = 4 if f == current else 3
        parts.append(f'<div title="frame {f}" '
                     f'style="position:absolute;left:calc({100 * f / span:.2f}% - '
                     f'{width // 2}px);top:{0 if f == current else 3}px;'
                     f'bottom:{0 if f == current else 3}px;width:{width}px;'
                     f'background:{colour}"></div>')
    parts.append("</div>")
    return "".join(parts)
