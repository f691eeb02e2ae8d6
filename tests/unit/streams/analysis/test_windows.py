from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from streams.analysis.detector import BeatDetector
from streams.analysis.results import EcgResult, WindowResult
from streams.analysis.windows import (
    AnalyserMemory,
    AnalysisConfig,
    feed,
    finish,
    start_analysis,
)
from streams.analysis.zero_crossings import count_zero_crossings
from tests.records import read_record
from tests.synthetic_ecg import GAIN, synthetic_ecg
from tests.unit.streams.analysis.threshold_detector import THRESHOLD, threshold_detector

Leads = list[NDArray[np.int32]]


def run(
    leads: Leads,
    config: AnalysisConfig,
    bounds: list[int],
    detector: BeatDetector | None = None,
) -> tuple[list[WindowResult], EcgResult, int]:
    """Feed the chunks ``[bounds[k], bounds[k + 1])``, the state going through its bytes
    after every chunk; returns the windows, the ECG result and the largest state."""
    memory = start_analysis(len(leads), config, detector)
    windows: list[WindowResult] = []
    largest = 0
    for start, end in itertools.pairwise(bounds):
        memory, closed = feed(memory, [lead[start:end] for lead in leads])
        windows += closed
        data = memory.to_bytes()
        largest = max(largest, len(data))
        memory = AnalyserMemory.from_bytes(data, detector)
        assert memory.to_bytes() == data
    last, ecg = finish(memory)
    return windows + last, ecg, largest


def one_shot(
    leads: Leads, config: AnalysisConfig, detector: BeatDetector | None = None
) -> tuple[list[WindowResult], EcgResult]:
    windows, ecg, _ = run(leads, config, [0, max(lead.size for lead in leads)], detector)
    return windows, ecg


def plain(windows: list[WindowResult]) -> list[dict[str, Any]]:
    """Windows as comparable plain data (floats compared bitwise by ==)."""
    return [dataclasses.asdict(w) | {"beats": w.beats.tolist()} for w in windows]


def cut_points(draw: st.DrawFn, length: int, max_cuts: int = 20) -> list[int]:
    cuts = draw(st.lists(st.integers(0, length), max_size=max_cuts))
    return sorted({0, length, *cuts})


samples = st.one_of(
    st.integers(-3, 3),
    st.integers(-(2**15), 2**15 - 1),
    st.sampled_from([-(2**31), 2**31 - 1, -(2**15), 2**15 - 1, 0, THRESHOLD]),
    st.integers(-(2**31), 2**31 - 1),
)


@st.composite
def ragged_ecgs(draw: st.DrawFn) -> tuple[Leads, AnalysisConfig, list[int], int]:
    n_leads = draw(st.integers(1, 3))
    leads = [
        np.array(draw(st.lists(samples, max_size=400)), dtype=np.int32) for _ in range(n_leads)
    ]
    rate = draw(st.sampled_from([None, 100.0, 128.0, 250.0]))
    config = AnalysisConfig(
        window_samples=draw(st.integers(1, 150)),
        sampling_rate=rate,
        gains=tuple(draw(st.sampled_from([None, 200.0, 0.5])) for _ in leads),
        baselines=tuple(draw(st.sampled_from([None, 0, 1024])) for _ in leads),
    )
    longest = max(lead.size for lead in leads)
    return leads, config, cut_points(draw, longest), draw(st.integers(0, 60))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ragged_ecgs())
def test_any_chunking_gives_bitwise_the_results_of_the_whole(
    ecg: tuple[Leads, AnalysisConfig, list[int], int],
) -> None:
    leads, config, bounds, lag = ecg
    detector = threshold_detector(lag)
    whole, whole_ecg = one_shot(leads, config, detector)
    chunked, chunked_ecg, _ = run(leads, config, bounds, detector)
    assert plain(chunked) == plain(whole)
    assert chunked_ecg == whole_ecg
    assert [lead.zero_crossings for lead in whole_ecg.leads] == [
        count_zero_crossings(lead) for lead in leads
    ]
    assert [lead.number_of_samples for lead in whole_ecg.leads] == [lead.size for lead in leads]
    assert whole_ecg.n_windows == len(whole)


