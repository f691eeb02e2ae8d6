"""The beat classes in the Avro contract (issue 18): the window result's ``beat_classes``
beside its beats and the summary's ``beat_class_counts``; messages of the versions
before them still read (classes ``""``, counts 0), and old readers read new messages."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import HEADER_SIZE, Schema, decode, encode, load_history_json, load_schema_json
from schemas.json_schemas import json_schema

ECG_ID = uuid.UUID("0b7e6f3c-2a51-4c8e-9d2f-6a1b3c5d7e90")
LEAD = {"name": "MLII", "number_of_samples": 3600, "zero_crossings": 0}
COUNTS = {"n": 1455, "s": 48, "v": 510, "f": 0, "q": 15}
# The versions before the rhythm events and the beat classes (one new version for both).
PREVIOUS = [(Schema.WINDOW_RESULT, 3), (Schema.ECG_SUMMARY, 4)]


def window(**fields: Any) -> dict[str, Any]:
    record = {"ecg_id": ECG_ID, "index": 0, "start_sample": 0, "end_sample": 3600}
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


def test_a_window_carries_one_class_per_beat_next_to_its_beats() -> None:
    names = [field["name"] for field in load_schema_json(Schema.WINDOW_RESULT)["fields"]]
    assert names.index("beat_classes") == names.index("beats") + 1
    record = window(beats=[77, 370, 662], beat_classes="NVN")
    decoded = decode(Schema.WINDOW_RESULT, encode(Schema.WINDOW_RESULT, record))
    assert (decoded["beats"], decoded["beat_classes"]) == ([77, 370, 662], "NVN")
    assert (
        decode(Schema.WINDOW_RESULT, encode(Schema.WINDOW_RESULT, window()))["beat_classes"] == ""
    )


def test_a_summary_counts_the_beats_per_class_all_zero_by_default() -> None:
    decoded = decode(Schema.ECG_SUMMARY, encode(Schema.ECG_SUMMARY, summary()))
    assert decoded["beat_class_counts"] == dict.fromkeys("nsvfq", 0)
    record = summary(beat_class_counts=COUNTS)
    assert decode(Schema.ECG_SUMMARY, encode(Schema.ECG_SUMMARY, record))["beat_class_counts"] == (
        COUNTS
    )
    # As served: an object of five integers, each with its default.
    _, definitions = json_schema(Schema.ECG_SUMMARY)
    counts = definitions["BeatClassCounts"]
    assert list(counts["properties"]) == ["n", "s", "v", "f", "q"]
    assert counts["required"] == []


@pytest.mark.parametrize(("schema", "version"), PREVIOUS)
def test_a_message_of_the_previous_version_reads_as_unclassified(
    schema: Schema, version: int
) -> None:
    previous = load_history_json(schema)[version - 1]
    names = {field["name"] for field in previous["fields"]}
    added = {f["name"]: f for f in load_schema_json(schema)["fields"] if f["name"] not in names}
    field = "beat_classes" if schema is Schema.WINDOW_RESULT else "beat_class_counts"
    assert "default" in added[field]
    if schema is Schema.WINDOW_RESULT:
        decoded = decode(schema, single_object(previous, window(beats=[77, 370])))
        # Beats without classes: the sink stores them as unknown (streams.sink).
        assert (decoded["beats"], decoded["beat_classes"]) == ([77, 370], "")
    else:
        decoded = decode(schema, single_object(previous, summary()))
        assert decoded["beat_class_counts"] == dict.fromkeys("nsvfq", 0)


@pytest.mark.parametrize(("schema", "version"), PREVIOUS)
def test_a_reader_of_the_previous_version_reads_new_messages(schema: Schema, version: int) -> None:
    previous = load_history_json(schema)[version - 1]
    if schema is Schema.WINDOW_RESULT:
        record = window(beats=[77, 370], beat_classes="NV")
    else:
        record = summary(beat_class_counts=COUNTS)
    data = encode(schema, record)[HEADER_SIZE:]
    current = parse_schema(load_schema_json(schema))
    read = schemaless_reader(io.BytesIO(data), current, parse_schema(previous))
    assert isinstance(read, dict)
    assert set(read) == {field["name"] for field in previous["fields"]}
