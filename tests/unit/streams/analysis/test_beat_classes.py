"""Beat classes on real records: ventricular beats of MIT-BIH 105 and 106 against their
reference annotations, the same classes under any chunking, ventricular runs."""

from __future__ import annotations

from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from bench.eval import read_annotations
from bench.eval_af import aami_classes
from streams.analysis.analyser import AnalyserMemory
from streams.analysis.beat_classes import (
    CLASS_LETTERS,
    V_CLASS,
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


def reference_classes(beats: NDArray[np.int64], name: str, rate: float) -> str:
    """The reference class of each beat (the nearest reference beat within 150 ms),
    "O" where there is none (a false detection)."""
    notes = read_annotations(DATA / "mitdb" / name)
    reference, codes = notes.beats, notes.codes
    classes = aami_classes(codes)
    at = np.clip(np.searchsorted(reference, beats), 1, reference.size - 1)
    nearer = np.where(beats - reference[at - 1] <= reference[at] - beats, at - 1, at)
    close = np.abs(reference[nearer] - beats) <= TOLERANCE_S * rate
    return "".join(
        CLASS_LETTERS[c] if ok else "O" for c, ok in zip(classes[nearer], close, strict=True)
    )


def test_every_beat_has_a_class_and_the_summary_counts_them() -> None:
    windows, ecg = analysed("106")
    for window in windows:
        assert len(window.classes) == window.beats.size
        assert set(window.classes) <= set(CLASS_LETTERS)
    letters = "".join(window.classes for window in windows)
    assert dict(ecg.class_counts) == {c: letters.count(c) for c in CLASS_LETTERS}
    assert sum(count for _, count in ecg.class_counts) == ecg.rhythm.beat_count.value


def test_ventricular_beats_of_105_and_106_at_95_percent_or_better() -> None:
    tp = fn = fp = 0
    for name in ("105", "106"):
        windows, _ = analysed(name)
        beats = np.concatenate([window.beats for window in windows])
        ours = np.array(list("".join(window.classes for window in windows)))
        truth = np.array(list(reference_classes(beats, name, 360.0)))
        tp += int(np.sum((ours == "V") & (truth == "V")))
        fp += int(np.sum((ours == "V") & (truth != "V")))
        # Reference V beats the detector missed count as missed too.
        codes = read_annotations(DATA / "mitdb" / name).codes
        fn += int(np.sum(aami_classes(codes) == V_CLASS)) - int(
            np.sum((ours == "V") & (truth == "V"))
        )
    assert tp / (tp + fn) >= 0.95
    assert tp / (tp + fp) >= 0.95


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