@st.composite
def synthetic_chunkings(draw: st.DrawFn) -> tuple[Leads, AnalysisConfig, list[int]]:
    rate = draw(st.sampled_from([128.0, 250.0, 360.0]))
    seconds = draw(st.floats(3.0, 9.0))
    signals, _ = synthetic_ecg(
        rate, seconds, bpm=draw(st.floats(50, 150)), seed=draw(st.integers(0, 9))
    )
    config = AnalysisConfig(round(draw(st.floats(0.5, 4.0)) * rate), rate, (GAIN, None), (0, None))
    n = signals.shape[1]
    if draw(st.booleans()):  # runs of one-sample chunks
        start = draw(st.integers(0, n - 1))
        bounds = sorted({0, n, *range(start, min(n, start + 300))})
    else:
        bounds = cut_points(draw, n, 40)
    return list(signals), config, bounds


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(synthetic_chunkings())
def test_with_the_qrs_detector_any_chunking_gives_the_whole(
    ecg: tuple[Leads, AnalysisConfig, list[int]],
) -> None:
    leads, config, bounds = ecg
    whole, whole_ecg = one_shot(leads, config)
    chunked, chunked_ecg, _ = run(leads, config, bounds)
    assert plain(chunked) == plain(whole)
    assert chunked_ecg == whole_ecg


def test_one_sample_chunks_give_the_whole() -> None:
    signals, _ = synthetic_ecg(128.0, 4.0, bpm=90)
    leads = list(signals)
    config = AnalysisConfig(128, 128.0, (GAIN, GAIN), (0, 0))
    whole, whole_ecg = one_shot(leads, config)
    chunked, chunked_ecg, _ = run(leads, config, list(range(signals.shape[1] + 1)))
    assert plain(chunked) == plain(whole)
    assert chunked_ecg == whole_ecg
    assert whole_ecg.rhythm.beat_count.value


@pytest.fixture(scope="module")
def record_100(data_dir: Path) -> Leads:
    record = read_record(data_dir / "mitdb" / "100")
    return list(record.signals[:, : 360 * 150] - 1024)


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 2**32))
def test_a_real_record_cut_at_random_gives_the_whole(record_100: Leads, seed: int) -> None:
    random = Random(seed)
    config = AnalysisConfig(3600, 360.0, (200.0, 200.0), (0, 0))
    n = record_100[0].size
    bounds, at = [0], 0
    while at < n:
        at = min(
            n, at + random.choice([1, 2, 7, random.randint(1, 5000), random.randint(1, 40000)])
        )
        bounds.append(at)
    whole, whole_ecg = one_shot(record_100, config)
    chunked, chunked_ecg, _ = run(record_100, config, bounds)
    assert plain(chunked) == plain(whole)
    assert chunked_ecg == whole_ecg


@pytest.mark.parametrize("rate", [128.0, 250.0, 360.0, 500.0, 1000.0])
def test_sampling_rates(rate: float) -> None:
    signals, peaks = synthetic_ecg(rate, 60.0, bpm=72)
    config = AnalysisConfig(round(10 * rate), rate, (GAIN, GAIN), (0, 0))
    windows, ecg = one_shot(list(signals), config)
    beats = np.concatenate([w.beats for w in windows])
    assert abs(beats.size - peaks.size) <= 3
    assert ecg.rhythm.beat_count.value == beats.size
    # Once the detector has learnt the ECG (2 s), every beat is found within 30 ms.
    found, settled = beats / rate, peaks[peaks > 2]
    assert np.all(np.min(np.abs(found[None, :] - settled[:, None]), axis=1) < 0.03)
    assert ecg.rhythm.heart_rate_bpm.value == pytest.approx(72, abs=2)
    assert [w.start_sample for w in windows] == [i * round(10 * rate) for i in range(6)]
    assert {lead.quality.verdict for lead in ecg.leads} == {"good"}
    assert ecg.leads[0].maximum_mv.value == pytest.approx(1.0, abs=0.1)


def test_empty_input() -> None:
    config = AnalysisConfig(100, 250.0)
    memory = start_analysis(2, config)
    memory, closed = feed(memory, [np.zeros(0, np.int32), np.zeros(0, np.int32)])
    assert closed == []
    last, ecg = finish(memory)
    assert last == []
    assert ecg.n_windows == 0
    assert [lead.number_of_samples for lead in ecg.leads] == [0, 0]
    assert ecg.leads[0].minimum.reason == "no samples"
    assert ecg.leads[0].quality.verdict == "unassessed"
    assert ecg.rhythm.beat_count.value == 0
    assert ecg.rhythm.heart_rate_bpm.reason == "needs 1 RR interval, has 0"


