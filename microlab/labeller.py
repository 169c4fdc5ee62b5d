"""The labeller: turns every cue into one label per frame, with a confidence.

Cues per frame: the micro-model's top candidates with scores, tracker boxes propagated from
human keyframes, linear interpolation between human keyframes, and "object absent".  A Viterbi
pass picks the path through the clip that trades evidence against motion: identities do not
jump between frames, objects do not blink in and out, except across scene cuts.  Human frames
are fixed.  Min-marginals of the same dynamic program give each frame's confidence (the share of
the evidence behind the chosen state), which drives review ranking and coverage.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from microlab.boxes import Detections, Source, box_iou, interpolate_boxes, present_mask

#: The codes of :attr:`Labelling.source`: 0 is "no box", the others the sources of the cues.
SOURCES = ("absent", Source.HUMAN, Source.MODEL, Source.TRACKER, Source.INTERPOLATED)
SOURCE_CODE = {name: i for i, name in enumerate(SOURCES)}


@dataclass
class LabellerSettings:
    """Weights of the path cost; defaults chosen on the dev clips (see BENCHMARKS.md).

    Attributes:
        motion: cost per object-size of centre displacement between consecutive frames,
            beyond ``free_motion`` (normal motion costs nothing, jumps do).
        free_motion: displacement per frame, in object sizes, that costs nothing.
        resize: cost per unit of |log area ratio| between consecutive frames,
            beyond ``free_resize``.
        free_resize: |log area ratio| per frame that costs nothing.
        presence_change: cost of the object appearing or disappearing.
        cut_presence_change: the same across a scene cut, where it is expected.
        cut_jump: cost of any present-to-present move across a scene cut.
        tracker_verified: evidence of a tracker box on a run that arrived on the next human box.
        tracker_confidence: evidence of a tracker box of an unchecked run next to its keyframe ...
        tracker_decay: ... decaying with this many frames of distance.
        tracker_failed: evidence of a box of a run that arrived wrong, next to its keyframe ...
        tracker_failed_decay: ... decaying with this many frames of distance.
        interpolation_confidence: evidence of an interpolated box next to a keyframe ...
        interpolation_decay: ... decaying with this many frames of distance.
        merge_iou: boxes of different cues closer than this are one candidate.
        geometry: the box of a merged candidate: ``"model"`` (the detector's box when it is
            among the cues) or ``"weighted"`` (the evidence-weighted mean of the cues' boxes).
        model_geometry_weight: extra weight of the detector's box in the weighted mean.
        smooth_window: half-width (frames) of a running median on box width and height along
            stretches of machine labels; 0 turns it off.
    """

    motion: float = 3.0
    free_motion: float = 0.35
    resize: float = 2.0
    free_resize: float = 0.15
    presence_change: float = 3.0
    cut_presence_change: float = 0.5
    cut_jump: float = 0.5
    tracker_verified: float = 0.9
    tracker_confidence: float = 0.85
    tracker_decay: float = 150.0
    tracker_failed: float = 0.3
    tracker_failed_decay: float = 20.0
    interpolation_confidence: float = 0.3
    interpolation_decay: float = 15.0
    merge_iou: float = 0.6
    geometry: str = "weighted"
    model_geometry_weight: float = 2.0
    smooth_window: int = 2


@dataclass
class Labelling:
    """The labeller's answer for every frame of a clip (single object track).

    Attributes:
        boxes: ``(n, 4)`` ``xyxy``, NaN rows where the object is judged absent.
        confidence: ``(n,)`` in [0, 1]; 1 on human frames.
        source: ``(n,)`` index into :data:`SOURCES` of the cue behind each label.
        score: ``(n,)`` the model's score of the chosen box (0 when the model was not behind it).
        doubt_reason: short text per frame, for the review list.
        confirmed: ``(n,)`` True where a person labelled the frame, or where the label agrees
            with a tracker run that a person's next keyframe checked (confirmed evidence reaches
            it; a frame a person verified is :meth:`Project.human_frames`, a narrower set).
    """

    boxes: np.ndarray
    confidence: np.ndarray
    source: np.ndarray
    score: np.ndarray
    doubt_reason: list[str] = field(default_factory=list)
    confirmed: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def present(self) -> np.ndarray:
        return present_mask(self.boxes)

    def detections(self, frame: int, class_id: int = 0) -> Detections:
        if not self.present[frame]:
            return Detections.empty()
        return Detections(self.boxes[frame][None], [self.confidence[frame]], [class_id],
                          sources=[SOURCES[int(self.source[frame])]])

    def source_name(self, frame: int) -> str:
        return SOURCES[int(self.source[frame])]


@dataclass
class _State:
    box: np.ndarray | None  # None = absent
    evidence: float
    source: Source
    score: float = 0.0
    sources: set[str] = field(default_factory=set)
    votes: list[tuple[np.ndarray, float]] = field(default_factory=list)


def interpolate_keyframes(
    n_frames: int, keyframes: Mapping[int, np.ndarray | None], cuts: Sequence[int] = ()
) -> dict[int, tuple[np.ndarray, int]]:
    """Linear interpolation between consecutive present keyframes in the same shot.

    Returns ``{frame: (box, distance to the nearer keyframe)}`` for frames strictly between.
    """
    keys = sorted(keyframes)
    cut_set = sorted(cuts)
    out: dict[int, tuple[np.ndarray, int]] = {}
    for a, b in itertools.pairwise(keys):
        ba, bb = keyframes[a], keyframes[b]
        if ba is None or bb is None or b - a < 2:
            continue
        if any(a < c <= b for c in cut_set):
            continue
        between = np.arange(a + 1, b)
        for t, box in zip(between.tolist(), interpolate_boxes(a, ba, b, bb, between)):
            out[t] = (box, min(t - a, b - t))
    return out


def _merge(states: list[_State], iou_limit: float, geometry: str = "model",
           model_weight: float = 1.0) -> list[_State]:
    """Fuse candidates that point at the same place: agreeing cues add up their evidence."""
    merged: list[_State] = []
    for st in sorted(states, key=lambda s: -s.evidence):
        if st.box is None:
            merged.append(st)
            continue
        for m in merged:
            if m.box is not None and box_iou(m.box, st.box) >= iou_limit:
                m.evidence = 1 - (1 - m.evidence) * (1 - st.evidence)
                m.sources |= st.sources
                weight = model_weight if st.source == Source.MODEL else 1.0
                m.votes.append((st.box, st.evidence * weight))
                if st.source == Source.MODEL and m.source != Source.MODEL:
                    # The detector's box is drawn from the frame itself; prefer its geometry.
                    m.box, m.source, m.score = st.box, Source.MODEL, st.score
                break
        else:
            weight = model_weight if st.source == Source.MODEL else 1.0
            st.votes = [(st.box, st.evidence * weight)]
            merged.append(st)
    if geometry == "weighted":
        for m in merged:
            if m.box is not None and len(m.votes) > 1:
                weights = np.array([w for _, w in m.votes])
                votes = np.array([b for b, _ in m.votes])
                m.box = (votes * weights[:, None]).sum(0) / weights.sum()
    return merged


def _smooth_sizes(boxes: np.ndarray, machine: np.ndarray, window: int) -> np.ndarray:
    """Running median of width and height over machine-labelled stretches (centres kept)."""
    out = boxes.copy()
    present = present_mask(boxes)
    n = len(boxes)
    for t in np.flatnonzero(present & machine):
        lo, hi = t, t
        while lo > 0 and t - lo < window and present[lo - 1]:
            lo -= 1
        while hi < n - 1 and hi - t < window and present[hi + 1]:
            hi += 1
        span = boxes[lo : hi + 1]
        w = np.median(span[:, 2] - span[:, 0])
        h = np.median(span[:, 3] - span[:, 1])
        cx, cy = (boxes[t, 0] + boxes[t, 2]) / 2, (boxes[t, 1] + boxes[t, 3]) / 2
        out[t] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return out


def _transition(prev: list[_State], cur: list[_State], cut: bool,
                s: LabellerSettings) -> np.ndarray:
    cost = np.zeros((len(prev), len(cur)))
    for i, a in enumerate(prev):
        for j, b in enumerate(cur):
            if a.box is None and b.box is None:
                continue
            if (a.box is None) != (b.box is None):
                cost[i, j] = s.cut_presence_change if cut else s.presence_change
                continue
            if cut:
                cost[i, j] = s.cut_jump
                continue
            size = math.sqrt(max((a.box[2] - a.box[0]) * (a.box[3] - a.box[1]), 1.0))
            ca = ((a.box[0] + a.box[2]) / 2, (a.box[1] + a.box[3]) / 2)
            cb = ((b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2)
            shift = math.hypot(ca[0] - cb[0], ca[1] - cb[1]) / size
            area_a = max((a.box[2] - a.box[0]) * (a.box[3] - a.box[1]), 1.0)
            area_b = max((b.box[2] - b.box[0]) * (b.box[3] - b.box[1]), 1.0)
            cost[i, j] = (s.motion * max(0.0, shift - s.free_motion)
                          + s.resize * max(0.0, abs(math.log(area_b / area_a)) - s.free_resize))
    return cost


def label_clip(
    n_frames: int,
    *,
    candidates_xyxy: np.ndarray,
    candidates_scores: np.ndarray,
    threshold: float,
    keyframes: Mapping[int, np.ndarray | None],
    tracks: Mapping[int, Sequence[tuple[np.ndarray, int, str]]] | None = None,
    cuts: Sequence[int] = (),
    settings: LabellerSettings | None = None,
) -> Labelling:
    """Pick one label per frame from all cues (see the module docstring).

    Args:
        n_frames: clip length.
        candidates_xyxy: ``(n_frames, k, 4)`` model candidates (NaN rows = none).
        candidates_scores: ``(n_frames, k)`` their scores.
        threshold: the model's calibrated present/absent score.
        keyframes: human frames: ``{frame: xyxy}`` or ``{frame: None}`` for "absent".
        tracks: tracker boxes ``{frame: [(xyxy, distance to its keyframe, run status), ...]}``
            with status ``"verified"``, ``"open"`` or ``"failed"`` (see
            :class:`~microlab.tracking.TrackRun`).
        cuts: frames that start a new shot.
    """
    s = settings or LabellerSettings()
    tracks = tracks or {}
    cut_set = {int(c) for c in cuts}
    interp = interpolate_keyframes(n_frames, keyframes, cuts)
    absent_evidence = float(np.clip(threshold, 0.05, 0.9))
    states: list[list[_State]] = []
    for t in range(n_frames):
        if t in keyframes:
            box = keyframes[t]
            fixed = None if box is None else np.asarray(box, float)
            states.append([_State(fixed, 1.0, Source.HUMAN, 0.0, {Source.HUMAN})])
            continue
        frame_states = [_State(None, absent_evidence, "absent", 0.0, {"absent"})]
        for box, score in zip(candidates_xyxy[t], candidates_scores[t]):
            if score > 0 and np.isfinite(box).all():
                frame_states.append(_State(np.asarray(box, float), float(score), Source.MODEL,
                                           float(score), {Source.MODEL}))
        for box, distance, status in tracks.get(t, ()):
            if status == "verified":
                ev = s.tracker_verified
            elif status == "failed":
                ev = s.tracker_failed * math.exp(-distance / s.tracker_failed_decay)
            else:
                ev = s.tracker_confidence * math.exp(-distance / s.tracker_decay)
            tags = {Source.TRACKER, "verified"} if status == "verified" else {Source.TRACKER}
            frame_states.append(_State(np.asarray(box, float), ev, Source.TRACKER, 0.0, tags))
        if t in interp:
            box, distance = interp[t]
            ev = s.interpolation_confidence * math.exp(-distance / s.interpolation_decay)
            frame_states.append(_State(box, ev, Source.INTERPOLATED, 0.0, {Source.INTERPOLATED}))
        states.append(_merge(frame_states, s.merge_iou, s.geometry, s.model_geometry_weight))

    unary = [np.array([-math.log(max(st.evidence, 1e-4)) for st in fs]) for fs in states]
    transitions = [_transition(states[t - 1], states[t], t in cut_set, s)
                   for t in range(1, n_frames)]
    # Forward (min-sum) with back-pointers, then backward for min-marginals.
    fwd = [unary[0]]
    back: list[np.ndarray] = []
    for t in range(1, n_frames):
        total = fwd[-1][:, None] + transitions[t - 1]
        back.append(np.argmin(total, axis=0))
        fwd.append(total.min(axis=0) + unary[t])
    bwd = [np.zeros(len(states[-1]))]
    for t in range(n_frames - 1, 0, -1):
        total = transitions[t - 1] + (unary[t] + bwd[0])[None, :]
        bwd.insert(0, total.min(axis=1))
    path = [int(np.argmin(fwd[-1]))]
    for t in range(n_frames - 2, -1, -1):
        path.insert(0, int(back[t][path[0]]))

    boxes = np.full((n_frames, 4), np.nan)
    confidence = np.zeros(n_frames)
    source = np.zeros(n_frames, np.int64)
    score = np.zeros(n_frames)
    confirmed = np.zeros(n_frames, bool)
    reasons: list[str] = []
    for t in range(n_frames):
        st = states[t][path[t]]
        confirmed[t] = bool(st.sources & {Source.HUMAN, "verified"})
        marginal = fwd[t] + bwd[t]
        weights = np.exp(-(marginal - marginal.min()))
        confidence[t] = float(weights[path[t]] / weights.sum())
        if st.box is not None:
            boxes[t] = st.box
        source[t] = SOURCE_CODE[st.source]
        score[t] = st.score
        reasons.append(_reason(states[t], path[t], weights))
    if s.smooth_window > 0:
        boxes = _smooth_sizes(boxes, source != SOURCE_CODE[Source.HUMAN], s.smooth_window)
    return Labelling(boxes, confidence, source, score, reasons, confirmed)


def _reason(frame_states: list[_State], chosen: int, weights: np.ndarray) -> str:
    st = frame_states[chosen]
    if st.source == Source.HUMAN:
        return "human label"
    order = np.argsort(-weights)
    runner = next((frame_states[i] for i in order if i != chosen), None)
    if (runner is not None and weights[order[0]] > 0
            and weights[next(i for i in order if i != chosen)] / weights.sum() > 0.25):
        if (runner.box is None) != (st.box is None):
            return "present or absent?"
        if Source.TRACKER in runner.sources and Source.TRACKER not in st.sources:
            return "model and tracker disagree"
        return "two places look right"
    if st.box is None:
        return "judged absent"
    if st.sources == {Source.MODEL} and st.evidence < 0.5:
        return "low model score"
    return "confident"
