from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from gateway.errors import InvalidInputError
from gateway.recordings.ranges import (
    MAX_SIGNAL_VALUES,
    range_end,
    read_signals,
    require_equal_lengths,
    select_leads,
    served_end,
)
from gateway.recordings.repository import ArchivedChunk, ArchivedLead
from schemas.codec import encode_samples
from schemas.sample_archive import pack

LEADS = (
    ArchivedLead("I", 200.0, 0, 10),
    ArchivedLead("II", None, None, 10),
    ArchivedLead("V5", 100.0, 1024, 7),
)


def chunk(start_sample: int, *leads: NDArray[np.int32]) -> ArchivedChunk:
    width, samples = encode_samples(leads)
    lead_samples, frame = pack(width, samples)
    return ArchivedChunk(start_sample, width, lead_samples, frame)


def chunks_of(signals: list[NDArray[np.int32]], length: int) -> list[ArchivedChunk]:
    """The chunks of ``length`` samples per lead that the gateway's chunker cuts."""
    longest = max(signal.size for signal in signals)
    return [
        chunk(start, *(signal[start : start + length] for signal in signals))
        for start in range(0, longest, length)
    ]


def test_every_lead_in_the_ecgs_order_by_default() -> None:
    assert select_leads(None, LEADS) == [0, 1, 2]


def test_requested_leads_in_the_requested_order() -> None:
    assert select_leads(("V5", "I"), LEADS) == [2, 0]


def test_leads_the_ecg_lacks_are_named_with_those_it_has() -> None:
    with pytest.raises(InvalidInputError) as refused:
        select_leads(("V5", "aVR", "Q"), LEADS)
    assert [str(error) for error in refused.value.errors] == [
        'leads: this ECG has no lead "aVR"; its leads: I, II, V5',
        'leads: this ECG has no lead "Q"; its leads: I, II, V5',
    ]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, 10),  # the longest lead's stored length
        (3, 8, 8),
        (3, 50, 10),  # clipped
        (10, None, 10),
        (12, 20, 12),  # nothing stored there: an empty range at start
    ],
)
def test_the_range_ends_at_the_longest_lead(start: int, end: int | None, expected: int) -> None:
    assert range_end(start, end, [10, 7]) == expected


def test_the_bound_counts_each_leads_own_samples() -> None:
    # 3 leads; the third one short: 2 x (M/2 - 1) + 2 values fit exactly.
    half = MAX_SIGNAL_VALUES // 2
    assert range_end(0, None, [half - 1, half - 1, 2]) == half - 1


def test_too_large_a_range_says_how_many_samples_per_lead_fit() -> None:
    with pytest.raises(InvalidInputError) as refused:
        range_end(100, None, [MAX_SIGNAL_VALUES] * 4)
    (error,) = refused.value.errors
    assert error.field == "end"
    fit = MAX_SIGNAL_VALUES // 4
    assert f"at most {fit:,} samples per lead (end={100 + fit})" in error.message
    assert f"{4 * (MAX_SIGNAL_VALUES - 100):,} values" in error.message
    assert range_end(100, 100 + fit, [MAX_SIGNAL_VALUES] * 4) == 100 + fit


def signals_of(lengths: list[int], seed: int = 7) -> list[NDArray[np.int32]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-(2**20), 2**20, n).astype(np.int32) for n in lengths]


@pytest.mark.parametrize(("start", "end"), [(0, 23), (0, 5), (4, 5), (5, 16), (3, 22), (22, 23)])
def test_a_range_across_chunks_is_sample_for_sample_the_signal(start: int, end: int) -> None:
    signals = signals_of([23, 23])
    read = read_signals(chunks_of(signals, 5), [0, 1], start, end)
    for got, sent in zip(read, signals, strict=True):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, sent[start:end])


def test_leads_of_different_lengths_stop_at_their_own_end() -> None:
    signals = signals_of([23, 7, 12])
    read = read_signals(chunks_of(signals, 5), [2, 0, 1], 3, 20)
    np.testing.assert_array_equal(read[0], signals[2][3:12])
    np.testing.assert_array_equal(read[1], signals[0][3:20])
    np.testing.assert_array_equal(read[2], signals[1][3:7])
    assert served_end(3, read) == 20


def test_a_lead_that_ended_before_start_is_empty() -> None:
    signals = signals_of([23, 7])
    read = read_signals(chunks_of(signals, 5), [0, 1], 11, 23)
    np.testing.assert_array_equal(read[0], signals[0][11:])
    assert read[1].size == 0
    assert read[1].dtype == np.int32


def test_samples_after_a_chunk_not_stored_are_not_served() -> None:
    signals = signals_of([23])
    stored = chunks_of(signals, 5)
    del stored[2]  # samples 10-14 not (yet) stored
    (read,) = read_signals(stored, [0], 2, 23)
    np.testing.assert_array_equal(read, signals[0][2:10])
    (after,) = read_signals(stored[2:], [0], 15, 23)
    np.testing.assert_array_equal(after, signals[0][15:])


def test_no_chunk_is_no_sample() -> None:
    read = read_signals([], [0, 1], 0, 10)
    assert [signal.size for signal in read] == [0, 0]
    assert served_end(0, read) == 0


def test_int16_chunks_are_read_as_int32() -> None:
    signals = [np.array([1, -2, 3, 2**15 - 1], dtype=np.int32)]
    (read,) = read_signals(chunks_of(signals, 3), [0], 0, 4)
    assert read.dtype == np.int32
    np.testing.assert_array_equal(read, signals[0])


def test_the_binary_answer_needs_leads_of_one_length() -> None:
    require_equal_lengths(0, ["I", "II"], signals_of([4, 4]))
    with pytest.raises(InvalidInputError) as refused:
        require_equal_lengths(10, ["I", "V5"], signals_of([4, 2]))
    (error,) = refused.value.errors
    assert error.field == "end"
    assert "(I 4, V5 2)" in error.message
    assert "ask for JSON" in error.message
    assert "up to sample 12, exclusive" in error.message
