from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from streams.analysis.bands import Bands, bands_for, box_sums
from streams.analysis.lead_stats import LeadCarry, Stat, accumulate, empty_stats, merge_stats
from streams.analysis.zero_crossings import count_zero_crossings

BANDS = Bands(high_lag=2, band_lag=3, block=4, blocks=3)


def reference(signal: list[int], bands: Bands) -> dict[Stat, int]:
    """The statistics of a whole lead, the slow and obvious way (Python integers)."""
    n, j, m = len(signal), bands.high_lag, bands.band_lag
    history = bands.history
    high = [abs(signal[i] - 2 * signal[i - j] + signal[i - 2 * j]) for i in range(history, n)]
    box = [sum(signal[i - m + 1 : i + 1]) for i in range(n)]
    band = [abs(box[i] - box[i - m]) for i in range(history, n)]
    size, count = bands.block, bands.blocks
    blocks = [sum(signal[b * size : (b + 1) * size]) for b in range(n // size)]
    moving = [sum(blocks[b - count + 1 : b + 1]) for b in range(count - 1, len(blocks))]
    low, top = min(signal), max(signal)
    return {
        Stat.SAMPLES: n,
        Stat.ZERO_CROSSINGS: count_zero_crossings(np.array(signal)),
        Stat.SUM: sum(signal),
        Stat.MIN: low,
        Stat.MAX: top,
        Stat.AT_MIN: signal.count(low),
        Stat.AT_MAX: signal.count(top),
        Stat.REPEATS: sum(a == b for a, b in itertools.pairwise(signal)),
        Stat.HIGH_BAND: sum(high),
        Stat.QRS_BAND: sum(band),
        Stat.FILTERED: len(high),
        Stat.BASE_MIN: min(moving, default=np.iinfo(np.int64).max),
        Stat.BASE_MAX: max(moving, default=np.iinfo(np.int64).min),
        Stat.BASE_POINTS: len(moving),
    }


def accumulate_in_chunks(
    signal: NDArray[np.int32], cuts: list[int], bands: Bands | None
) -> NDArray[np.int64]:
    """One window's statistics, the signal fed in the chunks between ``cuts``."""
    carry = LeadCarry.start(1, bands)
    total = empty_stats(1)[0]
    for a, b in itertools.pairwise(cuts):
        stats, carry = accumulate(carry, signal[None, a:b], a, [0, b - a], bands)
        total = merge_stats(total, stats[0])
    column: NDArray[np.int64] = total[:, 0]
    return column


values = st.one_of(
    st.integers(-5, 5), st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, -(2**31)])
)


@settings(max_examples=300)
@given(st.lists(values, min_size=1, max_size=80), st.data())
def test_chunked_statistics_equal_the_obvious_ones(signal: list[int], data: st.DataObject) -> None:
    cuts = sorted({0, len(signal), *data.draw(st.lists(st.integers(0, len(signal))))})
    stats = accumulate_in_chunks(np.array(signal, dtype=np.int32), cuts, BANDS)
    expected = reference(signal, BANDS)
    assert {stat: int(stats[stat]) for stat in Stat} == expected


def test_statistics_per_segment() -> None:
    signal = np.array([[3, -1, 0, -2, 5, 5, 5, -7, 0, 1]], dtype=np.int32)
    stats, carry = accumulate(LeadCarry.start(1, None), signal, 0, [0, 4, 4, 10], None)
    assert stats[:, Stat.SAMPLES, 0].tolist() == [4, 0, 6]
    assert stats[:, Stat.ZERO_CROSSINGS, 0].tolist() == [1, 0, 3]
    assert stats[:, Stat.AT_MAX, 0].tolist() == [1, 0, 3]
    assert stats[:, Stat.REPEATS, 0].tolist() == [0, 0, 2]
    assert carry.values[:, 0].tolist() == [1, 1, 0]  # sign, last sample, open block sum


def test_runs_of_zeros_take_the_sign_from_before_them() -> None:
    carry = LeadCarry.start(1, None)
    _, carry = accumulate(carry, np.array([[4, 0]], dtype=np.int32), 0, [0, 2], None)
    stats, carry = accumulate(carry, np.array([[0, 0, -3, 0]], dtype=np.int32), 2, [0, 4], None)
    assert stats[0, Stat.ZERO_CROSSINGS, 0] == 1
    assert carry.values[0, 0] == -1


@pytest.mark.parametrize(
    ("rate", "lags"),
    [(None, None), (50.0, None), (128.0, (1, 3, 13)), (360.0, (2, 9, 36)), (1000.0, (6, 25, 100))],
)
def test_filters_scale_with_the_sampling_rate(
    rate: float | None, lags: tuple[int, int, int] | None
) -> None:
    bands = bands_for(rate)
    found = None if bands is None else (bands.high_lag, bands.band_lag, bands.block)
    assert found == lags


@pytest.mark.parametrize("width", [1, 2, 3, 9, 12, 25, 64])
def test_box_sums(width: int) -> None:
    x = np.random.default_rng(width).integers(-1000, 1000, (2, 300)).astype(np.int32)
    expected = [[int(x[r, i : i + width].sum()) for i in range(300 - width + 1)] for r in (0, 1)]
    assert box_sums(x, width).tolist() == expected
