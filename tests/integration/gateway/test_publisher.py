"""The publisher against the real broker: what it sends is what a consumer gets."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import numpy as np
import pytest
from numpy.typing import NDArray

from gateway.errors import KafkaUnavailableError
from gateway.publisher import SamplePublisher
from gateway.settings import Settings
from gateway.uploads import Lead, Upload
from schemas.codec import Schema, decode, decode_samples

Consume = Callable[[str, int], Awaitable[list[Any]]]  # the `consume` fixture


def make_upload(*signals: NDArray[np.int32]) -> Upload:
    names = ["I", "II", "V1", "V2"]
    return Upload(
        id=uuid4(),
        date=datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC),
        sampling_rate=500.0,
        leads=tuple(
            Lead(name=names[i], signal=signal, gain=200.0 if i else None, baseline=1024)
            for i, signal in enumerate(signals)
        ),
    )


def random_signal(length: int, bound: int, seed: int) -> NDArray[np.int32]:
    rng = np.random.default_rng(seed)
    return rng.integers(-bound, bound, length, endpoint=True).astype(np.int32)


def check_chunks(records: list[Any], upload: Upload) -> None:
    values = [decode(Schema.SAMPLE_CHUNK, record.value) for record in records]
    assert {record.key for record in records} == {str(upload.id).encode()}
    assert len({record.partition for record in records}) == 1
    assert [value["seq"] for value in values] == list(range(len(values)))
    assert [value["final"] for value in values] == [False] * (len(values) - 1) + [True]
    length = values[1]["start_sample"] if len(values) > 1 else None
    for value in values:
        assert value["ecg_id"] == upload.id
        assert value["date"] == upload.date
        assert value["sampling_rate"] == upload.sampling_rate
        assert [lead["name"] for lead in value["leads"]] == [lead.name for lead in upload.leads]
        if length is not None:
            assert value["start_sample"] == value["seq"] * length
    parts = [decode_samples(value["samples"], value["sample_width"]) for value in values]
    for index, lead in enumerate(upload.leads):
        assert np.array_equal(np.concatenate([part[index] for part in parts]), lead.signal)


async def test_published_chunks_come_back_complete_and_in_order(
    settings: Settings, consume: Consume
) -> None:
    upload = make_upload(
        random_signal(50_000, 2**31 - 1, 1),
        random_signal(20_000, 2**31 - 1, 2),
        random_signal(333, 100, 3),
    )
    publisher = SamplePublisher(settings)
    await publisher.start()
    try:
        assert publisher.connected
        count = await publisher.publish(upload)
    finally:
        await publisher.stop()

    # 64 KiB per chunk / (3 leads * 4 bytes) = 5461 samples: 10 chunks for 50,000.
    assert count == 10
    records = await consume(settings.samples_topic, count)
    assert len(records) == count
    check_chunks(records, upload)


async def test_concurrent_uploads_stay_in_order_each(settings: Settings, consume: Consume) -> None:
    uploads = [make_upload(random_signal(40_000, 30_000, seed)) for seed in range(4)]
    publisher = SamplePublisher(settings)
    await publisher.start()
    try:
        counts = await asyncio.gather(*(publisher.publish(upload) for upload in uploads))
    finally:
        await publisher.stop()

    records = await consume(settings.samples_topic, sum(counts))
    assert len(records) == sum(counts)
    for upload in uploads:
        check_chunks([r for r in records if r.key == str(upload.id).encode()], upload)


async def test_ping_answers_when_connected(settings: Settings) -> None:
    publisher = SamplePublisher(settings)
    await publisher.start()
    try:
        await publisher.ping()
    finally:
        await publisher.stop()


async def test_unreachable_broker_starts_and_refuses(settings: Settings, closed_port: int) -> None:
    publisher = SamplePublisher(
        dataclasses.replace(settings, kafka_bootstrap=f"127.0.0.1:{closed_port}")
    )
    async with asyncio.timeout(10):
        await publisher.start()  # does not raise: keeps retrying in the background
    try:
        assert not publisher.connected
        with pytest.raises(KafkaUnavailableError):
            await publisher.publish(make_upload(random_signal(10, 10, 0)))
        with pytest.raises(KafkaUnavailableError):
            await publisher.ping()
    finally:
        async with asyncio.timeout(10):
            await publisher.stop()


async def test_unacknowledged_publish_times_out(settings: Settings) -> None:
    publisher = SamplePublisher(dataclasses.replace(settings, publish_timeout_seconds=1e-6))
    await publisher.start()
    try:
        with pytest.raises(KafkaUnavailableError, match="did not acknowledge"):
            await publisher.publish(make_upload(random_signal(100_000, 30_000, 9)))
    finally:
        await publisher.stop()
