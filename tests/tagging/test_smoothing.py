"""The cut-aware HMM on hand-made probability sequences whose best paths are known."""

from __future__ import annotations

import numpy as np
import pytest

from microlab.errors import SettingsError
from microlab.tagging.smoothing import (
    SmoothingSettings,
    log_evidence,
    posteriors,
    smooth_multi,
    smooth_single,
    viterbi,
)


def _probs(seq: list[int], k: int = 3, p: float = 0.8) -> np.ndarray:
    out = np.full((len(seq), k), (1 - p) / (k - 1))
    out[np.arange(len(seq)), seq] = p
    return out


def test_an_isolated_flicker_inside_a_shot_is_smoothed_away() -> None:
    seq = [0] * 10 + [1] + [0] * 10
    path, post = smooth_single(_probs(seq))
    assert path.tolist() == [0] * 21
    assert post[10, 0] > 0.5


def test_a_change_at_a_cut_is_kept_and_one_without_a_cut_needs_more_evidence() -> None:
    seq = [0] * 10 + [1] * 3 + [0] * 10
    # Three frames of "1" are not enough to pay for two switches inside a shot ...
    assert viterbi(log_evidence(_probs(seq), weight=0.3)).tolist() == [0] * 23
    # ... but at cuts a switch is free, so the same evidence wins.
    path = viterbi(log_evidence(_probs(seq), weight=0.3), cuts=[10, 13])
    assert path.tolist() == seq


def test_a_fixed_frame_pins_its_shot_against_a_weakly_wrong_model() -> None:
    seq = [1] * 12
    probs = _probs(seq, p=0.5)
    path, post = smooth_single(probs, cuts=[], fixed={6: 2})
    assert path.tolist() == [2] * 12
    assert post[6, 2] > 0.999


def test_the_fixed_tag_stops_at_the_cut() -> None:
    seq = [0] * 8 + [1] * 8
    probs = _probs(seq, p=0.6)
    path, _ = smooth_single(probs, cuts=[8], fixed={2: 2})
    assert path.tolist() == [2] * 8 + [1] * 8


def test_posteriors_are_distributions_and_match_brute_force_on_a_tiny_chain() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(2), size=4)
    e = log_evidence(probs)
    post = posteriors(e, cuts=[2], switch=0.1)
    assert np.allclose(post.sum(axis=1), 1)
    # Brute force over all 2^4 paths.
    import itertools

    trans = np.log(np.array([[0.9, 0.1], [0.1, 0.9]]))
    total = np.zeros((4, 2))
    for path in itertools.product(range(2), repeat=4):
        lp = np.log(0.5) + e[0, path[0]]
        for i in range(1, 4):
            lp += (np.log(0.5) if i == 2 else trans[path[i - 1], path[i]]) + e[i, path[i]]
        for i, s in enumerate(path):
            total[i, s] += np.exp(lp)
    assert np.allclose(post, total / total.sum(axis=1, keepdims=True))


def test_viterbi_matches_brute_force() -> None:
    import itertools

    rng = np.random.default_rng(3)
    e = np.log(rng.dirichlet(np.ones(3), size=5))
    best = max(itertools.product(range(3), repeat=5), key=lambda p: sum(
        e[i, s] for i, s in enumerate(p)) + sum(
        np.log(1 - 0.2) if a == b else np.log(0.1) for a, b in itertools.pairwise(p)))
    assert viterbi(e, switch=0.2).tolist() == list(best)


def test_multi_label_smooths_each_class_and_pins_the_human_tags() -> None:
    present = np.zeros((10, 2))
    present[:, 0] = [0.9] * 4 + [0.2] + [0.9] * 5  # class 0 on, one dip
    present[:, 1] = 0.3
    tags, post = smooth_multi(present, fixed={7: [0, 1]})
    assert tags[:, 0].all()  # the dip is smoothed
    assert tags[7, 1]
    assert post[7, 1] > 0.99
    assert tags.shape == post.shape == (10, 2)
    # A person's tags of a frame are complete: a class left out is absent there.
    _, post = smooth_multi(present, fixed={7: [1]})
    assert post[7, 0] < 0.01


@pytest.mark.parametrize(("kwargs", "word"), [({"switch": 0.0}, "switch"),
                                              ({"switch": 1.0}, "switch"),
                                              ({"evidence_weight": 0.0}, "evidence_weight")])
def test_settings_are_checked(kwargs: dict, word: str) -> None:
    with pytest.raises(SettingsError, match=word):
        SmoothingSettings(**kwargs)


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"shape \(frames, states\)"):
        log_evidence(np.ones(5))
