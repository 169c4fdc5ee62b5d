"""Smoothing frame tags in time: a hidden Markov model whose states are the classes.

A tag rarely changes between two neighbouring frames of one shot, and often changes at a cut.
The model says exactly that: inside a shot the tag switches with a small probability
``switch``; at a cut every class is equally likely next.  Each frame's classifier output is
evidence, weighted by ``evidence_weight`` because neighbouring frames look alike and are not
independent observations (twenty near-identical frames must not count as twenty votes).  Frames
a person tagged are fixed.

:func:`viterbi` gives the most likely sequence of tags, :func:`posteriors` the probability of
each tag at each frame given the whole clip (forward-backward): the smoothed confidence.  Both
work on log-probabilities, one row per frame, so they run on clips of any length.
Multi-label tags are smoothed one class at a time, as present/absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from microlab.errors import SettingsError

_FIXED = 1e-6  # probability left to the other classes of a frame a person tagged


@dataclass(frozen=True)
class SmoothingSettings:
    """How strongly tags stick together in time.

    Attributes:
        switch: probability that the tag changes between two frames of the same shot.
        evidence_weight: the weight of one frame's classifier output (1 = an independent
            observation; less, because neighbouring frames repeat each other).
    """

    switch: float = 1e-3
    evidence_weight: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.switch < 1:
            raise SettingsError(f"switch must be in (0, 1), but got {self.switch}")
        if not 0 < self.evidence_weight <= 1:
            raise SettingsError(f"evidence_weight must be in (0, 1], but got "
                                f"{self.evidence_weight}")


def _log_transitions(n_states: int, switch: float) -> tuple[np.ndarray, np.ndarray]:
    """``(inside a shot, at a cut)`` log transition matrices."""
    if n_states == 1:
        return np.zeros((1, 1)), np.zeros((1, 1))
    inside = np.full((n_states, n_states), np.log(switch / (n_states - 1)))
    np.fill_diagonal(inside, np.log1p(-switch))
    at_cut = np.full((n_states, n_states), -np.log(n_states))
    return inside, at_cut


def _cut_mask(n: int, cuts: Sequence[int]) -> np.ndarray:
    """``mask[i]``: frame ``i`` starts a new shot (so the step ``i - 1 -> i`` crosses a cut)."""
    mask = np.zeros(n, bool)
    for c in cuts:
        if 0 < int(c) < n:
            mask[int(c)] = True
    return mask


def log_evidence(probs: np.ndarray, fixed: Mapping[int, int] | None = None, *,
                 weight: float = 1.0, floor: float = 1e-3) -> np.ndarray:
    """Per-frame log evidence for each state from classifier probabilities ``(n, states)``.

    Probabilities are floored (a classifier is never certain enough to veto a person's tag
    nearby), raised to ``weight``, and frames in ``fixed`` (``{frame: state}``) are pinned.
    """
    p = np.asarray(probs, float)
    if p.ndim != 2 or p.shape[1] < 1:
        raise SettingsError(f"probabilities need shape (frames, states), but got {p.shape}")
    out = weight * np.log(np.clip(p, floor, 1.0))
    for frame, state in (fixed or {}).items():
        row = np.full(p.shape[1], np.log(_FIXED))
        row[int(state)] = 0.0
        out[int(frame)] = row
    return out


def viterbi(log_evidence: np.ndarray, cuts: Sequence[int] = (), *,
            switch: float = 1e-3) -> np.ndarray:
    """The most likely state of each frame (ties go to the lower state index)."""
    e = np.asarray(log_evidence, float)
    n, k = e.shape
    if n == 0:
        return np.zeros(0, int)
    inside, at_cut = _log_transitions(k, switch)
    cut = _cut_mask(n, cuts)
    score = e[0] - np.log(k)
    back = np.zeros((n, k), int)
    for i in range(1, n):
        trans = at_cut if cut[i] else inside
        cand = score[:, None] + trans  # from -> to
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], np.arange(k)] + e[i]
    path = np.zeros(n, int)
    path[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def posteriors(log_evidence: np.ndarray, cuts: Sequence[int] = (), *,
               switch: float = 1e-3) -> np.ndarray:
    """``P(state of frame i | all the evidence)`` for every frame, shape ``(n, states)``."""
    e = np.asarray(log_evidence, float)
    n, k = e.shape
    if n == 0:
        return np.zeros((0, k))
    inside, at_cut = _log_transitions(k, switch)
    cut = _cut_mask(n, cuts)
    fwd = np.zeros((n, k))
    fwd[0] = e[0] - np.log(k)
    for i in range(1, n):
        trans = at_cut if cut[i] else inside
        fwd[i] = _logsumexp(fwd[i - 1][:, None] + trans, axis=0) + e[i]
    bwd = np.zeros((n, k))
    for i in range(n - 2, -1, -1):
        trans = at_cut if cut[i + 1] else inside
        bwd[i] = _logsumexp(trans + (e[i + 1] + bwd[i + 1])[None, :], axis=1)
    joint = fwd + bwd
    joint -= _logsumexp(joint, axis=1)[:, None]
    return np.exp(joint)


def smooth_single(probs: np.ndarray, cuts: Sequence[int] = (),
                  fixed: Mapping[int, int] | None = None,
                  settings: SmoothingSettings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One tag per frame: ``(best path, posterior (n, classes))``."""
    s = settings or SmoothingSettings()
    e = log_evidence(probs, fixed, weight=s.evidence_weight)
    return viterbi(e, cuts, switch=s.switch), posteriors(e, cuts, switch=s.switch)


def smooth_multi(probs: np.ndarray, cuts: Sequence[int] = (),
                 fixed: Mapping[int, Sequence[int]] | None = None,
                 settings: SmoothingSettings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Several tags per frame, each smoothed on its own as present/absent.

    ``probs`` is ``(n, classes)`` of independent per-class probabilities; ``fixed`` gives a
    person's tags of a frame (every class not listed is absent there).  Returns
    ``(tags (n, classes) bool, posterior of presence (n, classes))``.
    """
    s = settings or SmoothingSettings()
    p = np.asarray(probs, float)
    tags = np.zeros(p.shape, bool)
    post = np.zeros(p.shape)
    for c in range(p.shape[1]):
        two = np.stack([1 - p[:, c], p[:, c]], axis=1)
        pinned = {f: int(c in set(map(int, cs))) for f, cs in (fixed or {}).items()}
        e = log_evidence(two, pinned, weight=s.evidence_weight)
        tags[:, c] = viterbi(e, cuts, switch=s.switch).astype(bool)
        post[:, c] = posteriors(e, cuts, switch=s.switch)[:, 1]
    return tags, post


__all__ = ["SmoothingSettings", "log_evidence", "posteriors", "smooth_multi", "smooth_single",
           "viterbi"]
