"""Change-point and keyframe tagging on toy tag sequences with countable answers."""

from __future__ import annotations

import itertools

import numpy as np

from microlab.tagging.baselines import change_point_curve, keyframe_curve, tag_baselines


def test_change_points_cost_one_action_per_run_and_fix_the_longest_runs_first() -> None:
    truth = [0] * 50 + [1] * 5 + [0] * 40 + [2] * 5
    curve = change_point_curve(truth)
    assert [a for a, _, _ in curve] == [1, 2, 3, 4]
    assert curve[-1][2] == 100  # every run tagged: every frame right
    assert all(v == 100 for _, v, _ in curve)  # a person watches the whole clip
    # After the first tag (frame 0 = class 0) the 90 frames of class 0 are right: the run of
    # 1s is tagged next (+5) but then the 40 frames after it need their own tag; greedy takes
    # the tag that fixes most first.
    assert curve[0][2] == 90
    assert curve[1][2] == 95


def test_keyframes_propagate_to_the_nearest_and_add_keys_where_wrong() -> None:
    truth = np.array([0] * 30 + [1] * 30)
    curve = keyframe_curve(truth, 30)  # keys at 0 and 30: frames 16-29 are nearer to 30
    assert curve[1] == (2, 60, 46)
    assert curve[-1][2] == 60
    curve = keyframe_curve(truth, 60)  # one key at 0: the 1s need a key
    assert curve[0] == (1, 60, 30)
    assert curve[-1][2] == 60
    assert all(c1 <= c2 for (_, _, c1), (_, _, c2) in itertools.pairwise(curve))


def test_tag_baselines_report_the_best_keyframe_step() -> None:
    truth = [0] * 100 + [1] * 100 + [0] * 100
    out = tag_baselines(truth)
    assert out["change_points"]["actions_to_100"] == 3
    assert out["change_points"]["frames_viewed_to_95"] == 300
    assert out["keyframes"]["step"] in (10, 25, 50, 100)
    assert out["keyframes"]["actions_to_100"] >= 3
