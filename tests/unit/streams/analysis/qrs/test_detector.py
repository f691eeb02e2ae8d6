"""The QRS detector on synthetic ECGs with known beat times, and at its edges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from streams.analysis.qrs import QrsMemory, detect_beats, finish_detector, start_detector

INT32 = np.iinfo(np.int32)


def synthetic_ecg(
    sampling_rate: float,
    seconds: float = 20.0,
    heart_rate: float = 72.0,
    amplitude: float = 1000.0,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """A lead with Gaussian Q-R-S and T waves, baseline wander and noise; returns the
    signal (ADC units, float) and the R-peak sample indices."""
    rng = np.random.default_rng(seed)
    n = round(sampling_rate * seconds)
    t = np.arange(n) / sampling_rate
    beats = np.arange(0.6, seconds - 0.4, 60.0 / heart_rate)
    x = np.zeros(n)
    for b in beats:
        x += amplitude * np.exp(-0.5 * ((t - b) / 0.010) ** 2)  # R
        x -= 0.25 * amplitude * np.exp(-0.5 * ((t - b - 0.030) / 0.010) ** 2)  # S
        x += 0.30 * amplitude * np.exp(-0.5 * ((t - b - 0.25) / 0.045) ** 2)  # T
    x += rng.normal(0.0, 0.01 * amplitude, n) + 0.3 * amplitude * np.sin(2 * np.pi * 0.25 * t)
    return x, np.round(beats * sampling_rate).astype(np.int64)


def as_adc(
    x: NDArray[np.float64], dtype: type[np.signedinteger[Any]] = np.int32
) -> NDArray[np.int32]:
    info = np.iinfo(dtype)
    return np.clip(np.round(x), info.min, info.max).astype(dtype)


def detect(
    leads: Sequence[NDArray[np.integer[Any]]], sampling_rate: float, chunk: int | None = None
) -> NDArray[np.int64]:
    memory = start_detector(len(leads), sampling_rate)
    length = min(lead.size for lead in leads)
    step = chunk or max(length, 1)
    found = []
    for start in range(0, length, step):
        memory, beats, _ = detect_beats(memory, [lead[start : start + step] for lead in leads])
        found.append(beats)
    found.append(finish_detector(memory))
    return np.concatenate(found)


def assert_found(beats: NDArray[np.int64], truth: NDArray[np.int64], tolerance: int) -> None:
    assert beats.size == truth.size, (beats, truth)
    assert np.all(np.abs(beats - truth) <= tolerance), beats - truth


@pytest.mark.parametrize("sampling_rate", [100.0, 128.0, 250.0, 360.0, 500.0, 1000.0, 2000.0])
def test_finds_every_beat_at_its_r_peak_at_any_rate(sampling_rate: float) -> None:
    x, truth = synthetic_ecg(sampling_rate)
    beats = detect([as_adc(x), as_adc(-0.4 * x)], sampling_rate)
    # Within 5 ms of the R peak: the filter's delay is taken out.
    assert_found(beats, truth, max(1, round(0.005 * sampling_rate)))


@pytest.mark.parametrize("heart_rate", [35.0, 60.0, 120.0, 180.0])
def test_heart_rates_from_bradycardia_to_tachycardia(heart_rate: float) -> None:
    x, truth = synthetic_ecg(360.0, seconds=30.0, heart_rate=heart_rate)
    assert_found(detect([as_adc(x)], 360.0), truth, 2)


def test_an_irregularly_irregular_rhythm_keeps_every_early_beat() -> None:
    # Atrial fibrillation: normal QRS complexes at random RR intervals of 0.35-1.1 s.
    # An early beat that looks like the typical beat in every lead is a beat, even
    # when another one follows at the time the rhythm expected.
    rate = 360.0
    rng = np.random.default_rng(7)
    times = 0.6 + np.cumsum(rng.uniform(0.35, 1.1, 80))
    times = times[times < 59.5]
    t = np.arange(round(60.0 * rate)) / rate
    x = rng.normal(0.0, 10.0, t.size)
    for b in times:
        x += 1000.0 * np.exp(-0.5 * ((t - b) / 0.010) ** 2)
        x -= 250.0 * np.exp(-0.5 * ((t - b - 0.030) / 0.010) ** 2)
    truth = np.round(times * rate).astype(np.int64)
    assert_found(detect([as_adc(x), as_adc(-0.5 * x)], rate), truth, 2)


def test_leads_of_very_different_gains_and_polarities() -> None:
    x, truth = synthetic_ecg(500.0, seed=3)
    leads = [as_adc(0.02 * x), as_adc(-50.0 * x), as_adc(x)]
    assert_found(detect(leads, 500.0), truth, 3)


def test_a_lead_full_of_artefacts_does_not_drown_a_clean_one() -> None:
    x, truth = synthetic_ecg(360.0, seconds=30.0, seed=4)
    rng = np.random.default_rng(5)
    muscle = rng.normal(0, 150.0, x.size)  # broadband, 15 % of the R amplitude
    jumps = np.cumsum((rng.random(x.size) < 0.002) * rng.normal(0, 2000.0, x.size))
    noisy = 0.5 * x + muscle + jumps
    beats = detect([as_adc(x), as_adc(noisy)], 360.0)
    # The noisy lead loses its weight within a few beats; after that, every beat is
    # found at its R peak and at most one artefact passes for a beat.
    late = beats[beats > 10 * 360]
    truth = truth[truth > 10 * 360]
    nearest = np.abs(late[:, None] - truth[None, :]).min(axis=0)
    assert np.all(nearest <= 3)
    assert late.size - truth.size <= 1


def test_empty_input_changes_nothing() -> None:
    memory = start_detector(2, 360.0)
    empty = np.empty(0, dtype=np.int32)
    new, beats, finalized = detect_beats(memory, [empty, empty])
    assert new is memory
    assert beats.size == 0
    assert finalized == 0
    assert finish_detector(new).size == 0


@pytest.mark.parametrize(
    "value", [0, 1024, INT32.max, INT32.min, np.iinfo(np.int16).max, np.iinfo(np.int16).min]
)
def test_a_flat_or_saturated_line_has_no_beats(value: int) -> None:
    flat = np.full(20 * 360, value, dtype=np.int32)
    assert detect([flat, flat], 360.0).size == 0


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_values_clipped_at_the_integer_extremes(dtype: type[np.signedinteger[Any]]) -> None:
    x, truth = synthetic_ecg(360.0, amplitude=1.0, seed=6)
    info = np.iinfo(dtype)
    huge = as_adc(x * (float(info.max) / 1.2), dtype)  # peaks clip at the type's limits
    assert_found(detect([huge], 360.0), truth, 3)


def test_full_scale_alternation_is_survived() -> None:
    extreme = np.where(np.arange(10 * 500) % 2 == 0, INT32.min, INT32.max).astype(np.int32)
    beats = detect([extreme, extreme], 500.0)
    assert beats.size <= 2


def test_unequal_lengths_use_the_samples_common_to_all_leads() -> None:
    x, _ = synthetic_ecg(250.0, seconds=5.0)
    a = as_adc(x)
    memory, _, _ = detect_beats(start_detector(2, 250.0), [a[:300], a[:200]])
    assert memory.frontier == 200


@pytest.mark.parametrize("rate", [99.0, 2001.0, 0.0, -360.0])
def test_rates_outside_100_to_2000_hz_are_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="sampling_rate"):
        start_detector(1, rate)


def test_lead_count_is_checked() -> None:
    with pytest.raises(ValueError, match="lead"):
        start_detector(0, 360.0)
    memory = start_detector(2, 360.0)
    with pytest.raises(ValueError, match="expected 2 leads"):
        detect_beats(memory, [np.zeros(10, dtype=np.int32)])


def test_beats_are_final_in_order_and_within_a_bounded_delay() -> None:
    rate = 360.0
    x, truth = synthetic_ecg(rate, seconds=60.0, heart_rate=50.0)
    lead = as_adc(x)
    memory = start_detector(1, rate)
    reported: list[int] = []
    previous = 0
    lags = []
    for start in range(0, lead.size, 90):  # quarter-second chunks
        memory, beats, finalized = detect_beats(memory, [lead[start : start + 90]])
        assert np.all(beats >= previous)  # nothing below an earlier promise
        assert finalized >= previous
        reported += beats.tolist()
        assert all(b < finalized for b in reported)
        previous = finalized
        lags.append(memory.frontier - finalized)
    reported += finish_detector(memory).tolist()
    assert reported == sorted(reported)
    assert_found(np.array(reported), truth, 2)
    # Look-ahead: at most 2.5 s, and at most 1.6 RR intervals (1.2 s at 50 bpm) + 0.4 s
    # once the detector has learned.
    assert max(lags) <= 2.5 * rate
    assert max(lags[40:]) <= 1.6 * 1.2 * rate + 0.4 * rate


def test_state_round_trips_through_bytes() -> None:
    x, _ = synthetic_ecg(500.0, seconds=7.3)
    memory, _, _ = detect_beats(start_detector(3, 500.0), [as_adc(x)] * 3)
    data = memory.to_bytes()
    again = QrsMemory.from_bytes(data)
    assert again.to_bytes() == data
    assert again.frontier == memory.frontier


def test_corrupt_state_bytes_are_refused() -> None:
    data = start_detector(2, 360.0).to_bytes()
    with pytest.raises(ValueError, match="version"):
        QrsMemory.from_bytes(b"\x09" + data[1:])
    with pytest.raises(ValueError, match="truncated"):
        QrsMemory.from_bytes(data[:-3])
    with pytest.raises(ValueError, match="truncated"):
        QrsMemory.from_bytes(data[:5])
    with pytest.raises(ValueError, match="trailing"):
        QrsMemory.from_bytes(data + b"\x00")


def test_state_of_twelve_leads_at_500_hz_stays_small() -> None:
    rate = 500.0
    x, _ = synthetic_ecg(rate, seconds=60.0, seed=7)
    rng = np.random.default_rng(8)
    leads = [as_adc(x * rng.uniform(-2, 2) + rng.normal(0, 30, x.size)) for _ in range(12)]
    memory = start_detector(12, rate)
    largest = 0
    for start in range(0, x.size, 250):
        memory, _, _ = detect_beats(memory, [lead[start : start + 250] for lead in leads])
        largest = max(largest, len(memory.to_bytes()))
    assert largest <= 16 * 1024
