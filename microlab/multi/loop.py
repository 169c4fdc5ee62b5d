"""The loop for several objects per clip: one micro-detector for every object and class, its
detections linked into tracks, and a review batch over all tracks.

>>> loop = MultiLoop()
>>> report = loop.step(project)          # train on every human box, detect every frame, link
>>> for item in loop.review_queue(project): ...

Human boxes carry their track (``draw_box(..., track=3)``); linking keeps those identities and
spreads them along their tracks (:func:`~microlab.multi.association.link_tracks`), so a person
names an object once.  Boxes no person has named get fresh track numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from microlab.boxes import Detections, Source, box_iou, present_mask
from microlab.errors import ModelError
from microlab.multi.association import AssociationSettings, fill_track_gaps, link_tracks
from microlab.multi.timeline import track_timeline
from microlab.sampling import ReviewItem, rank_review
from microlab.segments import detect_cuts, frame_signatures, split_clip

if TYPE_CHECKING:
    from microlab.model import Candidates, MicroModel
    from microlab.project import Project


@dataclass
class MultiSettings:
    """Settings of the multi-object loop.

    Attributes:
        model: micro-detector settings (:class:`~microlab.model.MicroModelConfig` fields); the
            classes come from the project.
        association: how detections become tracks.
        review_batch: frames per review batch (default: 2% of the clip, 5 to 20).
        max_segment: longest segment in frames (review spreads over segments).
        spot_checks: share of a batch given to frames the loop is sure of, drawn at random.
        min_candidates: candidates decoded per frame, at least (more when people boxed more).
        track_score: a track no person named is kept when its mean score reaches this share of
            the weakest named track's mean score.
        nms_iou: candidates overlapping a better one more than this are one object (people in
            a group overlap: the single-object default of 0.3 would drop one of a pair).
        smooth_window: frames over which a track's machine boxes are averaged (1 = off).
        fill_gaps: a track's boxes are interpolated over gaps up to this many frames between
            two of its boxes, within a shot (0 = off): see
            :func:`~microlab.multi.association.fill_track_gaps`.
        warm_start: start each retraining from this loop's previous model (same backbone and
            classes), with ``warm_steps_fraction`` of the training steps: an iteration's model
            then keeps what the last one learnt instead of starting again from ImageNet.
    """

    model: dict[str, Any] = field(default_factory=dict)
    association: AssociationSettings = field(default_factory=AssociationSettings)
    review_batch: int | None = None
    max_segment: int = 150
    spot_checks: float = 0.2
    min_candidates: int = 10
    track_score: float = 0.8
    nms_iou: float = 0.6
    smooth_window: int = 5
    fill_gaps: int = 10
    warm_start: bool = True
    warm_steps_fraction: float = 0.6

    def batch_size(self, n_frames: int) -> int:
        if self.review_batch is not None:
            return self.review_batch
        return int(np.clip(round(n_frames * 0.02), 5, 20))


@dataclass(frozen=True)
class MultiReport:
    """What one multi-object step did."""

    iteration: int
    n_human_frames: int
    n_tracks: int
    boxes_per_frame: float
    train_s: float
    predict_s: float

    def __repr__(self) -> str:
        return (f"Iteration {self.iteration}: {self.n_human_frames} human frames; "
                f"{self.n_tracks} tracks, {self.boxes_per_frame:.1f} boxes per frame; train "
                f"{self.train_s:.0f} s, predict {self.predict_s:.0f} s")


def nearly_found(candidates: Candidates, linked: list[Detections], *,
                 iou: float = 0.3) -> np.ndarray:
    """Per frame, the best score below the threshold of a candidate that is not on a kept box.

    A second, weaker peak on an object already boxed is not an object nearly found; a peak
    away from every box may be one (or a false box that almost made it).
    """
    near = np.zeros(len(linked))
    for row, frame in enumerate(candidates.frames):
        scores = candidates.scores[row]
        weak = np.flatnonzero((scores < candidates.threshold) & (scores > 0)
                              & present_mask(candidates.xyxy[row]))
        if not weak.size:
            continue
        kept = linked[int(frame)]
        if len(kept):
            apart = box_iou(candidates.xyxy[row, weak], kept.xyxy).max(axis=1) < iou
            weak = weak[apart]
        if weak.size:
            near[int(frame)] = float(scores[weak].max())
    return near


def track_jumps(raw: list[Detections], smoothed: list[Detections]) -> np.ndarray:
    """Per frame, the least IoU between a box as detected and the same box averaged along its
    track (1 where there is none): a box far from its track's neighbours is loose, or belongs
    to another object."""
    least = np.ones(len(raw))
    for f, (a, b) in enumerate(zip(raw, smoothed)):
        if len(a):
            overlap = np.diag(box_iou(a.xyxy, b.xyxy))
            least[f] = float(overlap.min())
    return least


def _others(found: Detections, human: Detections, *, iou: float = 0.5) -> Detections:
    """The detections of a partly boxed frame that are not one of its human boxes."""
    if not len(found) or not len(human):
        return found
    return found[box_iou(found.xyxy, human.xyxy).max(axis=1) < iou]


def _machine_part(linked: Detections) -> Detections:
    return linked[~linked.human_mask()]


def smooth_tracks(linked: list[Detections], *, window: int = 5) -> list[Detections]:
    """Each track's machine boxes averaged over ``window`` neighbouring frames of the same track
    (a detector's box jitters from frame to frame around the object; the mean is closer).
    Human boxes (by source) are kept as they are, and weigh in their neighbours' average."""
    if window <= 1:
        return linked
    half = window // 2
    where: dict[int, list[tuple[int, int]]] = {}
    for f, d in enumerate(linked):
        for j, t in enumerate(d.track_ids):
            where.setdefault(int(t), []).append((f, j))
    boxes = [d.xyxy.copy() for d in linked]
    human = [d.human_mask() for d in linked]
    for spots in where.values():
        frames = np.array([f for f, _ in spots])
        values = np.stack([linked[f].xyxy[j] for f, j in spots])
        for f, j in spots:
            if human[f][j]:
                continue
            near = np.abs(frames - f) <= half
            boxes[f][j] = values[near].mean(axis=0)
    return [Detections(b, d.scores, d.class_ids, d.track_ids, d.sources, d.data)
            for b, d in zip(boxes, linked)]


class MultiLoop:
    """Train -> detect every frame -> link tracks -> review, for a clip with several objects."""

    def __init__(self, settings: MultiSettings | None = None) -> None:
        self.settings = settings or MultiSettings()
        self._signatures: np.ndarray | None = None
        self._scores: dict[int, np.ndarray] = {}  # per frame, the linked boxes' scores
        #: per frame, the best score below threshold of a candidate away from every kept box
        self._near: np.ndarray | None = None
        #: per frame, the least IoU between a machine box and its track's average there
        self._jumps: np.ndarray | None = None
        self._threshold = 0.5
        self._dropped: list[tuple[int, float]] = []  # (frame, score) of boxes of dropped tracks
        self._previous: MicroModel | None = None  # the last model trained (the warm start)

    # ------------------------------------------------------------------ train, predict
    def train(self, project: Project, *, progress: bool = True) -> MicroModel:
        from microlab.loop import labelled_frames
        from microlab.model import MicroModelConfig, train_micro_model

        labelled = labelled_frames(project)
        if not any(len(t.boxes) for t in labelled):
            raise ModelError("no boxes yet: box every object on a frame or two (draw_box with "
                             "track=...) before training")
        config = MicroModelConfig(**{**self.settings.model, "classes": list(project.classes)})
        previous = self._previous if self.settings.warm_start else None
        if previous is not None and (previous.config.backbone, previous.config.classes) == (
                config.backbone, config.classes):
            steps = round(config.steps * self.settings.warm_steps_fraction)
            warm = replace(config, steps=max(config.steps_per_epoch, steps))
            model = train_micro_model(labelled, warm, init=previous, progress=progress)
        else:
            model = train_micro_model(labelled, config, progress=progress)
        self._previous = model
        return model

    def predict(self, project: Project, model: MicroModel, *,
                progress: bool = True) -> list[Detections]:
        """Every frame's boxes with tracks: human boxes where a person labelled, linked model
        detections elsewhere (and for the objects of a partly boxed frame no person boxed);
        the machine boxes are written to the store."""
        human = project.human_labels()
        partial = set(project.partial_frames())
        most = max((len(d) for d in human.values()), default=1)
        k = max(self.settings.min_candidates, 2 * most)
        candidates = model.predict(project.frames, k=k, progress=progress,
                                   nms_iou=self.settings.nms_iou)
        found = candidates.detections(max_per_class=k)
        self._threshold = float(candidates.threshold)
        frames = []
        for f in range(project.n_frames):
            if f in human:
                d = human[f]
                fixed = Detections(d.xyxy, np.ones(len(d)), d.class_ids, d.track_ids,
                                   [Source.HUMAN] * len(d))
                frames.append(Detections.merge([fixed, _others(found[f], d)]) if f in partial
                              else fixed)
            else:
                frames.append(found[f])
        settled = set(human) - partial
        linked = self._keep_likely_tracks(link_tracks(frames, settings=self.settings.association))
        if self.settings.fill_gaps > 0:
            linked = fill_track_gaps(linked, max_gap=self.settings.fill_gaps,
                                     cuts=detect_cuts(self.signatures(project)), fixed=settled)
        raw = linked
        linked = smooth_tracks(linked, window=self.settings.smooth_window)
        self._near = nearly_found(candidates, linked)
        self._jumps = track_jumps(raw, linked)
        machine = {f: _machine_part(linked[f]) if f in partial else linked[f]
                   for f in range(project.n_frames) if f not in settled}
        project.store.write_predictions(
            machine, model_version=None,
            box_sources={f: [str(s) for s in d.sources] for f, d in machine.items()})
        self._scores = {f: linked[f].scores for f in range(project.n_frames)}
        return linked

    def _keep_likely_tracks(self, linked: list[Detections]) -> list[Detections]:
        """Drop the tracks no person named whose boxes score low on the whole.

        A false detection rarely fires in one place for long at a named object's strength:
        a track without a human box is kept when its mean score reaches ``track_score`` of the
        weakest named track's (the named tracks show what this model scores on real objects
        of this clip).  Dropped tracks are remembered for review as objects nearly found.
        """
        scores: dict[int, list[float]] = {}
        named: set[int] = set()
        for d in linked:
            for t, sc, is_human in zip(d.track_ids, d.scores, d.human_mask()):
                if is_human:
                    named.add(int(t))
                else:
                    scores.setdefault(int(t), []).append(float(sc))
        means = {t: float(np.mean(v)) for t, v in scores.items()}
        reference = min((means[t] for t in named if t in means), default=None)
        self._dropped = []
        if reference is None:
            return linked
        keep_score = self.settings.track_score * reference
        dropped = {t for t, m in means.items() if t not in named and m < keep_score}
        out = []
        for f, d in enumerate(linked):
            gone = np.isin(d.track_ids, sorted(dropped)) & ~d.human_mask()
            for j in np.flatnonzero(gone):
                self._dropped.append((f, float(d.scores[j])))
            out.append(d[~gone])
        return out

    def step(self, project: Project, *, progress: bool = True) -> MultiReport:
        t0 = time.perf_counter()
        model = self.train(project, progress=progress)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        linked = self.predict(project, model, progress=progress)
        predict_s = time.perf_counter() - t1
        tracks = {int(t) for d in linked for t in d.track_ids}
        it = project.store.start_iteration(model_versions=[], train_s=train_s,
                                           predict_s=predict_s,
                                           stats={"tracks": len(tracks), "multi": True})
        return MultiReport(it, len(project.human_frames()), len(tracks),
                           float(np.mean([len(d) for d in linked])), train_s, predict_s)

    # ------------------------------------------------------------------ review
    def signatures(self, project: Project) -> np.ndarray:
        if self._signatures is None:
            self._signatures = frame_signatures(project.frames)
        return self._signatures

    def review_queue(self, project: Project, n: int | None = None) -> list[ReviewItem]:
        """The frames most likely wrong over all tracks: weak boxes, objects nearly found,
        boxes filled in over a track's gap, tracks that start or end inside the clip (a miss, a
        false box or an identity switch nearby), suspected identity switches
        (:mod:`microlab.multi.timeline`), changes in the number of objects, frames a person
        boxed only partly; then spot checks."""
        n = self.settings.batch_size(project.n_frames) if n is None else int(n)
        labels = project.store.labels()
        frames = project.n_frames
        doubt = np.zeros(frames)
        reasons = ["confident"] * frames
        counts = np.array([len(labels[f].boxes) for f in range(frames)])
        ends: dict[int, list[int]] = {}
        for f in range(frames):
            for b in labels[f].boxes:
                if b.track_id is not None:
                    ends.setdefault(int(b.track_id), []).append(f)
        thr = max(self._threshold, 1e-6)
        for f in range(frames):
            if labels[f].settled:
                continue
            scores = [b.score for b in labels[f].boxes if b.score is not None]
            weak = max((1 - min(s / (2 * thr), 1.0) for s in scores), default=0.0)
            near = 0.0 if self._near is None else float(min(self._near[f] / thr, 1.0))
            doubt[f], reasons[f] = max((weak, "a weak box"),
                                       (near * 0.8, "an object nearly found"))
        for f in range(frames):
            filled = [b.track_id for b in labels[f].boxes if b.source == Source.INTERPOLATED]
            if filled and not labels[f].settled and doubt[f] < 0.5:
                doubt[f], reasons[f] = 0.5, f"track {filled[0]} filled in between its detections"
        if self._jumps is not None:
            for f in np.flatnonzero(self._jumps < 0.6):
                if not labels[f].settled and doubt[f] < 0.65:
                    doubt[f], reasons[f] = 0.65, "a box off its track's neighbours"
        for f, score in self._dropped:
            if not labels[f].settled and doubt[f] < 0.5 * min(score / thr, 1.0) + 0.2:
                doubt[f] = 0.5 * min(score / thr, 1.0) + 0.2
                reasons[f] = "a dropped track: an object nearly found, or a false one"
        # A track no person has named carries an identity nobody gave: a new object to name, a
        # piece of a known one (all its boxes then have the wrong identity) or a false one; one
        # look at its first frame settles all of its boxes, so it comes before a named track's.
        named = {int(b.track_id) for f in range(frames) if labels[f].settled
                 for b in labels[f].human_boxes if b.track_id is not None}
        for track, seen in ends.items():
            first, last = min(seen), max(seen)
            unnamed = track not in named
            if unnamed and not labels[first].settled and doubt[first] < 0.85:
                doubt[first] = 0.85
                reasons[first] = f"track {track}, which nobody has named, starts here"
            for f in (first, last):
                if 0 < f < frames - 1 and not labels[f].settled and doubt[f] < 0.7:
                    doubt[f], reasons[f] = 0.7, f"track {track} starts or ends here"
        # Two tracks that trade objects, or a box that jumps: an identity swap to check.
        per_frame = [labels[f].detections() for f in range(frames)]
        timeline = track_timeline(per_frame, human_frames=project.human_frames())
        for f, track, why in timeline.suspected_switches:
            if not labels[f].settled and doubt[f] < 0.8:
                doubt[f], reasons[f] = 0.8, f"identity switch? track {track} {why}"
        change = np.zeros(frames, bool)
        change[1:] |= counts[1:] != counts[:-1]
        for f in np.flatnonzero(change):
            if not labels[f].settled and doubt[f] < 0.6:
                doubt[f], reasons[f] = 0.6, "the number of objects changes"
        for f in (f for f in range(frames) if not labels[f].complete):
            doubt[f] = max(doubt[f], 0.9)
            reasons[f] = "partly boxed: check the model's boxes for the other objects"
        segments = [(s.start, s.end) for s in split_clip(
            frames, detect_cuts(self.signatures(project)), max_length=self.settings.max_segment)]
        human = [f for f in range(frames) if labels[f].settled]
        return rank_review(np.clip(doubt, 0, 1), reasons, segments, human, n=n,
                           spot_checks=self.settings.spot_checks, seed=project.iteration)


__all__ = ["MultiLoop", "MultiReport", "MultiSettings"]
