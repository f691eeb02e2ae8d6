from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.analysis.zero_crossings import (
    count_zero_crossings,
    mark_lead_crossings,
    mark_zero_crossings,
)

# The example that many implementations of this service share.
REFERENCE = {
    "I": ([1, -2, 3, -4, 5, -6, 7, -8, 9, -10], 9),
    "II": ([80, 101, -115, -88, 5, 105, 181, -80, -92, 89, -150, 63, -85, 41, 89], 8),
    "III": ([-1, -4, -1, -3, -10, -12, -45, -45, -59, -59], 0),
    "aVR": ([42, -2, 23, -11, 3, -4, 45, -59, 68, 1, -1], 9),
    "aVL": ([1, -2, 3, -4, 5, 6, 7, -8], 5),
    "aVF": ([9, 2, -2, -9, -3], 1),
}


@pytest.mark.parametrize(
    ("signal", "expected"),
    [
        ([1, 0, -1], 1),
        ([-1, 0, -1], 0),
        ([1, 0, 1], 0),
        ([5, 0, -5, 0, 5], 2),
        ([], 0),
        ([0, 0, 0], 0),
        ([7], 0),
        ([0, -3, 0, 0, 4], 1),
        ([2**31 - 1, -(2**31)], 1),
    ],
)
def test_counts_sign_changes_between_non_zero_samples(signal: list[int], expected: int) -> None:
    assert count_zero_crossings(np.array(signal, dtype=np.int64)) == expected


@pytest.mark.parametrize("lead", sorted(REFERENCE))
def test_reference_example(lead: str) -> None:
    signal, expected = REFERENCE[lead]
    assert count_zero_crossings(np.array(signal)) == expected


def test_previous_sign_carries_across_a_cut() -> None:
    crossed, last = mark_zero_crossings(np.array([0, 0, -2, 0]), previous_sign=1)
    assert crossed.tolist() == [False, False, True, False]
    assert last == -1
    crossed, last = mark_zero_crossings(np.array([0, 0]), previous_sign=-1)
    assert not crossed.any()
    assert last == -1


signals = st.lists(st.integers(-3, 3), max_size=300)


@given(signal=signals, cuts=st.lists(st.integers(0, 300), max_size=20))
def test_any_chunking_gives_the_whole_signal_count(signal: list[int], cuts: list[int]) -> None:
    array = np.array(signal, dtype=np.int32)
    bounds = sorted({0, array.size, *(c for c in cuts if c <= array.size)})
    total, sign = 0, 0
    for start, end in itertools.pairwise(bounds):
        crossed, sign = mark_zero_crossings(array[start:end], sign)
        total += int(crossed.sum())
    assert total == count_zero_crossings(array)
    # The definition, computed the slow way.
    non_zero = [v for v in signal if v]
    assert total == sum((a > 0) != (b > 0) for a, b in itertools.pairwise(non_zero))


@given(
    st.lists(
        st.lists(st.sampled_from([-(2**31), -3, -1, 0, 0, 1, 2**31 - 1]), min_size=12, max_size=12),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.sampled_from([-1, 0, 1]), min_size=4, max_size=4),
)
def test_many_leads_at_once_mark_what_each_lead_alone_marks(
    rows: list[list[int]], carried: list[int]
) -> None:
    x = np.array(rows, dtype=np.int32)
    signs = np.array(carried[: len(rows)], dtype=np.int64)
    marks, new_signs = mark_lead_crossings(x, signs)
    for row, sign, marked, new_sign in zip(x, signs, marks, new_signs, strict=True):
        expected, expected_sign = mark_zero_crossings(row, int(sign))
        assert marked.tolist() == expected.tolist()
        assert new_sign == expected_sign
