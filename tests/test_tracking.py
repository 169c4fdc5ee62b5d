"""OpenCV tracker runs: propagation, and the runs between human keyframes that the labeller trusts
only when they arrive on the next human answer."""

from __future__ import annotations

import numpy as np
import pytest

from microlab import tracking
from microlab.boxes import box_iou
from microlab.errors import SettingsError
from microlab.tracking import Tracker, create_tracker, keyframe_tracks, propagate

SIZE = (160, 120)  # width, height
SIDE = 24


def _object_box(frame: int) -> np.ndarray:
    x = 20 + 2 * frame
    return np.array([x, 40, x + SIDE, 40 + SIDE], float)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """40 frames: a checkered square moving 2 px a frame to the right over fixed noise."""
    rng = np.random.default_rng(0)
    background = rng.integers(60, 120, size=(SIZE[1], SIZE[0], 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    square = np.where(((yy // 6 + xx // 6) % 2)[..., None] == 0, 240, 20).astype(np.uint8)
    square = np.repeat(square, 3, axis=2)
    out = []
    for f in range(40):
        image = background.copy()
        x0, y0 = _object_box(f)[:2].astype(int)
        image[y0:y0 + SIDE, x0:x0 + SIDE] = square
        out.append(image)
    return out


def test_unknown_tracker_kind_is_refused() -> None:
    with pytest.raises(SettingsError, match="'csrt' or 'kcf'"):
        create_tracker("sam2")


def test_a_tracker_that_was_not_started_finds_nothing(frames) -> None:
    tracker = Tracker()
    assert not tracker.running
    assert tracker.update(frames[0]) is None
    tracker.start(frames[0], _object_box(0))
    assert tracker.running
    tracker.stop()
    assert tracker.update(frames[1]) is None


@pytest.mark.parametrize(("start", "stop"), [(0, 20), (30, 10)])
def test_propagate_follows_the_object_both_ways(frames, start: int, stop: int) -> None:
    boxes = propagate(frames, start, _object_box(start), stop)
    step = 1 if stop > start else -1
    assert sorted(boxes) == sorted(range(start + step, stop, step))  # never the start, not the stop
    ious = [float(box_iou(boxes[f], _object_box(f))) for f in boxes]
    assert min(ious) >= 0.7, ious


def test_keyframe_runs_are_verified_failed_or_open(frames) -> None:
    keyframes = {5: _object_box(5), 15: _object_box(15), 25: None}  # 25 says "absent": it is not
    runs = keyframe_tracks(frames, keyframes, cuts=[32])
    by_start = {}
    for run in runs:
        by_start.setdefault(run.start, []).append(run)
    assert set(by_start) == {5, 15}  # an "absent" keyframe starts no run
    forward_5 = next(r for r in by_start[5] if max(r.boxes, default=5) > 5)
    assert forward_5.status == "verified"  # arrived on frame 15's box
    assert 15 not in forward_5.boxes  # the human frame keeps its own label
    forward_15 = next(r for r in by_start[15] if max(r.boxes, default=15) > 15)
    assert forward_15.status == "failed"  # it kept a box where the person said "absent"
    backward_5 = next(r for r in by_start[5] if min(r.boxes, default=5) < 5)
    assert backward_5.status == "open"  # reached the clip's start unchecked
    assert min(backward_5.boxes) == 0


def test_keyframe_runs_stop_at_cuts_and_the_span(frames) -> None:
    runs = keyframe_tracks(frames, {20: _object_box(20)}, cuts=[28], span=5)
    frames_reached = sorted(f for run in runs for f in run.boxes)
    assert frames_reached == [15, 16, 17, 18, 19, 21, 22, 23, 24, 25]
    assert {run.status for run in runs} == {"open"}
    runs = keyframe_tracks(frames, {20: _object_box(20)}, cuts=[24])
    assert max(f for run in runs for f in run.boxes) == 23  # the shot ends before the cut


def test_unchanged_runs_come_from_the_cache(frames, monkeypatch) -> None:
    cache: dict = {}
    keyframes = {5: _object_box(5), 15: _object_box(15)}
    first = keyframe_tracks(frames, keyframes, cache=cache)
    calls = []
    monkeypatch.setattr(tracking, "propagate", lambda *a, **k: calls.append(a) or {})
    again = keyframe_tracks(frames, keyframes, cache=cache)
    assert calls == []
    assert [id(r) for r in again] == [id(r) for r in first]
    keyframes[30] = _object_box(30)  # a new keyframe: only the runs it changes are tracked again
    keyframe_tracks(frames, keyframes, cache=cache)
    assert 0 < len(calls) < len(first) + 2
