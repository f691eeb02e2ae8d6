from __future__ import annotations

import math

import numpy as np
import pytest

from streams.analysis.rhythm import (
    Carried,
    RrSums,
    rhythm_measures,
    sum_intervals,
    sum_window_intervals,
)

RATE = 250.0


def test_sums_of_windows_add_up_to_the_sums_of_the_whole() -> None:
    beats = np.array([10, 210, 420, 600, 850, 1040, 1300], dtype=np.int64)
    whole, _ = sum_intervals(beats, Carried(), RATE)
    total, carried = RrSums(), Carried()
    for part in (beats[:1], beats[1:1], beats[1:4], beats[4:]):
        sums, carried = sum_intervals(part, carried, RATE)
        total = total + sums
    assert total == whole
    assert carried == Carried(1300, True, 260)


def test_measures_follow_their_definitions() -> None:
    beats = np.array([0, 200, 420, 600, 850, 1040], dtype=np.int64)
    rr_ms = np.diff(beats) * 1000 / RATE
    steps = np.diff(rr_ms)
    sums, _ = sum_intervals(beats, Carried(), RATE)
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
    sums, _ = sum_intervals(np.array([0, 250, 513, 763, 1025]), Carried(), RATE)
    assert (sums.differences, sums.nn50) == (3, 2)


def test_missing_measures_say_why() -> None:
    one_beat, _ = sum_intervals(np.array([5]), Carried(), RATE)
    rhythm = rhythm_measures(one_beat, RATE)
    assert rhythm.beat_count.value == 1
    assert rhythm.heart_rate_bpm.reason == "needs 1 RR interval, has 0"
    two, _ = sum_intervals(np.array([5, 300]), Carried(), RATE)
    rhythm = rhythm_measures(two, RATE)
    assert rhythm.heart_rate_bpm.value == pytest.approx(60 * RATE / 295)
    assert rhythm.sdnn_ms.reason == "needs 2 NN intervals, has 1"
    assert rhythm.rmssd_ms.reason == "needs 1 successive NN difference, has 0"
    assert rhythm.sd1_ms.reason == "needs 2 successive NN differences, has 0"
    assert rhythm_measures(two, None).heart_rate_bpm.reason == "no sampling rate"


def test_a_window_reaches_back_to_the_previous_beat() -> None:
    sums, carried = sum_intervals(np.array([1000]), Carried(750, True, 240), RATE)
    assert (sums.beats, sums.intervals, sums.total, sums.differences) == (1, 1, 250, 1)
    assert carried == Carried(1000, True, 250)


@pytest.mark.parametrize(
    "carried", [Carried(), Carried(5, True, -1), Carried(5, True, 180), Carried(5, False, -1)]
)
@pytest.mark.parametrize("with_classes", [False, True])
def test_many_windows_are_summed_as_each_alone(carried: Carried, with_classes: bool) -> None:
    """``sum_window_intervals`` sums many windows from cumulative sums: the same
    integers as ``sum_intervals`` window by window, empty windows and all."""
    rng = np.random.default_rng(11)
    beats = np.cumsum(rng.integers(1, 400, size=300)).astype(np.int64) + 10
    normal = rng.random(300) > 0.2 if with_classes else None
    counts = rng.choice([0, 0, 1, 2, 5, 13], size=60).tolist()
    counts[-1] += beats.size - sum(counts)
    assert counts[-1] >= 0
    windows, total, last = sum_window_intervals(beats, counts, carried, RATE, normal)
    expected, whole, cut = [], RrSums(), 0
    for count in counts:
        part = None if normal is None else normal[cut : cut + count]
        sums, carried = sum_intervals(beats[cut : cut + count], carried, RATE, part)
        expected.append(sums)
        whole, cut = whole + sums, cut + count
    assert windows == expected
    assert total == whole
    assert last == carried


def test_hrv_leaves_out_the_intervals_and_differences_next_to_an_ectopic_beat() -> None:
    # N N N V N N N: the V beat's two intervals are no NN intervals, and no successive
    # difference touches them.
    beats = np.array([0, 250, 500, 650, 1000, 1250, 1510], dtype=np.int64)
    normal = np.array([True, True, True, False, True, True, True])
    sums, _ = sum_intervals(beats, Carried(), RATE, normal)
    assert (sums.intervals, sums.total) == (6, 1510)
    assert (sums.nn_intervals, sums.nn_total) == (4, 250 + 250 + 250 + 260)
    assert (sums.differences, sums.difference_sum, sums.difference_squares) == (2, 10, 100)
    rhythm = rhythm_measures(sums, RATE)
    assert rhythm.heart_rate_bpm.value == pytest.approx(60 * RATE * 6 / 1510)
    assert rhythm.nn_count.value == 4
    assert rhythm.sdnn_ms.value == pytest.approx(np.std([1000, 1000, 1000, 1040], ddof=1))


def test_poincare_sd1_and_sd2_follow_their_definitions_after_two_minutes() -> None:
    rng = np.random.default_rng(5)
    rr = (250 + 20 * np.sin(np.arange(200) / 3) + rng.integers(-8, 9, 200)).astype(np.int64)
    beats = np.cumsum(rr)
    sums, _ = sum_intervals(beats, Carried(), RATE)
    rhythm = rhythm_measures(sums, RATE)
    nn = np.diff(beats) * 1000 / RATE
    x, y = nn[:-1], nn[1:]
    assert rhythm.sd1_ms.value == pytest.approx(np.std((y - x) / np.sqrt(2), ddof=1))
    sd2 = np.sqrt(2 * np.var(nn, ddof=1) - np.var(y - x, ddof=1) / 2)
    assert rhythm.sd2_ms.value == pytest.approx(sd2)
    short, _ = sum_intervals(beats[:100], Carried(), RATE)
    assert rhythm_measures(short, RATE).sd1_ms.reason == "needs 120 s of NN intervals, has 99"
