"""Beat classes on real records: ventricular beats of MIT-BIH 105 and 106 against their
reference annotations, the same classes under any chunking, ventricular runs."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.eval import read_annotations, resample
from bench.eval_af import aami_classes
from bench.eval_classes import ClassScore, our_classes, score_classes
from streams.analysis.analyser import AnalyserMemory
from streams.analysis.beat_classes import (
    CLASS_LETTERS,
    classify_beats,
    finish_classes,
    start_classes,
)
from streams.analysis.results import EcgResult, WindowResult
from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis
from tests.conftest import DATA
from tests.records import read_record

TOLERANCE_S = 0.15


@cache
def analysed(name: str, seconds: float | None = None) -> tuple[list[WindowResult], EcgResult]:
    record = read_record(DATA / "mitdb" / name)
    rate = record.sampling_rate
    signals = record.signals if seconds is None else record.signals[:, : round(seconds * rate)]
    memory = start_analysis(signals.shape[0], AnalysisConfig(round(10 * rate), rate))
    memory, windows = feed(memory, list(signals))
    last, ecg = finish(memory)
    return [*windows, *last], ecg


def test_every_beat_has_a_class_and_the_summary_counts_them() -> None:
    windows, ecg = analysed("106")
    for window in windows:
        assert len(window.classes) == window.beats.size
        assert set(window.classes) <= set(CLASS_LETTERS)
    letters = "".join(window.classes for window in windows)
    assert dict(ecg.class_counts) == {c: letters.count(c) for c in CLASS_LETTERS}
    assert sum(count for _, count in ecg.class_counts) == ecg.rhythm.beat_count.value


@pytest.mark.parametrize("rate", [360.0, 128.0, 1000.0])
def test_ventricular_beats_of_105_and_106_at_95_percent_or_better(rate: float) -> None:
    """As ``make eval`` scores them (EC57: missed beats count as missed V, false
    detections called V as false V), at the records' rate and resampled."""
    total = ClassScore()
    for name in ("105", "106"):
        record = read_record(DATA / "mitdb" / name)
        notes = read_annotations(DATA / "mitdb" / name)
        signals, reference = resample(record.signals, notes.beats, record.sampling_rate, rate)
        beats, letters = our_classes(signals, rate)
        classes = aami_classes(notes.codes)
        total += score_classes(beats, letters, reference, classes, round(TOLERANCE_S * rate))["V"]
    assert total.tp / (total.tp + total.fn) >= 0.95
    assert total.tp / (total.tp + total.fp) >= 0.95


def test_runs_of_three_ventricular_beats_or_more_are_events() -> None:
    windows, ecg = analysed("106")
    letters = "".join(window.classes for window in windows)
    runs = [
        len(run) for run in letters.replace("N", " ").replace("S", " ").replace("Q", " ").split()
    ]
    events = [e for w in windows for e in w.events if e.type == "ventricular_run"]
    ended = [e for e in events if e.end_sample is not None]
    assert (
        len(ended)
        == sum(1 for run in runs if run >= 3)
        == dict(ecg.event_counts)["ventricular_run"]
    )
    assert sorted(e.beats for e in ended) == sorted(run for run in runs if run >= 3)
    for event in ended:
        assert event.end_sample is not None
        assert event.start_sample < event.end_sample


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(1, 30_000), min_size=1, max_size=8))
def test_the_classes_are_the_same_under_any_chunking(sizes: list[int]) -> None:
    record = read_record(DATA / "mitdb" / "106")
    rate = record.sampling_rate
    signals = record.signals[:, : round(120 * rate)]
    whole, _ = analysed("106", 120.0)
    memory = start_analysis(2, AnalysisConfig(round(10 * rate), rate))
    windows: list[WindowResult] = []
    start, k = 0, 0
    while start < signals.shape[1]:
        size = sizes[k % len(sizes)]
        memory, closed = feed(memory, list(signals[:, start : start + size]))
        memory = AnalyserMemory.from_bytes(memory.to_bytes())
        windows += closed
        start, k = start + size, k + 1
    last, _ = finish(memory)
    windows += last
    assert [w.classes for w in windows] == [w.classes for w in whole]
    assert [w.events for w in windows] == [w.events for w in whole]


def test_a_beat_waits_for_the_next_one_and_the_last_for_the_end() -> None:
    rate = 360.0
    record = read_record(DATA / "mitdb" / "100")
    signals = record.signals[:, : round(20 * rate)].astype(np.int32)
    beats = np.array([370, 660, 950], dtype=np.int64)
    memory, decided = classify_beats(start_classes(2, rate), signals, beats, rate)
    assert decided.size == 2
    assert memory.pending == 950
    memory, last = finish_classes(memory)
    assert last.size == 1
    assert memory.pending == -1
