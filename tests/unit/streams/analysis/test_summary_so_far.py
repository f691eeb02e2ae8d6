"""``summary_so_far``: the ECG's result over the windows closed so far, as a live lookup
shows it while the samples still arrive."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from streams.analysis.detector import BeatDetector
from streams.analysis.results import EcgResult, WindowResult
from streams.analysis.windows import (
    AnalyserMemory,
    AnalysisConfig,
    feed,
    finish,
    start_analysis,
    summary_so_far,
)
from streams.analysis.zero_crossings import count_zero_crossings
from tests.records import read_record
from tests.unit.streams.analysis.test_windows import Leads, plain, ragged_ecgs
from tests.unit.streams.analysis.threshold_detector import threshold_detector

RATE = 360.0
CONFIG = AnalysisConfig(3600, RATE, (200.0, 200.0), (0, 0))


@pytest.fixture(scope="module")
def record_100(data_dir: Path) -> Leads:
    """The first five minutes of MIT-BIH 100, about ADC zero (its baseline is 1024)."""
    record = read_record(data_dir / "mitdb" / "100")
    return list(record.signals[:, : 360 * 300] - 1024)


def so_far_in_chunks(
    leads: Leads, config: AnalysisConfig, size: int, detector: BeatDetector | None = None
) -> list[tuple[AnalyserMemory, list[WindowResult], EcgResult]]:
    """After each chunk of ``size`` samples: the state, every window emitted so far and
    the summary so far."""
    memory = start_analysis(len(leads), config, detector)
    windows: list[WindowResult] = []
    steps = []
    for start in range(0, max(lead.size for lead in leads), size):
        memory, closed = feed(memory, [lead[start : start + size] for lead in leads])
        windows = windows + closed
        steps.append((memory, windows, summary_so_far(memory)))
    return steps


def test_the_summary_so_far_adds_up_the_windows_so_far(record_100: Leads) -> None:
    steps = so_far_in_chunks(record_100, CONFIG, 360)  # one second per chunk
    assert len(steps) == 300
    closing = [(windows, so_far) for _, windows, so_far in steps if windows]
    assert len({len(windows) for windows, _ in closing}) >= 25  # ~29 windows closed one by one
    for windows, so_far in closing:
        assert so_far.n_windows == len(windows)
        end = windows[-1].end_sample
        for i, (lead, signal) in enumerate(zip(so_far.leads, record_100, strict=True)):
            mine = [window.leads[i] for window in windows]
            assert lead.number_of_samples == sum(w.number_of_samples for w in mine) == end
            assert lead.zero_crossings == sum(w.zero_crossings for w in mine)
            assert lead.zero_crossings == count_zero_crossings(signal[:end])
            lows = np.array([w.minimum.value for w in mine], dtype=np.int64)
            highs = np.array([w.maximum.value for w in mine], dtype=np.int64)
            assert lead.minimum.value == lows.min() == signal[:end].min()
            assert lead.maximum.value == highs.max() == signal[:end].max()
            assert lead.mean.value == pytest.approx(float(signal[:end].mean()), rel=1e-12)
            verdicts = Counter(w.quality.verdict for w in mine)
            assert lead.quality.windows is not None
            assert {k: v for k, v in lead.quality.windows.items() if v} == verdicts
        beats = np.concatenate([window.beats for window in windows])
        rhythm = so_far.rhythm
        assert rhythm.beat_count.value == beats.size
        assert rhythm.rr_count.value == max(beats.size - 1, 0)
        if beats.size > 2:
            rr = np.diff(beats) / RATE * 1000
            assert rhythm.rr_mean_ms.value == pytest.approx(rr.mean())
            assert rhythm.heart_rate_bpm.value == pytest.approx(60_000 / rr.mean())
            assert rhythm.rr_min_ms.value == pytest.approx(rr.min())
            assert rhythm.rr_max_ms.value == pytest.approx(rr.max())
            letters = "".join(window.classes for window in windows)
            normal = np.array([c == "N" for c in letters])
            nn = rr[normal[1:] & normal[:-1]]
            assert rhythm.nn_count.value == nn.size
            if nn.size > 1:
                assert rhythm.sdnn_ms.value == pytest.approx(nn.std(ddof=1))


def test_the_summary_so_far_grows_towards_the_final_one(record_100: Leads) -> None:
    steps = so_far_in_chunks(record_100, CONFIG, 360)
    counts = [so_far.n_windows for _, _, so_far in steps]
    assert counts == sorted(counts)
    memory, windows, so_far = steps[-1]
    last, final = finish(memory)
    # The detector holds back the last beats: the last window closes only at the end.
    assert so_far.n_windows == len(windows) == 29
    assert final.n_windows == len(windows + last) == 30
    beats = so_far.rhythm.beat_count.value
    assert isinstance(beats, int)
    assert final.rhythm.beat_count.value == beats + last[0].beats.size


def test_a_summary_so_far_leaves_the_state_as_it_was(record_100: Leads) -> None:
    memory, closed = feed(start_analysis(2, CONFIG), [lead[:40_000] for lead in record_100])
    before = memory.to_bytes()
    so_far = summary_so_far(memory)
    assert so_far.n_windows == len(closed) == memory.next_window
    assert memory.to_bytes() == before
    (last, final), (last_again, final_again) = (
        finish(memory),
        finish(AnalyserMemory.from_bytes(before)),
    )
    assert (plain(last), final) == (plain(last_again), final_again)


@pytest.mark.parametrize("rate", [RATE, None])
def test_once_the_whole_signal_is_closed_the_summary_so_far_is_the_final_one(
    record_100: Leads, rate: float | None
) -> None:
    # A detector that finalises every beat at once lets the last window close before
    # the end, for a signal of whole windows; with beats, though, the window of the last
    # beat waits for its class (decided by the next beat, or the end).
    config = AnalysisConfig(3600, rate, (200.0, 200.0), (0, 0))
    leads = [lead[: 3600 * 6] for lead in record_100]
    memory, closed = feed(start_analysis(2, config, threshold_detector(0)), leads)
    if rate is not None:
        assert memory.classes is not None
        assert memory.next_window == memory.classes.pending // 3600 == 5
        last, final = finish(memory)
        assert len(last) == 1
        assert last[0].classes[-1] in "NSVFQ"
        assert final.n_windows == len(closed) + 1 == 6
        return
    assert memory.next_window * 3600 == memory.frontier
    so_far = summary_so_far(memory)
    last, final = finish(memory)
    assert last == []
    assert so_far == final
    assert final.n_windows == len(closed) == 6


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ragged_ecgs())
def test_the_summary_so_far_is_the_final_one_of_the_signal_up_to_the_closed_windows(
    ecg: tuple[Leads, AnalysisConfig, list[int], int],
) -> None:
    """For a detector whose beats depend on no later sample, ending the ECG at the end
    of its last closed window gives exactly the summary so far, at every chunk."""
    leads, config, bounds, lag = ecg
    detector = threshold_detector(lag)
    memory = start_analysis(len(leads), config, detector)
    for start, end in itertools.pairwise(bounds):
        memory, _ = feed(memory, [lead[start:end] for lead in leads])
        until = min(memory.next_window * config.window_samples, memory.frontier)
        prefix = start_analysis(len(leads), config, detector)
        prefix, _ = feed(prefix, [lead[:until] for lead in leads])
        assert summary_so_far(memory) == finish(prefix)[1]
