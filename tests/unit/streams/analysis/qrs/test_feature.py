"""The QRS detector's front end: which local maxima of a lead's integral are candidates."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streams.analysis.qrs.feature import (
    Candidates,
    compute_feature,
    final_candidates,
    start_feature,
)
from streams.analysis.qrs.params import detector_params

RATE = 360.0
PAIR_GAP_S = 0.13  # the integrals' maxima of the two pulses lie within 100 ms


def pulse_pairs(seconds: int = 10) -> NDArray[np.float64]:
    """Once a second, a small pulse and 130 ms later one four times its size."""
    t = np.arange(round(seconds * RATE)) / RATE
    x = np.zeros_like(t)
    for second in range(seconds):
        for offset, size in ((0.3, 300.0), (0.3 + PAIR_GAP_S, 1200.0)):
            x += size * np.exp(-0.5 * ((t - second - offset) / 0.004) ** 2)
    return x


def candidate_indices(x: NDArray[np.float64], chunk: int) -> NDArray[np.int64]:
    params = detector_params(RATE)
    memory = start_feature(1, params)
    found: list[Candidates] = []
    for start in range(0, x.size, chunk):
        memory, candidates = compute_feature(memory, x[None, start : start + chunk], start, params)
        found.append(candidates)
    found.append(final_candidates(memory, x.size, params))
    return np.concatenate([c.index for c in found])


def test_a_maximum_topped_within_the_next_100_ms_is_no_candidate() -> None:
    index = candidate_indices(pulse_pairs(), chunk=1 << 20)
    # One candidate a second, after the larger pulse (the integral peaks at the end of
    # its window), none after the smaller one.
    assert index.size == 10
    offsets = index / RATE % 1.0
    assert np.all(offsets > 0.3 + PAIR_GAP_S), offsets


def test_candidates_wait_for_the_next_100_ms_whatever_the_chunking() -> None:
    x = pulse_pairs()
    whole = candidate_indices(x, chunk=1 << 20)
    for chunk in (1, 7, 36, 37, 360):
        assert np.array_equal(candidate_indices(x, chunk), whole), chunk
