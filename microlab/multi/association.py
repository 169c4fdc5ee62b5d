"""Association: detections of every frame linked into tracks (tracking by detection).

Two passes over the clip:

1. **forward linking** into tracklets: each track predicts its box in the next frame from its
   last velocity; detections are matched to tracks by the Hungarian method on ``1 - IoU`` of
   the predicted boxes (and, when given, the appearance distance), gated by ``iou_gate``;
   unmatched detections start tracklets; a track unseen for more than ``link_gap`` frames ends
   (it is cautious: a wrong link here would carry one identity into another's frames);
2. **merging across gaps** (the whole clip, not only forward): a tracklet that ends and one that
   starts later (within ``max_gap`` frames, same class) are joined when the first one's motion
   leads to the second, or their appearance is alike (an object that left the view and came back,
   or one hidden for a while).

A person's identities are fixed: a detection that carries a track id (``track_ids >= 0``, e.g. a
human box) keeps it, its tracklet takes that identity, and two tracklets of different given
identities are never joined.  Other tracks get fresh ids above every given one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from microlab.boxes import Detections, Source, box_iou
from microlab.errors import AnnotationError, SettingsError


@dataclass(frozen=True)
class AssociationSettings:
    """How detections become tracks.

    Attributes:
        iou_gate: the least IoU between a track's predicted box and a detection to link them ...
        distance_gate: ... or the largest distance between their centres, in object sizes
            (square root of the predicted box's area): small objects that dart (larvae, birds)
            leave their own box from one frame to the next.
        link_gap: frames a track may go unseen and still continue in the forward pass (a missed
            detection); longer gaps are left to the merging, which sees the whole clip.
        max_gap: the longest gap over which merging joins two tracklets.
        appearance_weight: the share of the link cost given to appearance (0 = boxes only).
        merge_iou: the least IoU of a tracklet's extrapolated box with the next tracklet's first
            box to join them by motion.
        reid_similarity: the least cosine similarity of mean appearances to join tracklets
            across a gap by appearance alone.
    """

    iou_gate: float = 0.3
    distance_gate: float = 2.0
    link_gap: int = 3
    max_gap: int = 30
    appearance_weight: float = 0.3
    merge_iou: float = 0.3
    reid_similarity: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.iou_gate < 1 or not 0 < self.merge_iou < 1:
            raise SettingsError("iou_gate and merge_iou must be in (0, 1)")
        if not 1 <= self.link_gap <= self.max_gap:
            raise SettingsError(f"need 1 <= link_gap <= max_gap, but got link_gap "
                                f"{self.link_gap} and max_gap {self.max_gap}")


@dataclass
class _Tracklet:
    key: int
    class_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the detection's index in its frame
    given: set[int] = field(default_factory=set)  # identities a person gave its boxes
    embeddings: list[np.ndarray] = field(default_factory=list)

    def velocity(self) -> np.ndarray:
        if len(self.frames) < 2:
            return np.zeros(4)
        k = min(5, len(self.frames) - 1)
        dt = self.frames[-1] - self.frames[-1 - k]
        return (self.boxes[-1] - self.boxes[-1 - k]) / max(dt, 1)

    def predict(self, frame: int) -> np.ndarray:
        return self.boxes[-1] + self.velocity() * (frame - self.frames[-1])

    def appearance(self) -> np.ndarray | None:
        if not self.embeddings:
            return None
        mean = np.mean(self.embeddings[-10:], axis=0)
        return mean / (np.linalg.norm(mean) + 1e-9)


def _centre_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` distances between box centres, in sizes of the ``a`` boxes."""
    ca = (a[:, :2] + a[:, 2:]) / 2
    cb = (b[:, :2] + b[:, 2:]) / 2
    size = np.sqrt(np.clip((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), 1.0, None))
    return np.linalg.norm(ca[:, None] - cb[None], axis=2) / size[:, None]


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / (np.linalg.norm(rows, axis=1, keepdims=True) + 1e-9)


def link_tracks(detections: Sequence[Detections], *,
                embeddings: Sequence[np.ndarray] | None = None,
                settings: AssociationSettings | None = None) -> list[Detections]:
    """The same detections with ``track_ids`` that follow each object through the clip.

    Args:
        detections: per frame, the boxes (with ``class_ids``; ``track_ids >= 0`` where a person
            gave the identity).
        embeddings: per frame, an appearance vector per box (``(n, d)``), or ``None``.
        settings: the gates (:class:`AssociationSettings`).
    """
    from scipy.optimize import linear_sum_assignment

    s = settings or AssociationSettings()
    if embeddings is not None and len(embeddings) != len(detections):
        raise AnnotationError(f"embeddings need one entry per frame ({len(detections)}), but got "
                              f"{len(embeddings)}")
    tracklets: list[_Tracklet] = []
    active: list[_Tracklet] = []
    for f, det in enumerate(detections):
        emb = None if embeddings is None or not len(det) else _unit(np.asarray(embeddings[f]))
        active = [t for t in active if f - t.frames[-1] <= s.link_gap]
        given = {j: int(g) for j, g in enumerate(det.track_ids) if g >= 0}  # row -> identity
        assigned: dict[int, _Tracklet] = {}
        # A person's identity binds first: its box continues the tracklet holding that identity.
        for j, g in given.items():
            owner = next((t for t in active if g in t.given), None)
            if owner is not None and owner not in assigned.values():
                assigned[j] = owner
        free_tracks = [t for t in active if t not in assigned.values()]
        free_rows = [j for j in range(len(det)) if j not in assigned]
        if free_tracks and free_rows:
            predicted = np.stack([t.predict(f) for t in free_tracks])
            overlap = box_iou(predicted, det.xyxy[free_rows])
            distance = _centre_distance(predicted, det.xyxy[free_rows])
            cost = 1.0 - overlap + 0.5 * np.minimum(distance / s.distance_gate, 1.0)
            if emb is not None and s.appearance_weight > 0:
                for a, t in enumerate(free_tracks):
                    look = t.appearance()
                    if look is not None:
                        sim = emb[free_rows] @ look
                        cost[a] = (1 - s.appearance_weight) * cost[a] + s.appearance_weight * (
                            1 - sim) / 2
            for a, t in enumerate(free_tracks):
                for b, j in enumerate(free_rows):
                    wrong_class = int(det.class_ids[j]) != t.class_id
                    clash = j in given and bool(t.given) and given[j] not in t.given
                    far = overlap[a, b] < s.iou_gate and distance[a, b] > s.distance_gate
                    if far or wrong_class or clash:
                        cost[a, b] = 1e6
            for a, b in zip(*linear_sum_assignment(cost)):
                if cost[a, b] < 1e6:
                    assigned[free_rows[b]] = free_tracks[a]
        for j in range(len(det)):
            t = assigned.get(j)
            if t is None:
                t = _Tracklet(len(tracklets), int(det.class_ids[j]))
                tracklets.append(t)
                active.append(t)
            t.frames.append(f)
            t.boxes.append(det.xyxy[j].astype(float))
            t.rows.append(j)
            if j in given:
                t.given.add(given[j])
            if emb is not None:
                t.embeddings.append(emb[j])
    tracklets = _merge(tracklets, s)
    return _write_ids(detections, tracklets)


def _merge_score(a: _Tracklet, b: _Tracklet, s: AssociationSettings) -> float | None:
    """How well tracklet ``b`` continues ``a`` across the gap between them, or ``None`` when
    they cannot be one object."""
    gap = b.frames[0] - a.frames[-1]
    if a is b or gap < 1 or gap > s.max_gap or a.class_id != b.class_id:
        return None
    if a.given and b.given and not (a.given & b.given):
        return None  # two identities a person told apart
    if a.given & b.given:
        return 3.0  # the same identity given to both: they are one object
    guess = a.predict(b.frames[0])[None]
    motion = float(box_iou(guess, b.boxes[0][None])[0, 0])
    near = float(_centre_distance(guess, b.boxes[0][None])[0, 0]) <= (
        s.distance_gate * np.sqrt(gap))
    look_a, look_b = a.appearance(), b.appearance()
    sim = -1.0 if look_a is None or look_b is None else float(look_a @ look_b)
    if motion < s.merge_iou and not near and sim < s.reid_similarity:
        return None
    return motion + max(sim, 0.0)


def _merge(tracklets: list[_Tracklet], s: AssociationSettings) -> list[_Tracklet]:
    """Join tracklets across gaps, best pair first (see the module docstring).

    Each pair is scored once and kept in a heap; a merge rescores only the pairs of the
    joined tracklet (the others' scores do not change), so a clip with thousands of short
    tracklets (a weak first model in a crowd) links in seconds, not minutes.
    """
    import heapq
    from bisect import bisect_left, bisect_right

    alive = sorted(tracklets, key=lambda t: t.frames[0])
    by_key = {t.key: t for t in alive}
    version = {t.key: 0 for t in alive}
    # Equal scores go to the pair first in start order (the earlier tracklet first, then the
    # later one), as a scan over all pairs would find them.
    rank = {t.key: n for n, t in enumerate(alive)}
    heap: list[tuple[float, int, int, int, int, int, int]] = []

    def push(a: _Tracklet, b: _Tracklet) -> None:
        score = _merge_score(a, b, s)
        if score is not None:
            heapq.heappush(heap, (-score, rank[a.key], rank[b.key], a.key, version[a.key], b.key,
                                  version[b.key]))

    starts = [t.frames[0] for t in alive]
    for a in alive:
        lo = bisect_right(starts, a.frames[-1])
        hi = bisect_left(starts, a.frames[-1] + s.max_gap + 1)
        for b in alive[lo:hi]:
            push(a, b)
    while heap:
        *_, ka, va, kb, vb = heapq.heappop(heap)
        if version.get(ka) != va or version.get(kb) != vb:
            continue  # a stale score: one of the two has changed or is gone
        a, b = by_key[ka], by_key.pop(kb)
        del version[kb]
        a.frames += b.frames
        a.boxes += b.boxes
        a.rows += b.rows
        a.given |= b.given
        a.embeddings += b.embeddings
        version[ka] += 1
        for other in by_key.values():
            if other is not a:
                push(a, other)
                push(other, a)
    return sorted(by_key.values(), key=lambda t: t.frames[0])


def _write_ids(detections: Sequence[Detections], tracklets: list[_Tracklet]) -> list[Detections]:
    taken = {g for t in tracklets for g in t.given}
    fresh = max(taken, default=0) + 1
    ids = [np.full(len(d), -1, np.int64) for d in detections]
    for t in sorted(tracklets, key=lambda t: t.frames[0]):
        if t.given:
            identity = min(t.given)
        else:
            identity, fresh = fresh, fresh + 1
        for f, j in zip(t.frames, t.rows):
            ids[f][j] = identity
    return [Detections(d.xyxy, d.scores, d.class_ids, ids[f], d.sources, d.data)
            for f, d in enumerate(detections)]


def fill_track_gaps(linked: Sequence[Detections], *, max_gap: int = 10,
                    cuts: Sequence[int] = (), fixed: Iterable[int] = (),
                    score_factor: float = 0.8) -> list[Detections]:
    """Boxes for the frames a track skips between two of its boxes, interpolated linearly.

    A detector misses an object for a few frames (blur, a partial occlusion, a pose it has not
    seen) while the object is still there; the track on both sides says where (as ByteTrack's
    and CVAT's interpolation do).  Gaps longer than ``max_gap`` frames, or across a cut
    (``cuts``: the first frame of each new shot), stay empty: the object may have left; so do
    the ``fixed`` frames (a person's: what they boxed is all there is) and a frame where another
    box lies on the interpolated one (the object is there under another track).  A box filled
    in has source ``interpolated``, the class of the box before the gap, and ``score_factor``
    times the weaker of its two ends' scores.
    """
    fixed = set(fixed)
    out_rows: dict[int, list[tuple[np.ndarray, float, int, int]]] = {}
    where: dict[int, list[tuple[int, int]]] = {}
    for f, d in enumerate(linked):
        for j, t in enumerate(d.track_ids):
            if t >= 0:
                where.setdefault(int(t), []).append((f, j))
    cut_array = np.asarray(sorted(cuts), int)
    for track, spots in where.items():
        for (f0, j0), (f1, j1) in pairwise(spots):
            gap = f1 - f0 - 1
            if gap < 1 or gap > max_gap:
                continue
            if cut_array.size and np.any((cut_array > f0) & (cut_array <= f1)):
                continue
            a, b = linked[f0].xyxy[j0], linked[f1].xyxy[j1]
            score = score_factor * float(min(linked[f0].scores[j0], linked[f1].scores[j1]))
            cls = int(linked[f0].class_ids[j0])
            for f in range(f0 + 1, f1):
                w = (f - f0) / (f1 - f0)
                box = (1 - w) * a + w * b
                here = linked[f]
                if f in fixed or (len(here) and box_iou(box[None], here.xyxy).max() >= 0.5):
                    continue
                out_rows.setdefault(f, []).append((box, score, cls, track))
    if not out_rows:
        return list(linked)
    out = []
    for f, d in enumerate(linked):
        rows = out_rows.get(f)
        if not rows:
            out.append(d)
            continue
        filled = Detections(np.array([r[0] for r in rows]), [r[1] for r in rows],
                            [r[2] for r in rows], [r[3] for r in rows],
                            [Source.INTERPOLATED] * len(rows))
        out.append(Detections.merge([_plain(d), filled]))
    return out


def _plain(d: Detections) -> Detections:
    """``d`` without its ``data`` columns (so that it merges with new boxes)."""
    return Detections(d.xyxy, d.scores, d.class_ids, d.track_ids, d.sources)


def propose_track(labelled: Mapping[int, Detections], frame: int, xyxy: Sequence[float],
                  class_id: int = 0, *, taken: Sequence[int] = (), window: int = 30,
                  max_distance: float = 1.5) -> tuple[int, str]:
    """The identity of a box a person just drew: the track of the same class whose box on the
    nearest labelled frame (within ``window`` frames) lies closest, when its centre is within
    ``max_distance`` box sizes; else a new track (one more than any so far).

    Args:
        labelled: frame -> boxes with ``track_ids`` (the project's labels).
        frame: where the box is drawn.
        xyxy: the new box.
        class_id: its class.
        taken: tracks already used on this frame (one box per track and frame).

    Returns:
        ``(track, why)``: the proposed track and a sentence saying where it came from.
    """
    box = np.asarray(xyxy, float)
    centre, size = (box[:2] + box[2:]) / 2, max(float(np.sqrt((box[2] - box[0]) *
                                                              (box[3] - box[1]))), 1.0)
    best: tuple[float, int, int] | None = None  # (distance in sizes, frames away, track)
    known: set[int] = set()
    for f, det in labelled.items():
        known.update(int(t) for t in det.track_ids if t >= 0)
        if f == frame or abs(f - frame) > window:
            continue
        for j, t in enumerate(det.track_ids):
            if t < 0 or int(t) in taken or int(det.class_ids[j]) != class_id:
                continue
            other = det.xyxy[j]
            d = float(np.linalg.norm((other[:2] + other[2:]) / 2 - centre)) / size
            key = (d + 0.02 * abs(f - frame), abs(f - frame), int(t))
            if d <= max_distance and (best is None or key < best):
                best = key
    if best is not None:
        return best[2], f"track {best[2]}: its box {best[1]} frame(s) away lies nearest"
    new = max([*known, *taken, -1]) + 1
    return new, f"a new object (track {new}): no track of its class is near"


__all__ = ["AssociationSettings", "fill_track_gaps", "link_tracks", "propose_track"]
