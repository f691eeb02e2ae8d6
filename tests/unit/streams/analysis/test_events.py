"""Rhythm events from beats: pauses, bradycardia, tachycardia and atrial fibrillation,
decided beat by beat, the same whatever way the beats are split."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.analysis.analyser import AnalyserMemory
from streams.analysis.events import (
    VERDICTS,
    EventMemory,
    RhythmEvent,
    finish_events,
    follow_beats,
    start_events,
)
from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis

RATE = 250.0
Beats = np.ndarray


def beats_of(*runs: tuple[int, int] | list[int]) -> Beats:
    """Beat indices from runs of (count, RR) or explicit lists of RRs (samples)."""
    intervals: list[int] = []
    for run in runs:
        intervals += [run[1]] * run[0] if isinstance(run, tuple) else run
    return np.cumsum([1000, *intervals]).astype(np.int64)


def irregular(count: int, seed: int = 7) -> list[int]:
    """RR intervals as in atrial fibrillation: random between 0.4 and 1.1 s."""
    intervals: list[int] = np.random.default_rng(seed).integers(100, 275, count).tolist()
    return intervals


def follow_all(beats: Beats, cuts: list[int] = []) -> tuple[list[RhythmEvent], list[int]]:  # noqa: B006
    memory, events, states = start_events(), [], []
    for a, b in zip([0, *cuts], [*cuts, beats.size], strict=True):
        memory, found, state = follow_beats(memory, beats[a:b], RATE)
        events += found
        states += state.tolist()
    memory, ended = finish_events(memory, RATE)
    return events + ended, states


def test_a_pause_is_reported_once_with_its_two_beats() -> None:
    beats = beats_of((20, 200), [600], (20, 200))
    events, _ = follow_all(beats)
    (pause,) = events
    assert pause.type == "pause"
    assert (pause.start_sample, pause.end_sample) == (int(beats[20]), int(beats[21]))
    assert pause.decided_at == int(beats[21])
    assert pause.longest_rr_ms == 2400.0
    assert pause.heart_rate_bpm == 25.0


def test_an_interval_just_under_two_seconds_is_no_pause() -> None:
    events, _ = follow_all(beats_of((20, 200), [499], (20, 200)))
    assert events == []


def test_bradycardia_starts_and_ends_with_the_rate_over_eight_intervals() -> None:
    # 60 bpm (250 samples), then 40 bpm (375), then 60 again.
    beats = beats_of((30, 250), (30, 375), (30, 250))
    events, states = follow_all(beats)
    onset, end = events
    assert (onset.type, end.type) == ("bradycardia", "bradycardia")
    assert onset.number == end.number == 0
    assert onset.end_sample is None
    # The onset is decided once the mean of the last 8 intervals is below 50 bpm
    # (a mean interval above 300 samples): at the 4th slow interval, (4 x 250 + 4 x
    # 375) / 8 = 312.5, 48 bpm; it starts at the first beat of those 8 intervals.
    assert onset.decided_at == int(beats[34])
    assert onset.start_sample == int(beats[26])
    assert onset.heart_rate_bpm == 48.0
    assert end.end_sample is not None
    assert end.end_sample > int(beats[60])
    assert end.heart_rate_bpm is not None
    assert 38 < end.heart_rate_bpm < 50
    assert states[40] == VERDICTS.index("bradycardia")
    assert states[10] == VERDICTS.index("normal")


def test_tachycardia_is_an_episode_above_120_bpm() -> None:
    beats = beats_of((30, 250), (40, 100), (30, 250))  # 60, 150, 60 bpm
    events, states = follow_all(beats)
    assert [(e.type, e.end_sample is None) for e in events] == [
        ("tachycardia", True),
        ("tachycardia", False),
    ]
    assert states[50] == VERDICTS.index("tachycardia")


def test_atrial_fibrillation_between_regular_rhythm() -> None:
    beats = beats_of((100, 200), irregular(200), (100, 200))
    events, states = follow_all(beats)
    af = [e for e in events if e.type == "af"]
    onset, end = af
    assert onset.end_sample is None
    assert end.end_sample is not None
    assert onset.number == end.number
    # The episode covers the irregular part within about 16 beats at either end.
    start, stop = int(beats[100]), int(beats[300])
    assert abs(onset.start_sample - start) < 16 * 200
    assert abs(end.end_sample - stop) < 16 * 200
    assert states[250] == VERDICTS.index("af")
    assert states[50] == states[-1] == VERDICTS.index("normal")


def test_isolated_ectopic_beats_and_bigeminy_are_not_atrial_fibrillation() -> None:
    ectopics: list[int] = []
    for _ in range(20):  # a premature beat with a compensatory pause every 5 beats
        ectopics += [200, 200, 200, 130, 270]
    bigeminy = [130, 270] * 60
    events, _ = follow_all(beats_of((40, 200), ectopics, bigeminy, (40, 200)))
    assert [e for e in events if e.type == "af"] == []


def test_an_episode_still_going_on_ends_at_the_last_beat() -> None:
    beats = beats_of((50, 200), irregular(150))
    events, _ = follow_all(beats)
    onset, end = (e for e in events if e.type == "af")
    assert end.end_sample == end.decided_at == int(beats[-1])
    memory, _, _ = follow_beats(start_events(), beats, RATE)
    assert memory.counts()["af"] == 1
    assert memory.af_samples == int(beats[-1]) - onset.start_sample


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=0, max_size=6))
def test_any_split_of_the_beats_gives_the_same_events(cuts: list[int]) -> None:
    beats = beats_of((60, 200), irregular(120, seed=3), [600], (30, 100), (40, 380), (20, 200))
    whole = follow_all(beats)
    assert follow_all(beats, sorted(min(c, beats.size) for c in cuts)) == whole


def test_the_events_memory_goes_through_the_analyser_bytes() -> None:
    rate = 250.0
    config = AnalysisConfig(window_samples=2500, sampling_rate=rate)
    memory = start_analysis(1, config)
    assert isinstance(memory.events, EventMemory)
    t = np.arange(60 * int(rate))
    lead = (1000 * np.exp(-(((t % 200) - 100) ** 2) / 8.0)).astype(np.int32)
    memory, _ = feed(memory, [lead])
    again = AnalyserMemory.from_bytes(memory.to_bytes())
    assert again.events is not None
    assert memory.events is not None
    for part in ("scalars", "intervals", "ends", "recent"):
        assert np.array_equal(getattr(again.events, part), getattr(memory.events, part))
    closed, ecg = finish(again)
    assert all(window.verdict in VERDICTS for window in closed)
    assert ecg.af_burden_percent.value == 0.0
    assert dict(ecg.event_counts) == dict.fromkeys(
        ("af", "pause", "ventricular_run", "bradycardia", "tachycardia"), 0
    )
