from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastavro import parse_schema, schemaless_reader
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
    encode_samples,
    fingerprint_of,
    load_schema_json,
)


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
    assert len(prints) == len(topics.VALUE_SCHEMAS) == 4


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
