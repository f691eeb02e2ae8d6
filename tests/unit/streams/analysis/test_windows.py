from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from streams.analysis.windows import (
    AnalyserState,
    Totals,
    WindowStats,
    feed,
    finish,
    start_analysis,
)
from streams.analysis.zero_crossings import count_zero_crossings


def run(
    leads: list[NDArray[np.int32]], window: int, bounds: list[int]
) -> tuple[list[WindowStats], Totals]:
    state = start_analysis(len(leads), window)
    out: list[WindowStats] = []
    for start, end in itertools.pairwise(bounds):
        state, closed = feed(state, [lead[start:end] for lead in leads])
        out += closed
        state = AnalyserState.from_bytes(state.to_bytes())
    last, totals = finish(state)
    return out + last, totals


def as_tuples(windows: list[WindowStats]) -> list[tuple[int, int, int, list[int], list[int]]]:
    return [
        (
            w.index,
            w.start_sample,
            w.end_sample,
            w.number_of_samples.tolist(),
            w.zero_crossings.tolist(),
        )
        for w in windows
    ]


@st.composite
def ragged_ecgs(draw: st.DrawFn) -> tuple[list[NDArray[np.int32]], int, list[int]]:
    n_leads = draw(st.integers(1, 4))
    leads = [
        np.array(draw(st.lists(st.integers(-2, 2), max_size=120)), dtype=np.int32)
        for _ in range(n_leads)
    ]
    longest = max(lead.size for lead in leads)
    cuts = draw(st.lists(st.integers(0, longest), max_size=12))
    return leads, draw(st.integers(1, 40)), sorted({0, longest, *cuts})


@settings(max_examples=300)
@given(ragged_ecgs())
def test_any_chunking_gives_the_windows_and_totals_of_the_whole(
    ecg: tuple[list[NDArray[np.int32]], int, list[int]],
) -> None:
    leads, window, bounds = ecg
    longest = max(lead.size for lead in leads)
    whole, whole_totals = run(leads, window, [0, longest])
    chunked, chunked_totals = run(leads, window, bounds)
    assert as_tuples(chunked) == as_tuples(whole)
    assert chunked_totals.zero_crossings.tolist() == [count_zero_crossings(s) for s in leads]
    assert chunked_totals.number_of_samples.tolist() == [lead.size for lead in leads]
    assert whole_totals.n_windows == chunked_totals.n_windows == len(whole)


def test_windows_cover_the_signal_without_overlap() -> None:
    leads = [np.arange(-12, 13, dtype=np.int32), np.arange(10, dtype=np.int32)]
    windows, totals = run(leads, 10, [0, 3, 25])
    assert [(w.start_sample, w.end_sample) for w in windows] == [(0, 10), (10, 20), (20, 25)]
    assert [w.number_of_samples.tolist() for w in windows] == [[10, 10], [10, 0], [5, 0]]
    assert [w.zero_crossings.tolist() for w in windows] == [[0, 0], [1, 0], [0, 0]]
    assert totals.n_windows == 3


def test_state_is_bounded_and_round_trips() -> None:
    state = start_analysis(12, 5000)
    rng = np.random.default_rng(7)
    for _ in range(20):
        state, _ = feed(state, [rng.integers(-100, 100, 997, dtype=np.int32)] * 12)
    data = state.to_bytes()
    assert len(data) < 512
    again = AnalyserState.from_bytes(data)
    assert again.to_bytes() == data
    assert again.frontier == 20 * 997


def test_rejects_a_chunk_with_the_wrong_number_of_leads() -> None:
    with pytest.raises(ValueError, match="expected 2 leads"):
        feed(start_analysis(2, 10), [np.zeros(3, dtype=np.int32)])
