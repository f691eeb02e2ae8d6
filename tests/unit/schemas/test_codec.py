from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from hypothesis import given
from hypothesis import strategies as st

from schemas import topics
from schemas.codec import (
    HEADER_SIZE,
    DecodeError,
    Schema,
    decode,
    decode_samples,
    encode,
    encode_long,
    encode_samples,
    fingerprint_of,
    load_history_json,
    load_schema_json,
)
from streams.analysis.windows import (
    AnalysisConfig,
    feed,
    finish,
    start_analysis,
    summary_so_far,
)
from streams.records import summary_record, window_record
from tests.synthetic_ecg import synthetic_ecg

RATE = 250.0


def chunk(**overrides: Any) -> dict[str, Any]:
    width, samples = encode_samples([np.array([1, -2, 3]), np.array([], dtype=np.int32)])
    record = {
        "ecg_id": uuid.uuid4(),
        "seq": 3,
        "start_sample": 300,
        "final": False,
        "date": datetime(2024, 5, 1, 10, tzinfo=UTC),
        "sampling_rate": 360.0,
        "leads": [{"name": "MLII", "gain": 200.0, "baseline": 1024}, {"name": "V5"}],
        "sample_width": width,
        "samples": samples,
    }
    return record | overrides


def test_sample_chunk_round_trips() -> None:
    record = chunk()
    decoded = decode(Schema.SAMPLE_CHUNK, encode(Schema.SAMPLE_CHUNK, record))
    assert decoded["ecg_id"] == record["ecg_id"]
    assert decoded["date"] == record["date"]
    assert decoded["leads"][1] == {"name": "V5", "gain": None, "baseline": None}
    leads = decode_samples(decoded["samples"], decoded["sample_width"])
    assert [lead.tolist() for lead in leads] == [[1, -2, 3], []]


def test_messages_are_single_object_encoded_for_consumers_without_this_code() -> None:
    data = encode(Schema.SAMPLE_CHUNK, chunk())
    assert data[:2] == b"\xc3\x01"
    assert data[2:HEADER_SIZE] == fingerprint_of(Schema.SAMPLE_CHUNK)
    # A consumer holding only the .avsc file decodes the body with plain fastavro.
    schema = parse_schema(load_schema_json(Schema.SAMPLE_CHUNK))
    body = schemaless_reader(io.BytesIO(data[HEADER_SIZE:]), schema, None)
    assert isinstance(body, dict)
    assert body["seq"] == 3


def test_each_topic_has_its_own_schema() -> None:
    prints = {fingerprint_of(schema) for schema in topics.VALUE_SCHEMAS.values()}
    assert len(prints) == len(topics.VALUE_SCHEMAS) == 6


def test_decoding_with_the_wrong_schema_fails_clearly() -> None:
    data = encode(Schema.SAMPLE_CHUNK, chunk())
    with pytest.raises(DecodeError, match="not a single-object encoded window_result"):
        decode(Schema.WINDOW_RESULT, data)
    with pytest.raises(DecodeError, match="malformed sample_chunk"):
        decode(Schema.SAMPLE_CHUNK, data[:-5])


@given(st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50), min_size=1, max_size=4))
def test_samples_round_trip_in_the_narrowest_width(leads: list[list[int]]) -> None:
    arrays = [np.array(lead, dtype=np.int64) for lead in leads]
    width, data = encode_samples(arrays)
    fits_int16 = all(-(2**15) <= v < 2**15 for lead in leads for v in lead)
    assert width == (2 if fits_int16 else 4)
    assert [a.tolist() for a in decode_samples(data, width)] == leads


def test_values_outside_int32_are_refused() -> None:
    with pytest.raises(ValueError, match="32-bit"):
        encode_samples([np.array([2**31])])


def test_a_truncated_sample_buffer_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="not a multiple of 4"):
        decode_samples([b"\x00\x01\x02"], 4)
    with pytest.raises(DecodeError, match="sample_width"):
        decode_samples([b""], 3)


def old_window() -> dict[str, Any]:
    return {
        "ecg_id": uuid.uuid4(),
        "index": 2,
        "start_sample": 7200,
        "end_sample": 10800,
        "sampling_rate": 360.0,
        "leads": [{"name": "MLII", "number_of_samples": 3600, "zero_crossings": 12}],
    }


def test_a_message_of_an_earlier_schema_version_is_read_with_the_new_fields_at_defaults() -> None:
    old_schema = load_history_json(Schema.WINDOW_RESULT)[0]
    record = decode(Schema.WINDOW_RESULT, single_object(old_schema, old_window()))
    assert record["leads"][0]["zero_crossings"] == 12
    assert record["leads"][0]["quality"] is None
    assert (record["beats"], record["heart_rate_bpm"], record["hrv"]) == ([], None, None)
    assert (record["analyser_version"], record["revision"]) == ("", 0)


