"""Any chunking of an ECG gives exactly the beats and the final state of one call."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from streams.analysis.qrs import QrsMemory, detect_beats, finish_detector, start_detector
from tests.unit.streams.analysis.qrs.test_detector import as_adc, synthetic_ecg
from tests.unit.streams.analysis.qrs.test_records import record_excerpt


def run(
    leads: list[NDArray[np.int32]], rate: float, cuts: list[int], round_trip: bool
) -> tuple[list[int], bytes, list[int]]:
    """Beats, final state bytes and the finalized_until of every call."""
    memory = start_detector(len(leads), rate)
    beats: list[int] = []
    promises: list[int] = []
    length = leads[0].size
    for start, end in itertools.pairwise([0, *cuts, length]):
        memory, new, finalized = detect_beats(memory, [lead[start:end] for lead in leads])
        beats += new.tolist()
        promises.append(finalized)
        if round_trip:
            memory = QrsMemory.from_bytes(memory.to_bytes())
    final = memory.to_bytes()
    beats += finish_detector(memory).tolist()
    return beats, final, promises


def whole(leads: list[NDArray[np.int32]], rate: float) -> tuple[list[int], bytes]:
    beats, final, _ = run(leads, rate, [], round_trip=False)
    return beats, final


@st.composite
def chunkings(draw: st.DrawFn, length: int) -> list[int]:
    cuts = draw(st.lists(st.integers(1, length - 1), max_size=40))
    return sorted(set(cuts))


SHORT = {
    rate: synthetic_ecg(rate, seconds=8.0, heart_rate=90.0, seed=11) for rate in (128.0, 500.0)
}


def test_one_sample_chunks_equal_one_call() -> None:
    x, _ = SHORT[128.0]
    leads = [as_adc(x), as_adc(-0.3 * x)]
    expected = whole(leads, 128.0)
    beats, final, promises = run(leads, 128.0, list(range(1, x.size)), round_trip=True)
    assert (beats, final) == expected
    assert promises == sorted(promises)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), rate=st.sampled_from([128.0, 500.0]), round_trip=st.booleans())
def test_random_chunkings_of_a_synthetic_ecg(
    data: st.DataObject, rate: float, round_trip: bool
) -> None:
    x, _ = SHORT[rate]
    leads = [as_adc(x), as_adc(0.5 * x + 40.0 * np.sin(np.arange(x.size) / 7.0))]
    cuts = data.draw(chunkings(x.size))
    beats, final, _ = run(leads, rate, cuts, round_trip)
    assert (beats, final) == whole(leads, rate)


REAL = record_excerpt("105", 1195.0, 1235.0)  # the noisiest stretch of record 105


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_chunkings_of_a_noisy_real_record(data: st.DataObject) -> None:
    leads, rate = REAL
    cuts = data.draw(chunkings(leads[0].size))
    beats, final, _ = run(leads, rate, cuts, round_trip=True)
    assert (beats, final) == whole(leads, rate)


def test_filtering_with_carried_state_is_bitwise_chunk_invariant() -> None:
    """The premise of the front end: lfilter with carried zi splits exactly."""
    b, a = signal.butter(2, (8.0, 20.0), btype="bandpass", fs=360.0)
    x = np.random.default_rng(0).normal(0, 1000, 5000)
    zi = signal.lfilter_zi(b, a) * x[0]
    once, _ = signal.lfilter(b, a, x, zi=zi)
    parts = []
    memory = zi
    for start, end in itertools.pairwise([0, 1, 2, 777, 778, 4000, 5000]):
        y, memory = signal.lfilter(b, a, x[start:end], zi=memory)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), once)
