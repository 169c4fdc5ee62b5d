"""Track timelines on hand-made cases: runs, human ticks, and identity switches found with and
without the truth."""

from __future__ import annotations

import numpy as np

from microlab import plots
from microlab.boxes import Detections
from microlab.multi.timeline import track_timeline


def _frame(boxes: dict[int, tuple[float, float, float, float]]) -> Detections:
    if not boxes:
        return Detections.empty()
    tracks = sorted(boxes)
    return Detections(np.array([boxes[t] for t in tracks], float), track_ids=tracks)


LEFT = [(0, 0, 10, 10), (2, 0, 12, 10), (4, 0, 14, 10), (6, 0, 16, 10)]
RIGHT = [(50, 0, 60, 10), (48, 0, 58, 10), (46, 0, 56, 10), (44, 0, 54, 10)]


def test_two_objects_that_trade_identities_are_flagged_both_ways() -> None:
    # Frames 0-1 right; from frame 2 the tracker's tracks 1 and 2 have traded objects.
    predicted = [_frame({1: LEFT[0], 2: RIGHT[0]}), _frame({1: LEFT[1], 2: RIGHT[1]}),
                 _frame({1: RIGHT[2], 2: LEFT[2]}), _frame({1: RIGHT[3], 2: LEFT[3]})]
    truth = [_frame({10: LEFT[f], 20: RIGHT[f]}) for f in range(4)]
    timeline = track_timeline(predicted, human_frames=[0], truth=truth)
    assert timeline.tracks == [1, 2]
    assert timeline.frames == {1: [0, 1, 2, 3], 2: [0, 1, 2, 3]}
    assert timeline.human == {1: [0], 2: [0]}
    # without the truth: at frame 2 each box jumps onto the other's path
    assert [(f, t) for f, t, _ in timeline.suspected_switches] == [(2, 1), (2, 2)]
    assert timeline.measured_switches == [(2, 1, 10, 20), (2, 2, 20, 10)]


def test_a_track_that_leaves_and_returns_keeps_its_row_without_a_flag() -> None:
    boxes = [{1: LEFT[0]}, {1: LEFT[1]}, {}, {}, {1: LEFT[2]}]
    timeline = track_timeline([_frame(b) for b in boxes])
    assert timeline.frames == {1: [0, 1, 4]}
    assert timeline.suspected_switches == []  # a gap is not a switch
    assert timeline.coverage(1) == 3 / 5


def test_a_sudden_jump_is_suspected() -> None:
    boxes = [{3: (0, 0, 10, 10)}, {3: (100, 0, 110, 10)}]
    (flag,) = track_timeline([_frame(b) for b in boxes]).suspected_switches
    assert flag[:2] == (1, 3)
    assert "jumps" in flag[2]


def test_the_timeline_figure_has_a_row_per_track() -> None:
    predicted = [_frame({1: LEFT[f], 2: RIGHT[f]}) for f in range(4)]
    predicted[3] = _frame({1: LEFT[3]})
    fig = plots.track_timeline_figure(track_timeline(predicted, human_frames=[0]),
                                      ["pedestrian"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["track 1", "track 2"]
    assert "2 tracks" in ax.get_title(loc="left")
    assert plots.to_png(fig)[:4] == b"\x89PNG"