def test_a_result_from_before_revisions_reads_as_the_first_analysis() -> None:
    version_2 = load_history_json(Schema.WINDOW_RESULT)[1]
    assert "revision" not in {field["name"] for field in version_2["fields"]}
    record = {**old_window(), "beats": [5], "beat_count": None, "heart_rate_bpm": None}
    record |= {"rr": None, "hrv": None}
    decoded = decode(Schema.WINDOW_RESULT, single_object(version_2, record))
    assert (decoded["beats"], decoded["analyser_version"], decoded["revision"]) == ([5], "", 0)


def single_object(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    """``record`` single-object encoded with ``schema`` (an earlier version's)."""
    parsed = parse_schema(schema)
    out = io.BytesIO()
    out.write(
        b"\xc3\x01" + bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
    )
    schemaless_writer(out, parsed, record)
    return out.getvalue()


def test_a_summary_from_before_the_final_flag_reads_as_final() -> None:
    version_2 = load_history_json(Schema.ECG_SUMMARY)[1]
    assert "final" not in {field["name"] for field in version_2["fields"]}
    record = {
        "ecg_id": uuid.uuid4(),
        "date": datetime(2024, 5, 1, tzinfo=UTC),
        "sampling_rate": None,
        "n_windows": 1,
        "leads": [{"name": "I", "number_of_samples": 1, "zero_crossings": 0}],
    }
    assert decode(Schema.ECG_SUMMARY, single_object(version_2, record))["final"] is True


@pytest.mark.parametrize(
    ("schema", "version"),
    [(Schema.WINDOW_RESULT, 1), (Schema.ECG_SUMMARY, 1), (Schema.ECG_SUMMARY, 2)],
)
def test_a_consumer_with_an_earlier_schema_still_reads_new_messages(
    schema: Schema, version: int
) -> None:
    old_schema = load_history_json(schema)[version - 1]
    current = parse_schema(load_schema_json(schema))
    assert fingerprint_of(schema) != bytes.fromhex(
        fingerprint(to_parsing_canonical_form(parse_schema(old_schema)), "CRC-64-AVRO")
    )
    # Every field added since is optional with a default.
    old_names = {field["name"] for field in old_schema["fields"]}
    added = [f for f in load_schema_json(schema)["fields"] if f["name"] not in old_names]
    assert added
    assert all("default" in field for field in added)
    record = {name: None for name in ("sampling_rate",)} | {
        "ecg_id": uuid.uuid4(),
        "leads": [{"name": "I", "number_of_samples": 1, "zero_crossings": 0}],
    }
    if schema is Schema.WINDOW_RESULT:
        record |= {"index": 0, "start_sample": 0, "end_sample": 1}
    else:
        record |= {"date": datetime(2024, 5, 1, tzinfo=UTC), "n_windows": 1}
    data = encode(schema, record)[HEADER_SIZE:]
    read = schemaless_reader(io.BytesIO(data), current, parse_schema(old_schema))
    assert isinstance(read, dict)
    assert set(read) == old_names
    lead = {"name": "I", "number_of_samples": 1, "zero_crossings": 0}
    assert read["leads"][0] == lead | {key: None for key in read["leads"][0] if key not in lead}


@pytest.mark.parametrize("value", [0, 1, -1, 63, 64, -64, -65, 300, 2**31, 2**63 - 1, -(2**63)])
def test_a_long_is_written_as_fastavro_writes_it(value: int) -> None:
    out = io.BytesIO()
    schemaless_writer(out, "long", value)
    assert encode_long(value) == out.getvalue()


def analysed_records() -> list[tuple[Schema, dict[str, Any]]]:
    """Window results and summaries of a 3-lead synthetic ECG: one lead flat, so that
    measures are null with their reasons as well as set."""
    signals, _ = synthetic_ecg(RATE, 40.0, n_leads=3)
    signals[2] = 0
    names = ["I", "II", "flat"]
    config = AnalysisConfig(
        window_samples=round(10 * RATE), sampling_rate=RATE, gains=(200.0, None, 100.0)
    )
    head = {
        "ecg_id": str(uuid.uuid4()),
        "seq": 3,
        "date": datetime(2024, 5, 1, 10, tzinfo=UTC),
        "sampling_rate": RATE,
    }
    memory, windows = feed(start_analysis(3, config), list(signals))
    last, ecg = finish(memory)
    found: list[tuple[Schema, dict[str, Any]]] = [
        (Schema.WINDOW_RESULT, window_record(head, names, window)) for window in windows + last
    ]
    found.append((Schema.ECG_SUMMARY, summary_record(head, names, ecg)))
    found.append(
        (Schema.ECG_SUMMARY, summary_record(head, names, summary_so_far(memory), final=False))
    )
    return found


def test_optional_records_are_written_byte_for_byte_as_fastavro_chooses_their_branch() -> None:
    records = analysed_records()
    assert len(records) > 4
    for schema, record in records:
        plain = io.BytesIO()
        schemaless_writer(plain, parse_schema(load_schema_json(schema)), record)
        message = encode(schema, record)
        assert message[HEADER_SIZE:] == plain.getvalue()