def test_without_a_sampling_rate_time_based_results_are_null_with_the_reason() -> None:
    signals, _ = synthetic_ecg(250.0, 12.0)
    windows, ecg = one_shot(list(signals), AnalysisConfig(1000))
    assert len(windows) == 3
    for rhythm in [w.rhythm for w in windows] + [ecg.rhythm]:
        for measure in dataclasses.astuple(rhythm):
            assert measure == (None, "no sampling rate")
    assert all(w.beats.size == 0 for w in windows)
    quality = windows[0].leads[0].quality
    assert quality.verdict == "good"
    assert quality.reasons == ("noise and baseline wander not assessed: no sampling rate",)
    assert ecg.leads[0].mean_mv.reason == "no gain"


def test_a_rate_outside_the_detectors_range_says_so() -> None:
    signals, _ = synthetic_ecg(250.0, 3.0)
    _, ecg = one_shot(list(signals), AnalysisConfig(100, 50.0))
    assert ecg.rhythm.heart_rate_bpm.value is None
    assert "no beat detection" in str(ecg.rhythm.heart_rate_bpm.reason)


def test_flat_line() -> None:
    leads = [np.full(2500, 512, dtype=np.int32), np.zeros(2500, dtype=np.int32)]
    windows, ecg = one_shot(leads, AnalysisConfig(1000, 250.0, (GAIN, None)))
    assert [[lead.quality.verdict for lead in w.leads] for w in windows] == [
        ["flat_line", "flat_line"]
    ] * 3
    assert [lead.quality.verdict for lead in ecg.leads] == ["flat_line", "flat_line"]
    assert ecg.rhythm.beat_count.value == 0
    assert ecg.leads[0].quality.windows == {
        "good": 0,
        "flat_line": 3,
        "saturated": 0,
        "noisy": 0,
        "baseline_wander": 0,
        "unassessed": 0,
    }


def test_a_lead_that_stands_still_for_half_a_window_is_flat() -> None:
    signals, _ = synthetic_ecg(250.0, 10.0)
    signals[0, 1000:2400] = 300
    windows, _ = one_shot(list(signals), AnalysisConfig(2500, 250.0, (GAIN, GAIN)))
    assert [lead.quality.verdict for lead in windows[0].leads] == ["flat_line", "good"]


def test_saturated_signal() -> None:
    signals, _ = synthetic_ecg(360.0, 20.0)
    clipped = np.clip(signals, -20, 20)  # at ±0.1 mV
    windows, ecg = one_shot(list(clipped), AnalysisConfig(3600, 360.0, (GAIN, GAIN)))
    assert {lead.quality.verdict for w in windows for lead in w.leads} == {"saturated"}
    assert ecg.leads[0].quality.verdict == "saturated"


def test_noise_and_baseline_wander() -> None:
    rate = 360.0
    signals, _ = synthetic_ecg(rate, 20.0, n_leads=3)
    rng = np.random.default_rng(1)
    t = np.arange(signals.shape[1]) / rate
    signals[1] += np.round(rng.normal(0, 0.2 * GAIN, t.size)).astype(np.int32)
    signals[2] += np.round(1.5 * GAIN * np.sin(2 * np.pi * 0.15 * t)).astype(np.int32)
    _, ecg = one_shot(list(signals), AnalysisConfig(3600, rate, (GAIN,) * 3))
    assert [lead.quality.verdict for lead in ecg.leads] == ["good", "noisy", "baseline_wander"]
    # Without a gain, the wander is judged against the lead's own amplitude.
    _, relative = one_shot(list(signals), AnalysisConfig(3600, rate))
    assert [lead.quality.verdict for lead in relative.leads] == ["good", "noisy", "baseline_wander"]


