"""Confidence that means what it says: earned absence and calibration from the project's answers.

The labeller's confidence (the share of the evidence behind each frame's chosen state) is
relative: it compares the cues that exist.  A detector that has learnt nothing finds nothing,
and then "absent" is the only state left and looks certain.  Two corrections turn it into an
estimate of the chance that the label is right:

* :func:`absence_support` caps the confidence of "absent" by the evidence that the object
  would have been found had it been there: the detector's recall where a person's box and the
  tracker show where the object is (near and far from the box), and a person's own "absent"
  answers nearby in the same shot.  Shots nobody has looked at get only the far recall, shrunk.
* :func:`tracker_support` caps the confidence of a box only a tracker run gives by the chance
  that the run is still on the object that far from its human box: an exponential survival
  whose failure rate comes from this clip's checked runs (those that reached the next human
  box), with a prior that expects small objects to be lost sooner.
* :class:`Calibration` maps the capped confidence to the share of labels found right when a
  person answered them.  It is fitted on :func:`review_answers`: each frame a person labelled
  after a labelling was made is a held-out example of that labelling being right or wrong (the
  model of that iteration never trained on it).  A Beta prior centred on the capped value keeps
  a handful of answers from swinging it.

Both are plain functions of arrays; :class:`~microlab.loop.Loop` applies them after the
labeller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from microlab.boxes import box_iou, present_mask
from microlab.labeller import SOURCES
from microlab.segments import split_clip

#: Distances (frames from a human box, along its tracker run) at which the detector's recall is
#: checked: near ones say what it finds next to its training frames, far ones what it finds
#: where the object looks different.
NEAR_OFFSETS = (4, 8, 12)
FAR_OFFSETS = (24, 40, 64, 100)


@dataclass
class CalibrationSettings:
    """How far "absent" is trusted, and how strongly answers move the calibration.

    Attributes:
        recall_decay: frames over which the near recall gives way to the far recall, with
            distance from the nearest human box in the shot.
        unseen_shot_factor: shrinks the far recall in shots with no human box (the detector
            has never been checked on them).
        absent_trust: support for "absent" from a person's "absent" answer in the same shot ...
        absent_decay: ... decaying over this many frames.
        hit_iou: a detection counts as finding the tracked object at this IoU with its box.
        tracker_frames_per_loss: the prior's mean run length before a tracker loses an object
            of ``tracker_full_size`` px or more (smaller objects: sooner, by their area) ...
        tracker_full_size: ... the object size (square root of the box area) it refers to.
        tracker_prior_frames: weight of that prior, in frames of checked runs.
        model_fit_iou: the IoU with a person's box the detector must reach on that training
            frame for its boxes nearby to keep their confidence.
        model_miss_floor: the cap on the detector's boxes next to a human box it could not
            reproduce ...
        model_miss_decay: ... relaxing over this many frames.
        prior_strength: pseudo-answers behind each bin's prior (the capped confidence).
        raise_answers: answers it takes to raise a bin halfway to what they say.
        edges: confidence bins of the calibration map.
    """

    recall_decay: float = 30.0
    unseen_shot_factor: float = 0.9
    absent_trust: float = 0.97
    absent_decay: float = 8.0
    hit_iou: float = 0.3
    tracker_frames_per_loss: float = 100.0
    tracker_full_size: float = 32.0
    tracker_prior_frames: float = 100.0
    model_fit_iou: float = 0.65
    model_miss_floor: float = 0.5
    model_miss_decay: float = 30.0
    prior_strength: float = 4.0
    raise_answers: float = 20.0
    edges: tuple[float, ...] = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0)


@dataclass
class RecallEstimate:
    """The detector's recall where the object is known to be, as hits over trials, and its
    precision there (how often its best box, when it fires, is the tracked object and not a
    look-alike).

    ``near``, ``far`` and ``precision`` are on the safe side: the lower end of the 80% interval
    of the Beta(1, 1) posterior (``mean - 1.28 sd``), so that a handful of trials does not buy
    a confident label (no trial at all gives 0.13).
    """

    near_hits: int = 0
    near_trials: int = 0
    far_hits: int = 0
    far_trials: int = 0
    top_right: int = 0
    top_trials: int = 0

    @property
    def precision(self) -> float:
        return _beta_lower(self.top_right, self.top_trials)

    @property
    def near(self) -> float:
        return _beta_lower(self.near_hits, self.near_trials)

    @property
    def far(self) -> float:
        return _beta_lower(self.far_hits, self.far_trials)


def _beta_lower(hits: int, trials: int, z: float = 1.28) -> float:
    a, b = hits + 1, trials - hits + 1
    mean = a / (a + b)
    sd = np.sqrt(mean * (1 - mean) / (a + b + 1))
    return float(max(0.0, mean - z * sd))


def detector_recall(
    candidates_xyxy: np.ndarray,
    candidates_scores: np.ndarray,
    threshold: float,
    tracks: Mapping[int, Sequence[tuple[np.ndarray, int, str]]],
    *,
    hit_iou: float = 0.3,
) -> RecallEstimate:
    """How often the detector finds the object where a tracker run from a human box says it is.

    Trials are the frames of non-failed runs at :data:`NEAR_OFFSETS` and :data:`FAR_OFFSETS`
    from their human box; a hit is a candidate over ``threshold`` with IoU >= ``hit_iou`` with
    the tracker's box, and where any candidate is over the threshold, the best-scoring one is
    checked the same way (precision).  Human frames are never trials: the model trained on
    them.
    """
    est = RecallEstimate()
    near, far = set(NEAR_OFFSETS), set(FAR_OFFSETS)
    for t, runs in tracks.items():
        for box, distance, status in runs:
            if status == "failed" or (distance not in near and distance not in far):
                continue
            found = candidates_scores[t] >= threshold
            found &= np.isfinite(candidates_xyxy[t]).all(axis=1)
            overlap = (box_iou(np.asarray(box, float)[None], candidates_xyxy[t][found])[0]
                       if found.any() else np.zeros(0))
            hit = bool(found.any()) and float(overlap.max()) >= hit_iou
            if found.any():  # the best-scoring box: the object, or something else?
                est.top_trials += 1
                est.top_right += float(overlap[np.argmax(candidates_scores[t][found])]) >= hit_iou
            if distance in near:
                est.near_trials += 1
                est.near_hits += hit
            else:
                est.far_trials += 1
                est.far_hits += hit
    return est


def recall_by_frame(
    n_frames: int,
    *,
    keyframes: Mapping[int, np.ndarray | None],
    cuts: Sequence[int],
    recall: RecallEstimate,
    settings: CalibrationSettings | None = None,
) -> np.ndarray:
    """Per frame, the detector's expected recall there: the near recall close to a human box of
    the shot giving way to the far recall over ``recall_decay`` frames, and in a shot without a
    human box the far recall shrunk by ``unseen_shot_factor``."""
    s = settings or CalibrationSettings()
    out = np.zeros(n_frames)
    frames = np.arange(n_frames)
    present_keys = np.array(sorted(f for f, b in keyframes.items() if b is not None), int)
    for shot in split_clip(n_frames, cuts, max_length=max(n_frames, 1)):
        a, b = shot.start, shot.end + 1
        mine = present_keys[(present_keys >= a) & (present_keys < b)]
        if len(mine):
            d = np.abs(frames[a:b, None] - mine[None, :]).min(axis=1)
            w = np.exp(-d / s.recall_decay)
            out[a:b] = w * recall.near + (1 - w) * recall.far
        else:
            out[a:b] = recall.far * s.unseen_shot_factor
    return out


def absence_support(
    n_frames: int,
    *,
    keyframes: Mapping[int, np.ndarray | None],
    cuts: Sequence[int],
    recall: np.ndarray,
    settings: CalibrationSettings | None = None,
) -> np.ndarray:
    """Per frame, the most a label "absent" there can be trusted, in [0, 1].

    ``1 - (1 - r) * (1 - h)``: ``r`` is the detector's recall there (:func:`recall_by_frame`)
    and ``h`` the support of the nearest human "absent" answer in the same shot.  Human frames
    get 1.
    """
    s = settings or CalibrationSettings()
    support = np.zeros(n_frames)
    frames = np.arange(n_frames)
    absent_keys = np.array(sorted(f for f, b in keyframes.items() if b is None), int)
    for shot in split_clip(n_frames, cuts, max_length=max(n_frames, 1)):
        a, b = shot.start, shot.end + 1
        gone = absent_keys[(absent_keys >= a) & (absent_keys < b)]
        if len(gone):
            d = np.abs(frames[a:b, None] - gone[None, :]).min(axis=1)
            h = s.absent_trust * np.exp(-d / s.absent_decay)
        else:
            h = np.zeros(b - a)
        support[a:b] = 1 - (1 - recall[a:b]) * (1 - h)
    support[[int(f) for f in keyframes]] = 1.0
    return support


def tracker_loss_rate(
    tracks: Mapping[int, Sequence[tuple[np.ndarray, int, str]]],
    object_size: float,
    settings: CalibrationSettings | None = None,
) -> float:
    """Losses per frame of the tracker on this clip for an object of ``object_size`` px (the
    square root of its box area), on the safe side.

    A Gamma-Poisson estimate: the checked runs' losses over their frames, with a prior of
    ``tracker_prior_frames`` frames at a rate that grows as the object's area shrinks (a small
    template holds little to follow); the upper end of the rate's 80% interval (``mean + 1.28
    sd``) is returned, so that a few lucky runs do not make every unchecked one look safe."""
    s = settings or CalibrationSettings()
    scale = float(np.clip((object_size / s.tracker_full_size) ** 2, 1 / 16, 1.0))
    prior_rate = 1.0 / (s.tracker_frames_per_loss * scale)
    frames = losses = 0
    for runs in tracks.values():
        for _, distance, status in runs:
            if status in ("verified", "failed"):
                frames += 1
                losses += status == "failed" and distance == 1  # one loss per failed run
    shape = losses + prior_rate * s.tracker_prior_frames
    return (shape + 1.28 * np.sqrt(shape)) / (frames + s.tracker_prior_frames)


def _size(box: np.ndarray) -> float:
    return float(np.sqrt(max((box[2] - box[0]) * (box[3] - box[1]), 1.0)))


def tracker_support(
    boxes: np.ndarray,
    from_tracker: np.ndarray,
    tracks: Mapping[int, Sequence[tuple[np.ndarray, int, str]]],
    keyframes: Mapping[int, np.ndarray | None],
    recall: np.ndarray | None = None,
    settings: CalibrationSettings | None = None,
) -> np.ndarray:
    """Per frame, the most a box that only a tracker gives can be trusted; 1 where a checked
    ("verified") run gives it, and for every frame not in ``from_tracker``.

    The run is still on the object with probability ``p = exp(-rate * d)``, ``d`` the distance
    along it from the human box and ``rate`` the :func:`tracker_loss_rate` for that box's size.
    The detector found nothing there, which it would have done with probability ``1 - r`` had
    the object been there (``r``: ``recall``, per frame) and surely had it not:
    ``p (1 - r) / (p (1 - r) + 1 - p)``.  A detector that finds little changes little.
    """
    s = settings or CalibrationSettings()
    support = np.ones(len(boxes))
    rates: dict[float, float] = {}
    for t in np.flatnonzero(from_tracker):
        runs = tracks.get(int(t), ())
        if not runs:
            continue
        overlap = [float(box_iou(boxes[t][None], np.asarray(b, float)[None])[0, 0])
                   for b, _, _ in runs]
        box, distance, status = runs[int(np.argmax(overlap))]
        if status == "verified":
            continue
        start = next((k for k in (int(t) - distance, int(t) + distance)
                      if keyframes.get(k) is not None), None)
        size = round(_size(np.asarray(box, float) if start is None else keyframes[start]))
        if size not in rates:
            rates[size] = tracker_loss_rate(tracks, size, s)
        p = float(np.exp(-rates[size] * distance))
        missed = 1.0 - (0.0 if recall is None else float(recall[t]))
        support[t] = p * missed / (p * missed + 1.0 - p) if p < 1 else 1.0
    return support


def model_support(
    n_frames: int,
    *,
    keyframes: Mapping[int, np.ndarray | None],
    candidates_xyxy: np.ndarray,
    candidates_scores: np.ndarray,
    threshold: float,
    cuts: Sequence[int],
    precision: float | None = None,
    settings: CalibrationSettings | None = None,
) -> np.ndarray:
    """Per frame, the most a detector's box can be trusted given how it did on the human boxes
    of the same shot.

    In a shot nobody has looked at (no human frame), nothing says the box is on the object and
    not on a look-alike: there it is capped at the detector's ``precision`` where it was checked
    (:attr:`RecallEstimate.precision`), shrunk by ``unseen_shot_factor``.

    A model that cannot reproduce a person's box on a frame it was trained on will not do
    better on the frames around it.  Next to a human frame where its best candidate over the
    threshold reaches IoU 0.5 or less, its boxes are capped at ``model_miss_floor``; the cap
    rises linearly to none as that IoU goes up to ``model_fit_iou``, and relaxes with distance
    over ``model_miss_decay`` frames.
    ``model_fit_iou`` sits above 0.5 because a box that only just reaches 0.5 on a training
    frame falls below it on the frames around (small objects, where a few pixels matter).
    """
    s = settings or CalibrationSettings()
    support = np.ones(n_frames)
    if precision is not None:
        seen = np.array(sorted(keyframes), int)
        for shot in split_clip(n_frames, cuts, max_length=max(n_frames, 1)):
            if not ((seen >= shot.start) & (seen <= shot.end)).any():
                support[shot.start:shot.end + 1] = precision * s.unseen_shot_factor
    floors: dict[int, float] = {}  # human frame -> the cap right next to it
    for k, box in keyframes.items():
        if box is None:
            continue
        found = (candidates_scores[k] >= threshold) & np.isfinite(candidates_xyxy[k]).all(axis=1)
        best = (float(box_iou(np.asarray(box, float)[None], candidates_xyxy[k][found]).max())
                if found.any() else 0.0)
        fit = float(np.clip((best - 0.5) / (s.model_fit_iou - 0.5), 0.0, 1.0))
        if fit < 1.0:
            floors[int(k)] = s.model_miss_floor + (1 - s.model_miss_floor) * fit
    frames = np.arange(n_frames)
    for shot in split_clip(n_frames, cuts, max_length=max(n_frames, 1)):
        a, b = shot.start, shot.end + 1
        for k, floor in floors.items():
            if a <= k < b:
                d = np.abs(frames[a:b] - k)
                cap = 1 - (1 - floor) * np.exp(-d / s.model_miss_decay)
                support[a:b] = np.minimum(support[a:b], cap)
    return support


@dataclass
class Calibration:
    """A map from the capped confidence to the share of labels a person found right, per kind
    of label (the cue behind it: ``"model"``, ``"tracker"``, ``"interpolated"`` or
    ``"absent"``), fitted on held-out answers (see :func:`review_answers`).

    Each bin's value is the Beta posterior mean with ``prior_strength`` pseudo-answers at the
    bin's own mean confidence, so without answers the map changes nothing.  A bin is raised
    more reluctantly than it is lowered (the rise is scaled by ``n / (n + raise_answers)``):
    review answers come from frames picked because they looked doubtful, and a few right ones
    must not lift a whole bin over the "confident" line.  The map is made
    non-decreasing within each kind (a more confident label is never reported as less likely
    right than a less confident one).
    """

    settings: CalibrationSettings = field(default_factory=CalibrationSettings)
    #: per kind: (answers per bin, right per bin)
    counts: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: the answers it was fitted on: (capped confidence, kind, right)
    answers: tuple[np.ndarray, np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.zeros(0), np.zeros(0, str), np.zeros(0, bool)))

    @classmethod
    def fit(cls, confidence: np.ndarray, kinds: Sequence[str], correct: np.ndarray,
            settings: CalibrationSettings | None = None) -> Calibration:
        s = settings or CalibrationSettings()
        conf = np.asarray(confidence, float).reshape(-1)
        kinds = np.asarray(kinds, dtype=str).reshape(-1)
        ok = np.asarray(correct, bool).reshape(-1)
        if not (conf.shape == kinds.shape == ok.shape):
            raise ValueError("confidence, kinds and correct need one value per answer, but got "
                             f"{conf.shape}, {kinds.shape} and {ok.shape}")
        cal = cls(s, answers=(conf, kinds, ok))
        bins = cal._bins(conf)
        for kind in np.unique(kinds).tolist():
            mask = kinds == kind
            n = np.bincount(bins[mask], minlength=len(s.edges) - 1).astype(float)
            k = np.bincount(bins[mask], weights=ok[mask], minlength=len(s.edges) - 1)
            cal.counts[kind] = (n, k)
        return cal

    def _bins(self, conf: np.ndarray) -> np.ndarray:
        edges = np.asarray(self.settings.edges)
        return np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, len(edges) - 2)

    @property
    def n_answers(self) -> int:
        return len(self.answers[0])

    def checked(self, threshold: float) -> tuple[int, int]:
        """``(right, answered)`` among the answers to labels at least ``threshold`` confident:
        the direct measure of how far "confident" can be trusted."""
        conf, _, ok = self.answers
        above = conf >= threshold
        return int(ok[above].sum()), int(above.sum())

    def apply(self, confidence: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
        """The calibrated confidence of labels with these capped confidences and kinds."""
        conf = np.asarray(confidence, float).reshape(-1)
        kinds = np.asarray(kinds, dtype=str).reshape(-1)
        out = conf.copy()
        bins = self._bins(conf)
        m = self.settings.prior_strength
        for kind, (n, k) in self.counts.items():
            mask = kinds == kind
            if not mask.any():
                continue
            # The correction of each bin (posterior minus prior), applied to every label in it:
            # labels keep their order within a bin, and a bin without answers is unchanged.
            shift = np.zeros(len(n))
            for b in range(len(n)):
                if n[b] == 0:
                    continue
                inside = mask & (bins == b)
                prior = float(conf[inside].mean()) if inside.any() else float(
                    (self.settings.edges[b] + self.settings.edges[b + 1]) / 2)
                shift[b] = (k[b] + m * prior) / (n[b] + m) - prior
                if shift[b] > 0:  # raising needs more evidence than lowering (see the docs)
                    shift[b] *= n[b] / (n[b] + self.settings.raise_answers)
            out[mask] = np.clip(conf[mask] + shift[bins[mask]], 0.0, 1.0)
            # Non-decreasing in the capped confidence within this kind.
            order = np.argsort(conf[mask], kind="stable")
            values = out[mask][order]
            out_mask = np.empty_like(values)
            out_mask[order] = _non_decreasing(values)
            out[mask] = out_mask
        return out


def wilson_interval(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share ``right / n`` (95% by default); (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def checked_summary(right: int, n: int, *, dash: str = "-") -> str:
    """What people found when they checked confident labels, with its 95% interval:
    ``"7 of 8 right (95% interval 53%-98%)"``, or ``"none yet"``."""
    if n <= 0:
        return "none yet"
    low, high = wilson_interval(right, n)
    return f"{right} of {n} right (95% interval {low:.0%}{dash}{high:.0%})"


def _non_decreasing(values: np.ndarray) -> np.ndarray:
    """The closest non-decreasing sequence in least squares (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [sum, count]
    for v in values.tolist():
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    return np.concatenate([np.full(int(c), s / c) for s, c in blocks]) if blocks else values


def label_matches(box: np.ndarray, human: np.ndarray | None, iou: float = 0.5) -> bool:
    """Whether a machine label (``xyxy`` or a NaN row for "absent") is what the person gave."""
    box = np.asarray(box, float)
    if human is None:
        return not bool(present_mask(box[None])[0])
    if not bool(present_mask(box[None])[0]):
        return False
    return float(box_iou(box[None], np.asarray(human, float)[None])[0, 0]) >= iou


def review_answers(
    labellings: Mapping[int, Mapping[str, np.ndarray]],
    first_answered: Mapping[int, int],
    human: Mapping[int, np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out examples for :meth:`Calibration.fit` from a project's history.

    Args:
        labellings: ``{iteration: arrays}`` as saved by each prediction (``boxes`` and
            ``confidence``, and ``capped_confidence`` where stored).
        first_answered: ``{frame: iteration}`` in which a person first labelled each frame.
        human: the person's label of each of those frames (``None`` = absent).

    Returns:
        ``(confidence, kinds, correct)``: for each answered frame, the labelling on show when
        the person answered it (the latest one made in or before that iteration, while the
        frame was still machine-labelled): its capped confidence, the cue behind it (a name of
        :data:`~microlab.labeller.SOURCES`), and whether the person kept it.
    """
    conf, kinds, ok = [], [], []
    made = sorted(labellings)
    for frame, answered in first_answered.items():
        before = [it for it in made if it <= answered]
        if not before or frame not in human:
            continue
        arrays = labellings[before[-1]]
        c = arrays.get("capped_confidence", arrays["confidence"])
        box = arrays["boxes"][frame]
        conf.append(float(c[frame]))
        kinds.append(str(SOURCES[int(arrays["source"][frame])]))
        ok.append(label_matches(box, human[frame]))
    return np.asarray(conf, float), np.asarray(kinds, dtype=str), np.asarray(ok, bool)


__all__ = [
    "Calibration",
    "CalibrationSettings",
    "RecallEstimate",
    "absence_support",
    "checked_summary",
    "detector_recall",
    "label_matches",
    "model_support",
    "recall_by_frame",
    "review_answers",
    "tracker_loss_rate",
    "tracker_support",
    "wilson_interval",
]
