from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from gateway.chunks import sample_width, samples_per_chunk, split_into_chunks


def signals_of(lengths: list[int]) -> list[NDArray[np.int32]]:
    offsets = np.cumsum([0, *lengths])
    return [np.arange(offsets[i], offsets[i + 1], dtype=np.int32) for i in range(len(lengths))]


@given(
    lengths=st.lists(st.integers(0, 300), min_size=1, max_size=5),
    chunk_length=st.integers(1, 80),
)
def test_every_sample_appears_once_in_order(lengths: list[int], chunk_length: int) -> None:
    signals = signals_of(lengths)
    chunks = split_into_chunks(signals, chunk_length)

    assert [chunk.seq for chunk in chunks] == list(range(len(chunks)))
    assert len(chunks) == max(1, -(-max(lengths) // chunk_length))
    assert [chunk.final for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    for chunk in chunks:
        assert chunk.start_sample == chunk.seq * chunk_length
        assert len(chunk.samples) == len(signals)
        assert all(part.size <= chunk_length for part in chunk.samples)
    for lead, signal in enumerate(signals):
        joined = np.concatenate([chunk.samples[lead] for chunk in chunks])
        assert np.array_equal(joined, signal)
        for chunk in chunks:  # a chunk's part of a lead starts at start_sample of that lead
            part = chunk.samples[lead]
            assert np.array_equal(part, signal[chunk.start_sample : chunk.start_sample + part.size])


def test_ended_lead_contributes_empty_parts() -> None:
    long, short = np.arange(10, dtype=np.int32), np.arange(3, dtype=np.int32)
    chunks = split_into_chunks([long, short], 4)
    assert [chunk.start_sample for chunk in chunks] == [0, 4, 8]
    assert [part.tolist() for part in chunks[0].samples] == [[0, 1, 2, 3], [0, 1, 2]]
    assert [part.tolist() for part in chunks[1].samples] == [[4, 5, 6, 7], []]
    assert [part.tolist() for part in chunks[2].samples] == [[8, 9], []]
    assert [chunk.final for chunk in chunks] == [False, False, True]


def test_empty_signals_still_give_one_final_chunk() -> None:
    (chunk,) = split_into_chunks([np.array([], dtype=np.int32)], 10)
    assert (chunk.seq, chunk.start_sample, chunk.final) == (0, 0, True)


def test_chunk_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_length"):
        split_into_chunks([np.arange(3, dtype=np.int32)], 0)


@given(
    n_leads=st.integers(1, 25),
    width=st.sampled_from([2, 4]),
    budget=st.integers(1024, 1024 * 1024),
)
def test_chunk_length_respects_the_byte_budget(n_leads: int, width: int, budget: int) -> None:
    length = samples_per_chunk(n_leads, width, budget)
    assert length >= 1
    assert length * n_leads * width <= budget
    assert (length + 1) * n_leads * width > budget


def test_default_budget_for_two_int16_leads() -> None:
    assert samples_per_chunk(2, 2, 256 * 1024) == 65536


@pytest.mark.parametrize(
    ("values", "width"),
    [
        ([[0, 1], [-32768, 32767]], 2),
        ([[0, 32768]], 4),
        ([[0], [-32769]], 4),
        ([[], [5]], 2),
    ],
)
def test_sample_width(values: list[list[int]], width: int) -> None:
    assert sample_width([np.array(v, dtype=np.int32) for v in values]) == width
