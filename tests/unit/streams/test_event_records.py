"""Rhythm events as records: carried by window results, published on ``ecg.events.v1``,
and the sink's choice among the reports of one event."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from schemas.codec import Schema, decode, encode
from streams.analysis.events import RhythmEvent
from streams.analysis.measures import Measure
from streams.analysis.results import EcgResult, WindowResult
from streams.analysis.rhythm import Rhythm, missing_rhythm
from streams.records import event_counts, event_records, summary_record, window_record
from streams.sink import event_json, event_rank, latest_events

ECG = uuid.UUID("6f1c2a4e-8d3b-4e7a-9c10-2b5d7e9f0a13")
ONSET = RhythmEvent("af", 3, 100, None, 33, 120.0, 700.0, 400)
CHUNK = {"ecg_id": ECG, "date": None, "sampling_rate": 250.0}


def rhythm() -> Rhythm:
    return missing_rhythm("no beats")


def test_a_window_record_carries_its_verdict_and_reports_and_each_becomes_an_event() -> None:
    ended = RhythmEvent("af", 3, 100, 2000, 90, 118.0, 800.0, 2010)
    result = WindowResult(
        0, 0, 2500, (), np.array([], dtype=np.int64), rhythm(), "af", (ONSET, ended)
    )
    record = window_record(CHUNK, [], result) | {"revision": 2}
    assert record["rhythm_verdict"] == "af"
    assert [report["end_sample"] for report in record["events"]] == [None, 2000]
    events = event_records(record)
    assert [event["decided_at"] for event in events] == [400, 2010]
    shared = {"ecg_id": ECG, "sampling_rate": 250.0, "revision": 2}
    assert all(event.items() >= shared.items() for event in events)
    for event in events:
        assert decode(Schema.RHYTHM_EVENT, encode(Schema.RHYTHM_EVENT, event)) == event
    assert "ecg_id" not in event_json(events[0])


def test_a_summary_counts_every_type_and_its_af_burden() -> None:
    ecg = EcgResult(1, (), rhythm(), Measure(12.5), (("af", 1), ("pause", 2)))
    record = summary_record(CHUNK | {"date": "2024-05-01"}, [], ecg)
    assert record["af_burden_percent"] == {"value": 12.5, "reason": None}
    assert record["event_counts"] == {
        "af": 1,
        "pause": 2,
        "ventricular_run": 0,
        "bradycardia": 0,
        "tachycardia": 0,
    }
    assert event_counts(()) == dict.fromkeys(record["event_counts"], 0)


def event(number: int, *, end: int | None, decided_at: int, revision: int = 0) -> dict[str, Any]:
    return {
        "ecg_id": ECG,
        "number": number,
        "end_sample": end,
        "decided_at": decided_at,
        "revision": revision,
    }


def test_the_end_report_outranks_the_onset_and_a_revision_both() -> None:
    onset, ended = event(0, end=None, decided_at=400), event(0, end=2000, decided_at=2010)
    revised = event(0, end=None, decided_at=10, revision=1)
    assert sorted([revised, ended, onset], key=event_rank) == [onset, ended, revised]
    assert latest_events([ended, onset]) == [ended]
    assert latest_events([onset, ended, event(1, end=5, decided_at=5)]) == [
        ended,
        event(1, end=5, decided_at=5),
    ]
    assert latest_events([revised, ended]) == [revised]
