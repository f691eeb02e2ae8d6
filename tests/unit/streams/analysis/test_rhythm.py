from __future__ import annotations

import math

import numpy as np
import pytest

from streams.analysis.rhythm import (
    RrSums,
    rhythm_measures,
    sum_intervals,
    sum_window_intervals,
)

RATE = 250.0


def test_sums_of_windows_add_up_to_the_sums_of_the_whole() -> None:
    beats = np.array([10, 210, 420, 600, 850, 1040, 1300], dtype=np.int64)
    whole, _, _ = sum_intervals(beats, -1, -1, RATE)
    total, previous_beat, previous_rr = RrSums(), -1, -1
    for part in (beats[:1], beats[1:1], beats[1:4], beats[4:]):
        sums, previous_beat, previous_rr = sum_intervals(part, previous_beat, previous_rr, RATE)
        total = total + sums
    assert total == whole
    assert (previous_beat, previous_rr) == (1300, 260)


def test_measures_follow_their_definitions() -> None:
    beats = np.array([0, 200, 420, 600, 850, 1040], dtype=np.int64)
    rr_ms = np.diff(beats) * 1000 / RATE
    steps = np.diff(rr_ms)
    sums, _, _ = sum_intervals(beats, -1, -1, RATE)
    rhythm = rhythm_measures(sums, RATE)
    assert rhythm.beat_count.value == 6
    assert rhythm.rr_count.value == 5
    assert rhythm.heart_rate_bpm.value == pytest.approx(60000 / rr_ms.mean())
    assert rhythm.rr_mean_ms.value == pytest.approx(rr_ms.mean())
    assert (rhythm.rr_min_ms.value, rhythm.rr_max_ms.value) == (720.0, 1000.0)
    assert rhythm.sdnn_ms.value == pytest.approx(rr_ms.std(ddof=1))
    assert rhythm.rmssd_ms.value == pytest.approx(math.sqrt(np.mean(steps**2)))
    assert rhythm.pnn50_percent.value == pytest.approx(100 * np.mean(np.abs(steps) > 50))


def test_nn50_counts_differences_strictly_above_50_ms() -> None:
    # At 250 Hz, 12 samples are 48 ms, 13 are 52 ms.
    sums, _, _ = sum_intervals(np.array([0, 250, 513, 763, 1025]), -1, -1, RATE)
    assert (sums.differences, sums.nn50) == (3, 2)


def test_missing_measures_say_why() -> None:
    one_beat, _, _ = sum_intervals(np.array([5]), -1, -1, RATE)
    rhythm = rhythm_measures(one_beat, RATE)
    assert rhythm.beat_count.value == 1
    assert rhythm.heart_rate_bpm.reason == "needs 1 RR interval, has 0"
    two, _, _ = sum_intervals(np.array([5, 300]), -1, -1, RATE)
    rhythm = rhythm_measures(two, RATE)
    assert rhythm.heart_rate_bpm.value == pytest.approx(60 * RATE / 295)
    assert rhythm.sdnn_ms.reason == "needs 2 RR intervals, has 1"
    assert rhythm.rmssd_ms.reason == "needs 1 successive RR difference, has 0"
    assert rhythm_measures(two, None).heart_rate_bpm.reason == "no sampling rate"


def test_a_window_reaches_back_to_the_previous_beat() -> None:
    sums, last, rr = sum_intervals(np.array([1000]), 750, 240, RATE)
    assert (sums.beats, sums.intervals, sums.total, sums.differences) == (1, 1, 250, 1)
    assert (last, rr) == (1000, 250)


@pytest.mark.parametrize("carried", [(-1, -1), (5, -1), (5, 180)])
def test_many_windows_are_summed_as_each_alone(carried: tuple[int, int]) -> None:
    """``sum_window_intervals`` sums many windows from cumulative sums: the same
    integers as ``sum_intervals`` window by window, empty windows and all."""
    rng = np.random.default_rng(11)
    beats = np.cumsum(rng.integers(1, 400, size=300)).astype(np.int64) + 10
    counts = rng.choice([0, 0, 1, 2, 5, 13], size=60).tolist()
    counts[-1] += beats.size - sum(counts)
    assert counts[-1] >= 0
    previous_beat, previous_rr = carried
    windows, total, last_beat, last_rr = sum_window_intervals(
        beats, counts, previous_beat, previous_rr, RATE
    )
    expected, whole, cut = [], RrSums(), 0
    for count in counts:
        sums, previous_beat, previous_rr = sum_intervals(
            beats[cut : cut + count], previous_beat, previous_rr, RATE
        )
        expected.append(sums)
        whole, cut = whole + sums, cut + count
    assert windows == expected
    assert total == whole
    assert (last_beat, last_rr) == (previous_beat, previous_rr)
