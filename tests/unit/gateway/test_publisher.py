"""The messages the publisher builds (no broker here; see the integration tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

import numpy as np
import pytest

from gateway.errors import KafkaUnavailableError
from gateway.publisher import Backpressure, SamplePublisher, encode_chunks, message_key
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


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fail(gate: Backpressure, size: int = 1) -> None:
    with pytest.raises(KafkaUnavailableError), gate.admit(size):
        raise KafkaUnavailableError("the message broker did not acknowledge; retry later")


def test_after_a_failure_one_probe_goes_through_per_interval() -> None:
    clock = Clock()
    gate = Backpressure(max_pending_bytes=1000, probe_interval=5.0, clock=clock)
    fail(gate)
    clock.now += 4.9
    with pytest.raises(KafkaUnavailableError, match="not acknowledging"), gate.admit(1):
        pass  # refused at once, before the block
    clock.now += 0.1
    with (
        gate.admit(1),  # the probe
        pytest.raises(KafkaUnavailableError, match="not acknowledging"),
        gate.admit(1),  # nobody else while the probe is out
    ):
        pass
    with gate.admit(1), gate.admit(1):  # the probe was acknowledged: open to all again
        assert gate.pending_bytes == 2


def test_a_failed_probe_closes_the_gate_for_another_interval() -> None:
    clock = Clock()
    gate = Backpressure(max_pending_bytes=1000, probe_interval=5.0, clock=clock)
    fail(gate)
    clock.now += 5.0
    fail(gate)  # the probe failed too
    clock.now += 4.0
    with pytest.raises(KafkaUnavailableError), gate.admit(1):
        pass
    clock.now += 1.0
    with gate.admit(1):
        pass
    assert gate.pending_bytes == 0


def test_a_saturated_producer_refuses_what_does_not_fit() -> None:
    gate = Backpressure(max_pending_bytes=1000, probe_interval=5.0, clock=Clock())
    with (
        gate.admit(5000),  # alone, any size goes
        pytest.raises(KafkaUnavailableError, match="waiting for the message broker"),
        gate.admit(1),
    ):
        pass
    with gate.admit(600), gate.admit(400):
        assert gate.pending_bytes == 1000
        with pytest.raises(KafkaUnavailableError, match="retry later"), gate.admit(1):
            pass
    assert gate.pending_bytes == 0


def test_a_cancelled_send_releases_its_bytes_and_counts_as_no_failure() -> None:
    gate = Backpressure(max_pending_bytes=1000, probe_interval=5.0, clock=Clock())
    with pytest.raises(asyncio.CancelledError), gate.admit(700):
        raise asyncio.CancelledError
    assert gate.pending_bytes == 0
    with gate.admit(1000):
        pass
