"""The one builder of ``SampleChunk`` messages: what each producer's call decodes to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

from schemas.codec import Schema, decode, decode_samples
from schemas.sample_chunks import LeadInfo, StreamChunks, encode_sample_chunk

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


TWELVE = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.mark.parametrize("leads", [TWELVE, ("MLII",)])
@pytest.mark.parametrize("sampling_rate", [500.0, 360.5, None])
@pytest.mark.parametrize(
    ("dtype", "high"),
    [(np.int16, 2**15), (np.int32, 2**15), (np.int32, 2**31), (np.int64, 2**20)],
    ids=["int16", "int32-fits-int16", "int32", "int64"],
)
def test_a_stream_chunk_is_byte_for_byte_what_fastavro_writes(
    leads: tuple[str, ...], sampling_rate: float | None, dtype: Any, high: int
) -> None:
    rng = np.random.default_rng(len(leads) + high)
    ecg_id = uuid4()
    date = datetime(2024, 5, 1, 10, 3, 4, 123456, tzinfo=UTC)
    chunks = StreamChunks(ecg_id, date=date, sampling_rate=sampling_rate, leads=leads)
    for length in (1, 7, 500):
        samples = rng.integers(-high, high, (length, len(leads))).astype(dtype).T  # strided
        for seq, start in ((0, 0), (5, 2500), (2**63 - 1, 2**62)):
            expected = encode_sample_chunk(
                ecg_id,
                seq,
                start,
                date=date,
                sampling_rate=sampling_rate,
                leads=leads,
                samples=list(samples),
            )
            assert chunks.encode(seq, start, samples) == expected


def test_a_stream_chunk_needs_a_row_of_samples_per_lead() -> None:
    chunks = StreamChunks(uuid4(), date=DATE, sampling_rate=None, leads=("I", "II"))
    for wrong in (np.zeros((3, 5), np.int16), np.zeros((2, 0), np.int16), np.zeros(5, np.int16)):
        with pytest.raises(ValueError, match="expected 2 rows"):
            chunks.encode(0, 0, wrong)
