"""The QRS detector's decisions: which candidate peaks are beats.

A sequential state machine over the candidates in index order, after Pan J,
Tompkins WJ, "A real-time QRS detection algorithm", IEEE Trans Biomed Eng
32(3):230-236, 1985: adaptive signal and noise levels, a 200-ms refractory
period, T-wave discrimination by slope within 360 ms of a beat, and a
search-back for a missed beat once 1.66 mean RR intervals (at most 2 s) have
passed without one. Timers run on sample indices, never on wall time, so the
decisions are the same for any chunking of the signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from streams.analysis.qrs_feature import Candidates
from streams.analysis.qrs_params import DetectorParams

_RR_HISTORY = 8
_NEVER = -(2**62)


@dataclass
class DecisionState:
    """Mutable while a chunk is processed; ``qrs`` freezes it between chunks."""

    learned: bool = False
    signal_level: float = 0.0
    noise_level: float = 0.0
    last_beat: int = _NEVER  # candidate index (integral peak) of the last beat
    last_peak: float = 0.0  # its feature maximum
    last_r: int = _NEVER  # its R peak
    searchback_at: int = _NEVER
    rr: list[int] = field(default_factory=list)
    # Candidates that may still become beats: all of them while learning, then the
    # ones below threshold since the last beat (for the search-back).
    pending: list[tuple[int, float, float, int]] = field(default_factory=list)


def _threshold(state: DecisionState) -> float:
    return state.noise_level + 0.25 * (state.signal_level - state.noise_level)


def _rr_mean(state: DecisionState, params: DetectorParams) -> float:
    return float(np.mean(state.rr)) if state.rr else params.sampling_rate


def _accept(
    state: DecisionState,
    candidate: tuple[int, float, float, int],
    params: DetectorParams,
    beats: list[int],
    searchback: bool,
) -> None:
    index, value, peak, r_peak = candidate
    gain = 0.25 if searchback else 0.125
    state.signal_level += gain * (value - state.signal_level)
    if state.last_beat != _NEVER:
        state.rr.append(index - state.last_beat)
        del state.rr[:-_RR_HISTORY]
    state.last_beat, state.last_peak = index, peak
    if r_peak > state.last_r:
        beats.append(r_peak)
        state.last_r = r_peak
    state.pending = [c for c in state.pending if c[0] > index]
    wait = min(1.66 * _rr_mean(state, params), 2.0 * params.sampling_rate)
    state.searchback_at = index + int(wait)


def _search_back(state: DecisionState, params: DetectorParams, beats: list[int]) -> None:
    """The timer fired: take the largest pending candidate above half the threshold."""
    limit = 0.5 * _threshold(state)
    best = max(
        (c for c in state.pending if c[0] < state.searchback_at and c[1] > limit),
        key=lambda c: c[1],
        default=None,
    )
    if best is not None:
        _accept(state, best, params, beats, searchback=True)
    else:
        state.pending = [c for c in state.pending if c[0] >= state.searchback_at]
        state.searchback_at += int(_rr_mean(state, params))


def _classify(
    state: DecisionState,
    candidate: tuple[int, float, float, int],
    params: DetectorParams,
    beats: list[int],
) -> None:
    index, value, peak, _ = candidate
    fs = params.sampling_rate
    since = index - state.last_beat
    if since < 0.2 * fs:
        return  # refractory
    if value > _threshold(state):
        if since < 0.36 * fs and peak < 0.25 * state.last_peak:
            state.noise_level += 0.125 * (value - state.noise_level)  # a T wave
            return
        _accept(state, candidate, params, beats, searchback=False)
    else:
        state.noise_level += 0.125 * (value - state.noise_level)
        state.pending.append(candidate)


def _learn(state: DecisionState, params: DetectorParams, beats: list[int]) -> None:
    """Set the levels from the learning period's candidates, then decide them."""
    learning = state.pending
    state.learned, state.pending = True, []
    if learning:
        state.signal_level = max(c[1] for c in learning)
        state.noise_level = 0.125 * state.signal_level
    state.searchback_at = params.learning + int(1.66 * params.sampling_rate)
    for candidate in learning:
        _classify(state, candidate, params, beats)


def _run_timers(state: DecisionState, params: DetectorParams, until: int, beats: list[int]) -> None:
    """Fire every timer due before ``until`` (all candidates below it are known)."""
    if not state.learned and params.learning <= until:
        _learn(state, params, beats)
    while state.learned and state.searchback_at <= until:
        _search_back(state, params, beats)


def decide(
    state: DecisionState, candidates: Candidates, confirmed: int, params: DetectorParams
) -> list[int]:
    """Decide the candidates of one chunk; every candidate below sample ``confirmed``
    is now known. Mutates ``state``; returns the new beats' R peaks, ascending."""
    beats: list[int] = []
    for candidate in zip(
        candidates.index.tolist(),
        candidates.value.tolist(),
        candidates.peak.tolist(),
        candidates.r_peak.tolist(),
        strict=True,
    ):
        _run_timers(state, params, candidate[0], beats)
        if state.learned:
            _classify(state, candidate, params, beats)
        else:
            state.pending.append(candidate)
    _run_timers(state, params, confirmed, beats)
    return beats


def finish_decisions(state: DecisionState, end: int, params: DetectorParams) -> list[int]:
    """The signal ended at sample ``end``: decide what is left."""
    beats: list[int] = []
    if not state.learned:
        _learn(state, params, beats)
    _run_timers(state, params, end, beats)
    return beats


def earliest_pending(state: DecisionState) -> int | None:
    return min((c[3] for c in state.pending), default=None)


def pending_array(state: DecisionState) -> NDArray[np.float64]:
    return np.array(state.pending, dtype=np.float64).reshape(-1, 4)
