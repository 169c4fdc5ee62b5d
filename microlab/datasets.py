"""Built-in clips: a generated demo clip with known truth, edited scenes cut from sequences, and
a clip that cuts to a close-up.

``demo_clip()`` needs no download: it draws a textured object moving over a textured background,
changing scale, leaving the frame and coming back, among look-alike distractors of another
colour.  It is written once as an OTB-style sequence folder (``img/`` + ``groundtruth.txt``) in
a cache folder, so every tool that reads sequences reads it too.  ``cut_to_close_up(clip, at)``
turns a clip into two shots of one scene (the spline lesson's caveat on video).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from microlab.boxes import present_mask
from microlab.errors import FramesError, SettingsError, SplineError
from microlab.sequences import Clip, load_sequence, write_sequence
from microlab.tagging.labels import TagClip, load_tag_clip, write_labels

CACHE_ENV = "MICROLAB_CACHE"


def cache_dir() -> Path:
    """Where generated clips are kept: ``$MICROLAB_CACHE`` or ``~/.cache/microlab``."""
    root = (os.environ.get(CACHE_ENV)
            or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "microlab")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A field-like textured background: smooth colour blobs, stripes and fine noise."""
    low = rng.uniform(0, 1, (height // 16 + 2, width // 16 + 2, 3)).astype(np.float32)
    low = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    base = np.array([70, 120, 80], np.float32) + (low - 0.5) * 90
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base += 12 * np.sin(xx / 23.0 + yy / 41.0)[..., None]
    for _ in range(25):  # scattered rocks and patches
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(3, 14)
        colour = rng.uniform(40, 200, 3)
        cv2.circle(base, (int(cx), int(cy)), int(r), colour.tolist(), -1, lineType=cv2.LINE_AA)
    base += rng.normal(0, 6, base.shape).astype(np.float32)
    return np.clip(base, 0, 255).astype(np.uint8)


def _draw_target(canvas: np.ndarray, cx: float, cy: float, w: float, h: float, phase: float,
                 colours) -> None:
    """A striped, two-tone figure (body, head, stripes) whose shape stays recognisable."""
    body, stripe, head = colours
    x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    pts = np.array([[x0 + w * 0.2, y0 + h * 0.3], [x1 - w * 0.2, y0 + h * 0.3],
                    [x1, y1], [x0, y1]], np.int32)
    cv2.fillPoly(canvas, [pts], body, lineType=cv2.LINE_AA)
    for k in range(3):
        yy = int(y0 + h * (0.45 + 0.17 * k + 0.02 * math.sin(phase)))
        cv2.line(canvas, (int(x0 + w * 0.12), yy), (int(x1 - w * 0.12), yy), stripe,
                 max(1, int(h * 0.05)), lineType=cv2.LINE_AA)
    cv2.ellipse(canvas, (int(cx), int(y0 + h * 0.16)),
                (max(1, int(w * 0.22)), max(1, int(h * 0.15))),
                0, 0, 360, head, -1, lineType=cv2.LINE_AA)


def generate_demo_frames(
    n_frames: int = 240, size: tuple[int, int] = (384, 256), seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames (RGB) and ``xyxy`` ground truth (NaN rows where the object is out of view)."""
    rng = np.random.default_rng(seed)
    width, height = size
    background = _background(rng, width + 64, height + 64)
    target_colours = ((200, 60, 40), (250, 230, 60), (230, 190, 160))
    distractor_colours = ((60, 80, 200), (250, 250, 250), (230, 190, 160))
    distractors = [
        (rng.uniform(0, 1, 2), rng.uniform(0.6, 1.4), rng.uniform(0, 6.28)) for _ in range(2)
    ]
    frames: list[np.ndarray] = []
    truth = np.full((n_frames, 4), np.nan)
    for t in range(n_frames):
        u = t / max(n_frames - 1, 1)
        # slow camera pan over the background
        ox, oy = int(32 + 28 * math.sin(2 * math.pi * u)), int(32 + 20 * math.cos(3 * math.pi * u))
        canvas = background[oy : oy + height, ox : ox + width].copy()
        for (p, s, ph) in distractors:
            dx = width * (0.15 + 0.7 * (0.5 + 0.5 * math.sin(2 * math.pi * (u * s) + ph)))
            dy = height * (0.2 + 0.6 * p[1])
            _draw_target(canvas, dx, dy, 26 * s, 48 * s, t * 0.3, distractor_colours)
        # the target: a loop that leaves the frame on the right around u = 0.55 and comes back
        scale = 0.7 + 0.6 * (0.5 + 0.5 * math.sin(2 * math.pi * u * 1.3))
        w, h = 30 * scale, 56 * scale
        cx = width * (0.5 + 0.62 * math.sin(2 * math.pi * u * 1.1))
        cy = height * (0.55 + 0.25 * math.sin(2 * math.pi * u * 2.2 + 0.7))
        _draw_target(canvas, cx, cy, w, h, t * 0.3, target_colours)
        x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        vis = (min(x1, width) - max(x0, 0)) * (min(y1, height) - max(y0, 0))
        if vis > 0.5 * w * h and min(x1, width) > max(x0, 0) and min(y1, height) > max(y0, 0):
            truth[t] = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
        noise = rng.normal(0, 3, canvas.shape)
        frames.append(np.clip(canvas + noise, 0, 255).astype(np.uint8))
    return frames, truth


def demo_clip(
    folder: str | Path | None = None, *, n_frames: int = 240, size: tuple[int, int] = (384, 256),
    seed: int = 0
) -> Clip:
    """The built-in demo clip as an OTB-style sequence folder (generated on first use).

    Args:
        folder: where to write it; default a cache folder keyed by the parameters.
        n_frames: clip length.
        size: ``(width, height)``.
        seed: the clip is a deterministic function of its parameters.
    """
    params = {"generator": "demo_clip/1", "n_frames": n_frames, "size": list(size), "seed": seed}
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    folder = Path(folder) if folder is not None else cache_dir() / f"demo-{key}"
    meta_path = folder / "meta.json"
    if meta_path.is_file() and json.loads(meta_path.read_text()).get("params") == params:
        return load_sequence(folder)
    frames, truth = generate_demo_frames(n_frames, size, seed)
    meta = {"name": "microlab demo clip", "params": params, "n_frames": n_frames,
            "width": size[0], "height": size[1], "n_absent": int((~present_mask(truth)).sum()),
            "note": "generated by microlab.datasets.demo_clip; ground truth is exact"}
    write_sequence(folder, frames, truth, meta=meta)
    return load_sequence(folder)


DEMO_PLACES = {  # name: (base colour, colour spread), one look per place of the tag demo
    "meadow": ((70, 120, 80), 90),
    "beach": ((200, 180, 130), 60),
    "harbour": ((60, 90, 140), 70),
    "forest": ((40, 80, 50), 60),
}


def generate_demo_tag_frames(
    n_frames: int = 300, size: tuple[int, int] = (320, 192), *, places: int = 3, seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """An edited clip of recurring places: frames (RGB), the place of each frame, the names.

    Each place is a textured background of its own palette, filmed in shots of 15-50 frames
    with a slow pan; shots cut between places (never to the same one), places recur, and the
    demo figure walks through some shots (it does not change the place).  For frame tags:
    "which place is this?"; the truth is exact.
    """
    if not 2 <= places <= len(DEMO_PLACES):
        raise SettingsError(f"places must be 2 to {len(DEMO_PLACES)}, but got {places}")
    rng = np.random.default_rng(seed)
    width, height = size
    names = list(DEMO_PLACES)[:places]
    grounds = []
    for name in names:
        base, spread = DEMO_PLACES[name]
        ground = _background(rng, width + 96, height + 96).astype(np.float32)
        ground = (ground - ground.mean(axis=(0, 1))) * (spread / 90) + np.array(base, np.float32)
        grounds.append(np.clip(ground, 0, 255).astype(np.uint8))
    colours = ((200, 60, 40), (250, 230, 60), (230, 190, 160))
    frames: list[np.ndarray] = []
    tags: list[int] = []
    place = int(rng.integers(places))
    while len(frames) < n_frames:
        length = min(int(rng.integers(15, 51)), n_frames - len(frames))
        ox0, oy0 = rng.integers(0, 64, 2)
        vx, vy = rng.uniform(-0.6, 0.6, 2)
        walker = rng.random() < 0.5
        for t in range(length):
            ox = int(np.clip(ox0 + vx * t, 0, 95))
            oy = int(np.clip(oy0 + vy * t, 0, 95))
            canvas = grounds[place][oy:oy + height, ox:ox + width].copy()
            if walker:
                _draw_target(canvas, width * (0.2 + 0.6 * t / max(length - 1, 1)), height * 0.6,
                             30, 56, t * 0.3, colours)
            noise = rng.normal(0, 3, canvas.shape)
            frames.append(np.clip(canvas + noise, 0, 255).astype(np.uint8))
            tags.append(place)
        place = int((place + rng.integers(1, places)) % places)
    return frames, np.asarray(tags, int), names


def demo_tag_clip(
    folder: str | Path | None = None, *, n_frames: int = 300, size: tuple[int, int] = (320, 192),
    places: int = 3, seed: int = 0
) -> TagClip:
    """The built-in frame classification demo: recurring places with cuts, as a folder with
    ``img/``, ``labels.txt`` and ``classes.txt`` (generated on first use; see
    :func:`generate_demo_tag_frames`)."""
    params = {"generator": "demo_tag_clip/1", "n_frames": n_frames, "size": list(size),
              "places": places, "seed": seed}
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    folder = Path(folder) if folder is not None else cache_dir() / f"demo-tags-{key}"
    meta_path = folder / "meta.json"
    if meta_path.is_file() and json.loads(meta_path.read_text()).get("params") == params:
        return load_tag_clip(folder)
    frames, tags, names = generate_demo_tag_frames(n_frames, size, places=places, seed=seed)
    img = folder / "img"
    img.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, start=1):
        if not cv2.imwrite(str(img / f"{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise SettingsError(f"could not write {img / f'{i:05d}.jpg'} (disk full or "
                                "read-only?)")
    write_labels(folder, tags, names)
    meta_path.write_text(json.dumps({"name": "microlab tag demo clip", "params": params,
                                     "n_frames": n_frames, "classes": names,
                                     "note": "generated by microlab.datasets.demo_tag_clip; "
                                             "the tags are exact"}, indent=2) + "\n")
    return load_tag_clip(folder)


def _draw_cart(canvas: np.ndarray, cx: float, cy: float, w: float, h: float,
               colour: tuple[int, int, int]) -> None:
    """A cart: a box body with a window and two wheels (the second class of the multi demo)."""
    x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    cv2.rectangle(canvas, (int(x0), int(y0 + h * 0.15)), (int(x1), int(y1 - h * 0.25)), colour,
                  -1, lineType=cv2.LINE_AA)
    cv2.rectangle(canvas, (int(x0 + w * 0.15), int(y0 + h * 0.25)),
                  (int(x0 + w * 0.45), int(y0 + h * 0.5)), (220, 235, 250), -1)
    for wx in (x0 + w * 0.22, x1 - w * 0.22):
        cv2.circle(canvas, (int(wx), int(y1 - h * 0.2)), max(2, int(h * 0.2)), (30, 30, 30), -1,
                   lineType=cv2.LINE_AA)


#: The multi-object demo's objects: (class, colours or colour, size (w, h), path parameters).
#: Walkers 1-3 look alike (one palette), walker 1 leaves on the right and comes back, the carts
#: cross the walkers' paths.
_MULTI_OBJECTS = (
    ("walker", ((200, 60, 40), (250, 230, 60), (230, 190, 160)), (26, 50), (-0.5, 2.0, 0.0)),
    ("walker", ((200, 60, 40), (250, 230, 60), (230, 190, 160)), (24, 46), (0.75, -0.5, 1.3)),
    ("walker", ((200, 60, 40), (250, 230, 60), (230, 190, 160)), (28, 54), (0.45, 0.35, 2.4)),
    ("cart", (60, 90, 210), (52, 30), (0.9, -0.7, 0.6)),
    ("cart", (230, 140, 40), (48, 28), (0.05, 0.6, 3.9)),
)


def _demo_multi_objects(n_objects: int, seed: int) -> tuple:
    """The first ``n_objects`` objects of the multi demo: the five of ``_MULTI_OBJECTS``, then
    (for a crowd) more walkers and carts in turn, their sizes, colours and paths drawn from
    ``seed`` (the walkers keep the one look-alike palette)."""
    if n_objects < 1:
        raise SettingsError(f"n_objects must be at least 1, got {n_objects}")
    objects = list(_MULTI_OBJECTS[:n_objects])
    rng = np.random.default_rng([seed, 7])
    walker_colours = _MULTI_OBJECTS[0][1]
    while len(objects) < n_objects:
        path = (float(rng.uniform(-1, 1)), float(rng.uniform(0.4, 2.0)) * rng.choice([-1, 1]),
                float(rng.uniform(0, 2 * math.pi)))
        scale = float(rng.uniform(0.8, 1.15))
        if len(objects) % 2 == 1:
            objects.append(("walker", walker_colours, (26 * scale, 50 * scale), path))
        else:
            colour = tuple(int(c) for c in rng.integers(30, 240, 3))
            objects.append(("cart", colour, (50 * scale, 29 * scale), path))
    return tuple(objects)


def generate_demo_multi_frames(
    n_frames: int = 200, size: tuple[int, int] = (384, 256), seed: int = 0,
    n_objects: int = 5,
) -> tuple[list[np.ndarray], list[list[tuple[int, int, tuple[float, float, float, float]]]]]:
    """Frames (RGB) and, per frame, ``(identity, class id, xyxy)`` of every object in view.

    Three look-alike walkers and two carts move over a textured field; walker 1 runs off the
    right edge and comes back, and paths cross, so identities must be kept through crossings
    and re-entries.  An object counts as in view when more than half of it is inside the frame.
    ``n_objects`` above 5 adds more walkers and carts (a crowd, for speed and memory checks).
    """
    objects = _demo_multi_objects(n_objects, seed)
    rng = np.random.default_rng(seed)
    width, height = size
    background = _background(rng, width + 64, height + 64)
    classes = sorted({c for c, *_ in objects}, key=[c for c, *_ in objects].index)
    frames: list[np.ndarray] = []
    truth: list[list[tuple[int, int, tuple[float, float, float, float]]]] = []
    for t in range(n_frames):
        u = t / max(n_frames - 1, 1)
        ox, oy = int(32 + 20 * math.sin(2 * math.pi * u)), int(32 + 14 * math.cos(3 * math.pi * u))
        canvas = background[oy : oy + height, ox : ox + width].copy()
        here = []
        for identity, (cls, colours, (w, h), (start, speed, phase)) in enumerate(objects,
                                                                                 start=1):
            # back and forth across the frame; walker 1 goes past the right edge
            reach = 1.35 if identity == 1 else 0.9
            x = start + speed * u
            x = abs(((x % 2) + 2) % 2 - 1)  # a triangle wave in [0, 1]
            cx = width * (0.05 + reach * x)
            cy = height * (0.3 + 0.45 * (0.5 + 0.5 * math.sin(2 * math.pi * u * 0.8 + phase)))
            scale = 0.85 + 0.3 * (cy / height)  # nearer the bottom, nearer the camera
            bw, bh = w * scale, h * scale
            if cls == "walker":
                _draw_target(canvas, cx, cy, bw, bh, t * 0.3 + phase, colours)
            else:
                _draw_cart(canvas, cx, cy, bw, bh, colours)
            x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
            ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
            if ix1 > ix0 and iy1 > iy0 and (ix1 - ix0) * (iy1 - iy0) > 0.5 * bw * bh:
                here.append((identity, classes.index(cls), (ix0, iy0, ix1, iy1)))
        noise = rng.normal(0, 3, canvas.shape)
        frames.append(np.clip(canvas + noise, 0, 255).astype(np.uint8))
        truth.append(here)
    return frames, truth


def demo_multi_clip(folder: str | Path | None = None, *, n_frames: int = 200,
                    size: tuple[int, int] = (384, 256), seed: int = 0,
                    n_objects: int = 5) -> Path:
    """The multi-object demo clip as a MOT-layout folder (``img/``, ``gt.txt``, ``classes.txt``),
    generated on first use; returns the folder (read it with
    :func:`microlab.multi.load_multi_clip`, simulate it with ``microlab simulate``).

    Five objects of two classes: three look-alike walkers (one leaves the view and comes
    back) and two carts whose paths cross theirs; the truth is exact.  ``n_objects`` above 5
    makes a crowd of more walkers and carts (the 25-object speed check of the benchmark).
    """
    params = {"generator": "demo_multi_clip/1", "n_frames": n_frames, "size": list(size),
              "seed": seed, "n_objects": n_objects}
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    folder = Path(folder) if folder is not None else cache_dir() / f"demo-multi-{key}"
    meta_path = folder / "meta.json"
    if meta_path.is_file() and json.loads(meta_path.read_text()).get("params") == params:
        return folder
    frames, truth = generate_demo_multi_frames(n_frames, size, seed, n_objects)
    objects = _demo_multi_objects(n_objects, seed)
    img = folder / "img"
    img.mkdir(parents=True, exist_ok=True)
    for n, frame in enumerate(frames, start=1):
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(img / f"{n:05d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise FramesError(f"could not write {img / f'{n:05d}.jpg'} (disk full or read-only?)")
    rows = [f"{t + 1},{identity},{x0:.2f},{y0:.2f},{x1 - x0:.2f},{y1 - y0:.2f},1,{cls + 1},1"
            for t, here in enumerate(truth) for identity, cls, (x0, y0, x1, y1) in here]
    (folder / "gt.txt").write_text("\n".join(rows) + "\n")
    classes = sorted({c for c, *_ in objects}, key=[c for c, *_ in objects].index)
    (folder / "classes.txt").write_text("\n".join(classes) + "\n")
    meta = {"name": "microlab multi-object demo clip", "params": params, "n_frames": n_frames,
            "width": size[0], "height": size[1], "objects": len(objects),
            "classes": classes, "note": "generated by microlab.datasets.demo_multi_clip; "
                                        "ground truth is exact"}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def _cover_resize(image: np.ndarray,
                  size: tuple[int, int]) -> tuple[np.ndarray, float, float, float]:
    """Scale to cover ``size`` and centre-crop (aspect kept); returns image, scale, crop x,
    crop y."""
    width, height = size
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(image, (max(width, round(w * scale)), max(height, round(h * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x0 = (resized.shape[1] - width) // 2
    y0 = (resized.shape[0] - height) // 2
    return resized[y0 : y0 + height, x0 : x0 + width], scale, x0, y0


class _SceneFrames:
    """The frames of an edited scene, produced lazily from the source sequences."""

    def __init__(self, plan: list[tuple[Clip, int]], size: tuple[int, int]) -> None:
        self.plan = plan
        self.size = size

    def __len__(self) -> int:
        return len(self.plan)

    def __iter__(self):
        for seq, i in self.plan:
            yield _cover_resize(seq.frames[i], self.size)[0]


def edited_scene(
    main: Clip | str | Path,
    others: list[Clip | str | Path],
    folder: str | Path,
    *,
    shots: int = 8,
    shot_length: int | None = None,
    size: tuple[int, int] | None = None,
    seed: int = 0,
) -> Clip:
    """An edited scene: shots of ``main`` (the target's clip) intercut with shots of ``others``.

    Like a film scene, the main clip's story runs forward in ``shots`` pieces; between them come
    shots of the other sequences, where the target is absent, so the object is in about half of
    the frames.  All frames are scaled to cover one size and centre-cropped (aspect kept), and
    the ground truth is carried along (absent = NaN).  Deterministic for a given ``seed``.
    ``labels.txt`` gives each frame's source clip as its tag (frame classification; the classes,
    main clip first, are in ``classes.txt``).

    Args:
        main: sequence (or folder) whose object is the target.
        others: sequences (or folders) used as shots without the target.
        folder: where the OTB-style result is written.
        shots: pieces the main clip is cut into.
        shot_length: frames per main shot (default: the main clip divided into ``shots``).
        size: ``(width, height)``; default the main clip's size.
        seed: picks the other shots and their lengths.
    """
    rng = np.random.default_rng(seed)
    main_seq = main if isinstance(main, Clip) else load_sequence(main)
    other_seqs = [o if isinstance(o, Clip) else load_sequence(o) for o in others]
    if not other_seqs:
        raise SettingsError("an edited scene needs at least one other sequence for the shots "
                            "without the target")
    size = tuple(size) if size else tuple(main_seq.frames.size)
    n_main = len(main_seq)
    length = shot_length or max(1, n_main // shots)
    edges = np.linspace(0, min(n_main, length * shots), shots + 1).round().astype(int)
    plan: list[tuple[Clip, int]] = []
    truth: list[np.ndarray] = []
    shot_starts: list[int] = []
    for k in range(shots):
        a, b = int(edges[k]), int(edges[k + 1])
        shot_starts.append(len(plan))
        _, scale, x0, y0 = _cover_resize(main_seq.frames[a], size)
        for i in range(a, b):
            plan.append((main_seq, i))
            box = main_seq.ground_truth[i] * scale - np.array([x0, y0, x0, y0])
            box = np.clip(box, 0, [size[0], size[1], size[0], size[1]])
            visible = (box[2] - box[0]) * (box[3] - box[1]) > 4
            truth.append(box if visible else np.full(4, np.nan))
        if k == shots - 1:
            break
        other = other_seqs[int(rng.integers(len(other_seqs)))]
        m = int(np.clip(rng.normal(b - a, (b - a) * 0.3), 10, len(other)))
        start = int(rng.integers(0, len(other) - m + 1))
        shot_starts.append(len(plan))
        for i in range(start, start + m):
            plan.append((other, i))
            truth.append(np.full(4, np.nan))
    gt = np.asarray(truth)
    meta = {
        "name": Path(folder).name,
        "generator": "microlab.datasets.edited_scene/1",
        "main": main_seq.name,
        "others": [o.name for o in other_seqs],
        "shots": shots,
        "seed": seed,
        "shot_starts": shot_starts,
        "n_frames": len(plan),
        "width": size[0],
        "height": size[1],
        "n_absent": int((~present_mask(gt)).sum()),
        "note": "research-use frames from the source sequences; keep out of version control",
    }
    clip = write_sequence(folder, _SceneFrames(plan, size), gt, meta=meta)
    # Which clip each shot came from is the scene's class: "which place is this?" (frame tags).
    names = [main_seq.name, *dict.fromkeys(o.name for o in other_seqs if o is not main_seq)]
    write_labels(folder, [names.index(seq.name) for seq, _ in plan], names)
    return clip


class CloseUpFrames:
    """Frames of a clip where, from frame ``at`` on, the camera zooms in and follows the object.

    A stand-in for "another shot of the same scene": same object, same motion, but seen
    ``zoom`` times larger.  Frames are computed when read, so nothing is copied.

    Attributes:
        source: the original frames.
        at: first frame of the close-up.
        zoom: magnification of the close-up.
        centres: ``(n, 2)`` where the camera looks in each frame (original pixels).
    """

    def __init__(self, source: Any, at: int, zoom: float, centres: np.ndarray) -> None:
        self.source = source
        self.at = int(at)
        self.zoom = float(zoom)
        self.centres = centres
        first = source[0]
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.path = getattr(source, "path", None)
        self.fps = float(getattr(source, "fps", 30.0))

    def __len__(self) -> int:
        return len(self.source)

    def matrix(self, index: int) -> np.ndarray:
        """The 2x3 affine map from original to shown pixels of frame ``index``."""
        if index < self.at:
            return np.array([[1.0, 0, 0], [0, 1.0, 0]])
        w, h = self.size
        cx, cy = self.centres[index]
        z = self.zoom
        return np.array([[z, 0, w / 2 - z * cx], [0, z, h / 2 - z * cy]])

    def __getitem__(self, index: int) -> np.ndarray:
        index = int(index)
        image = self.source[index]
        if index < self.at:
            return image
        return cv2.warpAffine(image, self.matrix(index).astype(np.float32), self.size,
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def cut_to_close_up(sequence: Clip, at: int, *, zoom: float = 2.2,
                    smooth: int = 15) -> Clip:
    """The same clip, but from frame ``at`` on a close-up that follows the object.

    Ground truth is carried along (boxes scaled; absent where less than half the box is in
    view).  The camera looks at the object's centre, smoothed over ``smooth`` frames and kept
    so that the view stays inside the original frame.

    Args:
        sequence: a clip with ground truth, e.g. :func:`demo_clip`.
        at: first frame of the close-up shot.
        zoom: magnification (2.2: an object about twice as large as any the wide shot showed).
        smooth: frames of the moving average of the camera's path.
    """
    n = len(sequence)
    if not 0 <= at < n:
        raise SplineError(f"at must be a frame in 0..{n - 1}, but got {at}")
    if zoom < 1:
        raise SplineError(f"zoom must be 1 or more (a close-up), but got {zoom}")
    truth = np.asarray(sequence.ground_truth, dtype=np.float64)
    first = sequence.frames[0]
    w, h = first.shape[1], first.shape[0]
    present = present_mask(truth)
    frames_idx = np.arange(n)
    centres = np.tile([w / 2, h / 2], (n, 1)).astype(np.float64)
    if present.any():
        for k in range(2):
            c = (truth[present, k] + truth[present, k + 2]) / 2
            centres[:, k] = np.interp(frames_idx, frames_idx[present], c)
    if smooth > 1:
        kernel = np.ones(smooth) / smooth
        padded = np.pad(centres, ((smooth // 2, smooth - 1 - smooth // 2), (0, 0)), mode="edge")
        centres = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)],
                           axis=1)
    half = np.array([w, h]) / (2 * zoom)
    centres = np.clip(centres, half, np.array([w, h]) - half)
    frames = CloseUpFrames(sequence.frames, at, zoom, centres)
    shown = truth.copy()
    for i in range(at, n):
        if not present[i]:
            continue
        m = frames.matrix(i)
        box = truth[i].copy()
        box[[0, 2]] = m[0, 0] * box[[0, 2]] + m[0, 2]
        box[[1, 3]] = m[1, 1] * box[[1, 3]] + m[1, 2]
        clipped = np.array([max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)])
        visible = max(clipped[2] - clipped[0], 0) * max(clipped[3] - clipped[1], 0)
        area = (box[2] - box[0]) * (box[3] - box[1])
        shown[i] = clipped if visible > 0.5 * area else np.nan
    return Clip(name=f"{sequence.name} (close-up from frame {at})", frames=frames,
                    ground_truth=shown, path=None)
