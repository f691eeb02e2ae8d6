"""The messages the publisher builds (no broker here; see the integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import numpy as np
import pytest

from gateway.errors import KafkaUnavailableError
from gateway.publisher import SamplePublisher, encode_chunks, message_key
from gateway.settings import Settings
from gateway.uploads import Lead, Upload
from schemas.codec import Schema, decode, decode_samples


def make_upload(*signals: list[int] | np.typing.NDArray[np.int32]) -> Upload:
    names = ["MLII", "V5", "V1"]
    return Upload(
        id=uuid4(),
        date=datetime(2024, 5, 1, 10, tzinfo=UTC),
        sampling_rate=360.0,
        leads=tuple(
            Lead(name=names[i], signal=np.asarray(s, dtype=np.int32), gain=200.0, baseline=1024)
            for i, s in enumerate(signals)
        ),
    )


def test_messages_carry_every_sample_in_order() -> None:
    rng = np.random.default_rng(1)
    long = rng.integers(-(2**20), 2**20, 10_000).astype(np.int32)
    short = rng.integers(-100, 100, 2_500).astype(np.int32)
    upload = make_upload(long, short)

    records = [decode(Schema.SAMPLE_CHUNK, m) for m in encode_chunks(upload, chunk_bytes=8192)]

    assert len(records) == 10  # 8192 bytes / (2 leads * 4 bytes) = 1024 samples per chunk
    assert [r["seq"] for r in records] == list(range(10))
    assert [r["start_sample"] for r in records] == [k * 1024 for k in range(10)]
    assert [r["final"] for r in records] == [False] * 9 + [True]
    for record in records:
        assert record["ecg_id"] == upload.id
        assert record["date"] == upload.date
        assert record["sampling_rate"] == 360.0
        assert record["leads"] == [
            {"name": "MLII", "gain": 200.0, "baseline": 1024},
            {"name": "V5", "gain": 200.0, "baseline": 1024},
        ]
    parts = [decode_samples(r["samples"], r["sample_width"]) for r in records]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), long)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), short)
    assert all(p[1].size == 0 for p in parts[3:])


def test_messages_stay_within_the_budget() -> None:
    signals = [np.full(100_000, 2**30, dtype=np.int32) for _ in range(3)]
    messages = encode_chunks(make_upload(*signals), chunk_bytes=256 * 1024)
    assert len(messages) == 5
    assert max(len(m) for m in messages) <= 256 * 1024 + 512


def test_small_values_travel_as_int16() -> None:
    (message,) = encode_chunks(make_upload([1, -2, 3]), chunk_bytes=256 * 1024)
    record = decode(Schema.SAMPLE_CHUNK, message)
    assert record["sample_width"] == 2
    assert record["samples"] == [np.array([1, -2, 3], dtype="<i2").tobytes()]


def test_key_is_the_canonical_id() -> None:
    ecg_id = UUID("123e4567-e89b-12d3-a456-426614174000")
    assert message_key(ecg_id) == b"123e4567-e89b-12d3-a456-426614174000"


async def test_unconnected_publisher_refuses_without_io(settings: Settings) -> None:
    publisher = SamplePublisher(settings)
    assert not publisher.connected
    with pytest.raises(KafkaUnavailableError):
        await publisher.publish(make_upload([1]))
    with pytest.raises(KafkaUnavailableError):
        await publisher.ping()
    await publisher.stop()
