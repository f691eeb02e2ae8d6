"""The sample archive against the real Kafka and PostgreSQL: every chunk stored once,
whatever is sent again, and across a restart from the committed offsets; a chunk of an
unknown ECG and a message that is no chunk skipped without holding up the others."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry

from schemas.sample_archive import unpack
from schemas.sample_chunks import encode_sample_chunk
from streams.archive import ArchiveMetrics, SampleArchive
from tests.kafka import create_topics

DATE = datetime(2024, 5, 1, 10, tzinfo=UTC)
CHUNK = 360


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"test-archive-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [name], partitions=2)
    return name


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    made = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await made.start()
    try:
        yield made
    finally:
        await made.stop()


Archive = Callable[[], SampleArchive]


@pytest.fixture
def archive(kafka_bootstrap: str, database_url: str, topic: str) -> Archive:
    group = f"{topic}-archive"

    def make() -> SampleArchive:
        metrics = ArchiveMetrics(CollectorRegistry())
        return SampleArchive(kafka_bootstrap, topic, group, database_url, metrics)

    return make


async def new_ecg(db: asyncpg.Connection) -> uuid.UUID:
    ecg_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO ecgs (id, date, sampling_rate, status) VALUES ($1, $2, 360, 'receiving')",
        ecg_id,
        DATE,
    )
    return ecg_id


def chunk(ecg_id: uuid.UUID, seq: int, signals: NDArray[np.int32]) -> bytes:
    part = signals[:, seq * CHUNK : (seq + 1) * CHUNK]
    return encode_sample_chunk(
        ecg_id, seq, seq * CHUNK, date=DATE, sampling_rate=360.0, leads=["MLII", "V5"],
        samples=list(part),
    )  # fmt: skip


async def send(producer: AIOKafkaProducer, topic: str, ecg_id: uuid.UUID, value: bytes) -> None:
    await producer.send_and_wait(topic, value=value, key=str(ecg_id).encode())


async def stored(db: asyncpg.Connection, ecg_id: uuid.UUID, count: int) -> list[asyncpg.Record]:
    """The ECG's rows once there are ``count`` of them (at most 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        rows = await db.fetch("SELECT * FROM ecg_samples WHERE ecg_id = $1 ORDER BY seq", ecg_id)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


def signal_of(rows: list[asyncpg.Record]) -> NDArray[np.int32]:
    leads = [unpack(r["sample_width"], r["lead_samples"], r["samples"]) for r in rows]
    return np.stack([np.concatenate(parts) for parts in zip(*leads, strict=True)])


async def test_every_chunk_is_stored_once_whatever_is_sent_again(
    db: asyncpg.Connection,
    producer: AIOKafkaProducer,
    topic: str,
    archive: Archive,
    signals: NDArray[np.int32],
) -> None:
    ecg_id, unknown = await new_ecg(db), uuid.uuid4()
    for seq in (0, 1, 2, 1, 0):  # two redelivered
        await send(producer, topic, ecg_id, chunk(ecg_id, seq, signals))
    await send(producer, topic, unknown, chunk(unknown, 0, signals))  # no such ECG
    await send(producer, topic, ecg_id, b"not a chunk")
    end = encode_sample_chunk(
        ecg_id, 5, 5 * CHUNK, date=DATE, sampling_rate=360.0, leads=["MLII", "V5"], final=True
    )
    for seq in (3, 4):
        await send(producer, topic, ecg_id, chunk(ecg_id, seq, signals))
    await send(producer, topic, ecg_id, end)

    first = archive()
    await first.start()
    try:
        rows = await stored(db, ecg_id, 5)
    finally:
        await first.stop()
    assert [row["seq"] for row in rows] == [0, 1, 2, 3, 4]
    assert [row["start_sample"] for row in rows] == [0, 360, 720, 1080, 1440]
    for row in rows:
        leads = signals[:, row["start_sample"] : row["start_sample"] + CHUNK]
        assert row["lead_min"] == leads.min(axis=1).tolist()
        assert row["lead_max"] == leads.max(axis=1).tolist()
    assert np.array_equal(signal_of(rows), signals[:, : 5 * CHUNK])
    assert await db.fetchval("SELECT count(*) FROM ecg_samples WHERE ecg_id = $1", unknown) == 0

    # A second archive of the same group takes over from the committed offsets, and a
    # chunk sent again after the restart changes nothing either.
    await send(producer, topic, ecg_id, chunk(ecg_id, 2, signals))
    await send(producer, topic, ecg_id, chunk(ecg_id, 5, signals))
    second = archive()
    await second.start()
    try:
        rows = await stored(db, ecg_id, 6)
    finally:
        await second.stop()
    assert [row["seq"] for row in rows] == [0, 1, 2, 3, 4, 5]
    assert np.array_equal(signal_of(rows), signals[:, : 6 * CHUNK])
    raw = signals[:, : 6 * CHUNK].astype("<i2").nbytes
    kept = sum(len(row["samples"]) for row in rows)
    print(f"record 100, 2 leads x {6 * CHUNK} samples: {raw} bytes as int16, {kept} stored")
    assert kept < raw
