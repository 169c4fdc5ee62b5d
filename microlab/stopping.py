"""The stopping rule: per segment, is it labelled well enough to stop looking at it?

A segment (one spline piece of the clip) is *done* when two things hold:

* **coverage**: nearly all of its frames hold a human label or a confident machine label
  (confidence >= :data:`microlab.loop.CONFIDENT`), and
* **evidence**: the last time a person reviewed frames of this segment after a prediction,
  those frames needed no correction (every one was accepted as shown).

Coverage alone is the model's opinion of itself; the clean review is the person's.  A segment
whose last reviewed frames needed corrections keeps its "continue" verdict until a review
after retraining comes back clean, because the corrections say the model was wrong there.

Both inputs are knowable without ground truth, so the rule works on a real clip.  The whole
clip can stop when every segment is done (:func:`should_stop`).

>>> for v in segment_verdicts(project):
...     print(v.start, v.end, v.verdict, v.reason)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from microlab.errors import SettingsError

if TYPE_CHECKING:
    from microlab.project import Project

#: The verdicts, from best to worst.
VERDICTS = ("done", "check", "continue", "label")

_REVIEW_KINDS = ("accept", "draw", "correct", "delete", "absent")


@dataclass(frozen=True)
class SegmentVerdict:
    """The stopping rule's answer for one segment (frames ``start`` to ``end`` inclusive).

    Attributes:
        start: first frame of the segment.
        end: last frame of the segment.
        coverage: share of its frames with a human or confident label, in [0, 1].
        human_frames: frames of the segment a person has verified.
        reviewed: frames of the segment reviewed in its latest review round (0 if never
            reviewed after a prediction).
        corrected: how many of those needed at least one action (a draw, correction, delete
            or "absent"); 0 means every reviewed frame was accepted as shown.
        review_iteration: the iteration of that latest review round, or ``None``.
        verdict: ``"done"`` (covered, and the last review needed no correction), ``"check"``
            (covered but never reviewed after a prediction: look at one frame to confirm),
            ``"continue"`` (coverage too low, or the last review needed corrections) or
            ``"label"`` (no model output yet: label a frame here first).
        reason: one sentence a person can act on.
    """

    start: int
    end: int
    coverage: float
    human_frames: int
    reviewed: int
    corrected: int
    review_iteration: int | None
    verdict: str
    reason: str

    @property
    def done(self) -> bool:
        return self.verdict == "done"

    def __len__(self) -> int:
        return self.end - self.start + 1


def segment_verdicts(project: Project, *, coverage_target: float = 0.95) -> list[SegmentVerdict]:
    """The stopping rule's verdict for every segment of the project's clip.

    Coverage comes from the latest prediction (:meth:`Project.frame_confidence`); the review
    evidence from the action log: for each segment, the frames a person accepted, corrected,
    deleted, drew or marked absent in the latest iteration (>= 1, i.e. after a prediction) in
    which they reviewed any frame of it.

    Args:
        project: an open project.
        coverage_target: share of covered frames a segment needs, in (0, 1].

    Returns:
        One :class:`SegmentVerdict` per segment, in clip order.

    Raises:
        SettingsError: when ``coverage_target`` is not in (0, 1] (a ``ValueError``).
    """
    from microlab.loop import segment_stats  # loop loads torch: keep this module light

    segments = project.segments()
    stats = segment_stats(project, segments, project.frame_confidence())
    # frame -> iteration -> cost spent reviewing it in that iteration
    reviews: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for action in project.actions():
        if action.iteration >= 1 and action.kind in _REVIEW_KINDS:
            reviews[action.frame][action.iteration] += action.cost
    return verdicts_from_reviews(
        [(seg.start, seg.end) for seg in segments],
        [float(st["coverage"]) for st in stats], [int(st["human_frames"]) for st in stats],
        reviews, project.iteration, coverage_target=coverage_target)


def verdicts_from_reviews(
    segments: Sequence[tuple[int, int]],
    coverage: Sequence[float],
    human_frames: Sequence[int],
    reviews: Mapping[int, Mapping[int, int]],
    iteration: int,
    *,
    coverage_target: float = 0.95,
) -> list[SegmentVerdict]:
    """The verdicts from plain data, for any kind of label (boxes here, frame tags in
    :meth:`microlab.tagging.TagProject.segment_verdicts`).

    Args:
        segments: ``(start, end)`` frames of each segment, inclusive.
        coverage: per segment, the share of frames with a human or confident label.
        human_frames: per segment, the frames a person labelled.
        reviews: ``frame -> iteration -> cost`` of every answer a person gave after a
            prediction (iteration >= 1; an accept costs 0).
        iteration: the project's current iteration (0: nothing predicted yet).
        coverage_target: share of covered frames a segment needs, in (0, 1].
    """
    if not 0.0 < coverage_target <= 1.0:
        raise SettingsError(f"coverage_target must be in (0, 1], but got {coverage_target!r}")
    out: list[SegmentVerdict] = []
    for (start, end), cov, humans in zip(segments, coverage, human_frames):
        frames = range(start, end + 1)
        rounds = {it for f in frames if f in reviews for it in reviews[f]}
        last = max(rounds) if rounds else None
        reviewed = corrected = 0
        if last is not None:
            checked = [f for f in frames if last in reviews.get(f, {})]
            reviewed = len(checked)
            corrected = sum(reviews[f][last] > 0 for f in checked)
        verdict, reason = _verdict(float(cov), coverage_target, iteration > 0, reviewed,
                                   corrected, last, iteration)
        out.append(SegmentVerdict(start, end, float(cov), int(humans), reviewed, corrected, last,
                                  verdict, reason))
    return out


def _verdict(
    coverage: float,
    target: float,
    predicted: bool,
    reviewed: int,
    corrected: int,
    last: int | None,
    iteration: int,
) -> tuple[str, str]:
    if not predicted:
        return "label", "no prediction yet: label the suggested frames, then train and predict"
    if corrected:
        when = ("after the latest prediction; retrain" if last == iteration
                else f"in iteration {last}")
        return "continue", (
            f"{corrected} of its {reviewed} last reviewed frames needed corrections ({when}), "
            "then review it again"
        )
    if coverage < target:
        return "continue", (f"coverage {coverage:.0%} is below {target:.0%}: "
                            "review its doubtful frames")
    if reviewed == 0:
        return "check", (f"coverage {coverage:.0%} but never reviewed: "
                         "accept or fix one frame to confirm")
    return "done", f"coverage {coverage:.0%} and its last {reviewed} reviewed frames were all right"


def should_stop(project: Project, *, coverage_target: float = 0.95) -> bool:
    """True when every segment's verdict is ``"done"`` (see :func:`segment_verdicts`)."""
    return all(v.done for v in segment_verdicts(project, coverage_target=coverage_target))
