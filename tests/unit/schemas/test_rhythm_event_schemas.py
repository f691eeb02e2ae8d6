"""The rhythm events in the Avro contract (issue 18): the window result's verdict and
event reports, the summary's AF burden and event counts, and ``ecg.events.v1``'s own
schema; messages of the versions before them still read, and old readers read new
messages."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas import topics
from schemas.codec import (
    HEADER_SIZE,
    Schema,
    decode,
    encode,
    fingerprint_of,
    load_history_json,
    load_schema_json,
)

ECG_ID = uuid.UUID("6f1c2a4e-8d3b-4e7a-9c10-2b5d7e9f0a13")
LEAD = {"name": "I", "number_of_samples": 1, "zero_crossings": 0}
PAUSE = {
    "type": "pause",
    "number": 0,
    "start_sample": 100,
    "end_sample": 900,
    "beats": 2,
    "heart_rate_bpm": 27.0,
    "longest_rr_ms": 2222.2,
    "decided_at": 900,
}


# The versions before the rhythm events.
PREVIOUS = [(Schema.WINDOW_RESULT, 3), (Schema.ECG_SUMMARY, 4)]


def window(**fields: Any) -> dict[str, Any]:
    record = {"ecg_id": ECG_ID, "index": 0, "start_sample": 0, "end_sample": 1}
    return record | {"sampling_rate": 360.0, "leads": [LEAD]} | fields


def summary(**fields: Any) -> dict[str, Any]:
    record = {"ecg_id": ECG_ID, "date": datetime(2024, 5, 1, tzinfo=UTC), "n_windows": 1}
    return record | {"sampling_rate": 360.0, "leads": [LEAD]} | fields


def single_object(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    parsed = parse_schema(schema)
    out = io.BytesIO()
    out.write(b"\xc3\x01")
    out.write(bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO")))
    schemaless_writer(out, parsed, record)
    return out.getvalue()


def test_the_events_topic_has_its_own_schema_keyed_like_the_results() -> None:
    assert topics.VALUE_SCHEMAS[topics.EVENTS] is Schema.RHYTHM_EVENT
    assert fingerprint_of(Schema.RHYTHM_EVENT) not in {
        fingerprint_of(schema) for schema in Schema if schema is not Schema.RHYTHM_EVENT
    }
    event = PAUSE | {"ecg_id": ECG_ID, "sampling_rate": 360.0}
    event |= {"analyser_version": "x", "revision": 2}
    assert decode(Schema.RHYTHM_EVENT, encode(Schema.RHYTHM_EVENT, event)) == event
    onset = event | {"end_sample": None, "heart_rate_bpm": None, "longest_rr_ms": None}
    assert decode(Schema.RHYTHM_EVENT, encode(Schema.RHYTHM_EVENT, onset)) == onset


def test_a_window_carries_its_verdict_and_event_reports() -> None:
    record = window(rhythm_verdict="af", events=[PAUSE, PAUSE | {"end_sample": None}])
    decoded = decode(Schema.WINDOW_RESULT, encode(Schema.WINDOW_RESULT, record))
    assert decoded["rhythm_verdict"] == "af"
    assert decoded["events"] == [PAUSE, PAUSE | {"end_sample": None}]


def test_a_summary_carries_the_af_burden_and_the_event_counts() -> None:
    counts = {"af": 1, "pause": 2, "ventricular_run": 0, "bradycardia": 0, "tachycardia": 3}
    record = summary(af_burden_percent={"value": 12.5, "reason": None}, event_counts=counts)
    decoded = decode(Schema.ECG_SUMMARY, encode(Schema.ECG_SUMMARY, record))
    assert decoded["af_burden_percent"] == {"value": 12.5, "reason": None}
    assert decoded["event_counts"] == counts


@pytest.mark.parametrize(
    ("schema", "version"), [(Schema.WINDOW_RESULT, 3), (Schema.ECG_SUMMARY, 4)]
)
def test_the_previous_version_is_kept_and_its_messages_read_with_the_defaults(
    schema: Schema, version: int
) -> None:
    history = load_history_json(schema)
    assert len(history) == version
    previous = history[-1]
    names = {field["name"] for field in previous["fields"]}
    added = [f for f in load_schema_json(schema)["fields"] if f["name"] not in names]
    # The beat classes came in the same version (test_beat_class_schemas.py).
    assert {f["name"] for f in added} >= (
        {"rhythm_verdict", "events"}
        if schema is Schema.WINDOW_RESULT
        else {"af_burden_percent", "event_counts"}
    )
    assert all("default" in field for field in added)
    old = window() if schema is Schema.WINDOW_RESULT else summary()
    decoded = decode(schema, single_object(previous, old))
    if schema is Schema.WINDOW_RESULT:
        assert (decoded["rhythm_verdict"], decoded["events"]) == ("unknown", [])
    else:
        assert decoded["af_burden_percent"] is None
        assert decoded["event_counts"] == dict.fromkeys(
            ("af", "pause", "ventricular_run", "bradycardia", "tachycardia"), 0
        )


@pytest.mark.parametrize(
    ("schema", "version"), [(Schema.WINDOW_RESULT, 3), (Schema.ECG_SUMMARY, 4)]
)
def test_a_reader_of_the_previous_version_reads_new_messages(schema: Schema, version: int) -> None:
    previous = load_history_json(schema)[version - 1]
    if schema is Schema.WINDOW_RESULT:
        record = window(rhythm_verdict="normal", events=[PAUSE])
    else:
        record = summary(af_burden_percent={"value": 0.0, "reason": None})
    data = encode(schema, record)[HEADER_SIZE:]
    current = parse_schema(load_schema_json(schema))
    read = schemaless_reader(io.BytesIO(data), current, parse_schema(previous))
    assert isinstance(read, dict)
    assert set(read) == {field["name"] for field in previous["fields"]}