@pytest.mark.parametrize(
    ("low", "high"), [(-(2**15), 2**15 - 1), (-(2**31), 2**31 - 1)], ids=["int16", "int32"]
)
def test_values_at_the_integer_extremes(low: int, high: int) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    leads = [
        np.full(n, high, dtype=np.int32),
        np.full(n, low, dtype=np.int32),
        np.where(np.arange(n) % 2 == 0, high, low).astype(np.int32),
        rng.integers(low, high, n, endpoint=True, dtype=np.int64).astype(np.int32),
    ]
    config = AnalysisConfig(1000, 250.0, (1.0,) * 4, (0,) * 4)
    windows, ecg = one_shot(leads, config)
    chunked, chunked_ecg, _ = run(leads, config, [0, 1, 2, 1777, 3001, 4999, n])
    assert plain(chunked) == plain(windows)
    assert chunked_ecg == ecg
    for lead, result in zip(leads, ecg.leads, strict=True):
        exact = [int(v) for v in lead]
        assert result.minimum.value == min(exact)
        assert result.maximum.value == max(exact)
        assert result.mean.value == sum(exact) / n
        assert result.zero_crossings == count_zero_crossings(lead)
    assert [lead.quality.verdict for lead in ecg.leads[:3]] == [
        "flat_line",
        "flat_line",
        "saturated",
    ]


def test_values_in_millivolts_use_gain_and_baseline() -> None:
    leads = [np.array([1024, 1224, 824], dtype=np.int32), np.array([5, 6], dtype=np.int32)]
    _, ecg = one_shot(leads, AnalysisConfig(10, None, (200.0, None), (1024, None)))
    first = ecg.leads[0]
    assert (first.minimum_mv.value, first.maximum_mv.value) == (-1.0, 1.0)
    assert first.mean_mv.value == pytest.approx(0.0)
    assert ecg.leads[1].maximum_mv.reason == "no gain"


def test_a_lead_that_has_ended_takes_no_more_samples() -> None:
    memory = start_analysis(2, AnalysisConfig(10))
    memory, _ = feed(memory, [np.arange(5, dtype=np.int32), np.arange(3, dtype=np.int32)])
    with pytest.raises(ValueError, match="lead 1 has ended"):
        feed(memory, [np.arange(5, dtype=np.int32), np.arange(1, dtype=np.int32)])


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (AnalysisConfig(0), "window_samples"),
        (AnalysisConfig(10, float("nan")), "sampling_rate"),
        (AnalysisConfig(10, 250.0, (0.0,)), "the gain of lead 0"),
        (AnalysisConfig(10, 250.0, (1.0, 2.0)), "gains has 2 entries for 1 leads"),
    ],
)
def test_a_bad_configuration_is_refused(config: AnalysisConfig, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        start_analysis(1, config)


def test_samples_beyond_int32_are_refused() -> None:
    memory = start_analysis(1, AnalysisConfig(10))
    with pytest.raises(ValueError, match="signed 32-bit"):
        feed(memory, [np.array([2**31], dtype=np.int64)])


def test_the_state_of_12_leads_at_500_hz_stays_under_16_kib() -> None:
    rate = 500.0
    signals, _ = synthetic_ecg(rate, 120.0, n_leads=12, noise_mv=0.02)
    config = AnalysisConfig(5000, rate, (GAIN,) * 12, (0,) * 12)
    n = signals.shape[1]
    _, _, first_minute = run(list(signals[:, : n // 2]), config, list(range(0, n // 2 + 1, 500)))
    _, _, two_minutes = run(list(signals), config, list(range(0, n + 1, 500)))
    assert two_minutes <= 16 * 1024
    assert two_minutes - first_minute < 256  # bounded: a longer ECG does not grow it


def test_a_chunk_longer_than_a_piece_with_a_lead_that_ends_inside_it() -> None:
    # 12 leads x 15,000 samples: feed cuts the one-shot chunk into pieces of 10,922.
    signals, _ = synthetic_ecg(500.0, 30.0, n_leads=12)
    leads = [*signals[:11], signals[11, :12_345]]
    config = AnalysisConfig(5000, 500.0, (GAIN,) * 12, (0,) * 12)
    whole, whole_ecg = one_shot(leads, config)
    chunked, chunked_ecg, _ = run(leads, config, list(range(0, 15_001, 500)))
    assert plain(chunked) == plain(whole)
    assert chunked_ecg == whole_ecg
    assert whole_ecg.leads[11].number_of_samples == 12_345
    assert whole[-1].leads[11].number_of_samples == 2_345
