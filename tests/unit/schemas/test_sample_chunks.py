"""The one builder of ``SampleChunk`` messages: what each producer's call decodes to."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import numpy as np

from schemas.codec import Schema, decode, decode_samples
from schemas.sample_chunks import LeadInfo, encode_sample_chunk

DATE = datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_a_chunk_decodes_to_the_values_it_was_built_from() -> None:
    ecg_id = uuid4()
    signals = [np.array([1, -2, 3], dtype=np.int32), np.array([70_000, 0, -1], dtype=np.int32)]
    message = encode_sample_chunk(
        ecg_id,
        4,
        1200,
        date=DATE,
        sampling_rate=360.0,
        leads=[LeadInfo("MLII", 200.0, 1024), "V5"],
        samples=signals,
    )
    record = decode(Schema.SAMPLE_CHUNK, message)
    assert (record["ecg_id"], record["seq"], record["start_sample"]) == (ecg_id, 4, 1200)
    assert (record["final"], record["date"], record["sampling_rate"]) == (False, DATE, 360.0)
    assert record["leads"] == [
        {"name": "MLII", "gain": 200.0, "baseline": 1024},
        {"name": "V5", "gain": None, "baseline": None},
    ]
    assert record["sample_width"] == 4  # 70,000 does not fit in int16
    decoded = decode_samples(record["samples"], record["sample_width"])
    assert [lead.tolist() for lead in decoded] == [lead.tolist() for lead in signals]


def test_without_samples_a_chunk_is_empty_for_every_lead() -> None:
    ecg_id = uuid4()
    message = encode_sample_chunk(
        str(ecg_id), 9, 3600, date=DATE, sampling_rate=None, leads=["I", "II", "III"], final=True
    )
    record = decode(Schema.SAMPLE_CHUNK, message)
    assert (record["ecg_id"], record["seq"], record["start_sample"]) == (ecg_id, 9, 3600)
    assert record["final"] is True
    assert record["sampling_rate"] is None
    assert [lead["name"] for lead in record["leads"]] == ["I", "II", "III"]
    assert record["samples"] == [b"", b"", b""]


def test_a_uuid_and_its_text_give_the_same_message() -> None:
    ecg_id = uuid4()
    chunks = [
        encode_sample_chunk(key, 0, 0, date=DATE, sampling_rate=250.0, leads=["I"], final=True)
        for key in (ecg_id, str(ecg_id))
    ]
    assert chunks[0] == chunks[1]
