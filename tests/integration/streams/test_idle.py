"""The idle timeout of device streams against the real PostgreSQL and Kafka: a silent
stream is closed with its final chunk in Kafka, one being written is left alone, and
nothing is marked closed unless Kafka has the final chunk. Final chunks go to a topic
of this test's own, so the pipeline's worker never sees them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.codec import Schema, decode, decode_samples
from streams.idle import IdleStreams, IdleTimer, Send
from tests.kafka import create_topics

# This test's streams are silent for 2 x IDLE_SECONDS: longer than this test's timeout
# and shorter than the running pipeline's (ECG_STREAM_IDLE_SECONDS, 300 s), so the stack's
# own idle timer never closes them first; they are deleted afterwards.
IDLE_SECONDS = 100.0


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"test-idle-{uuid.uuid4().hex[:10]}"
    await create_topics(kafka_bootstrap, [name])
    return name


def sender(producer: AIOKafkaProducer, topic: str) -> Send:
    async def send(messages: Sequence[tuple[bytes, bytes]]) -> None:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)

    return send


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection; the ECGs this test made are deleted afterwards, so that no stream
    of it stays open for the pipeline's own idle check to close."""
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.execute("DELETE FROM ecgs WHERE id = ANY($1::uuid[])", MADE)
        MADE.clear()
        await connection.close()


MADE: list[uuid.UUID] = []


async def open_stream(
    db: asyncpg.Connection, *, silent_for: float, chunks: int = 3, samples: int = 1000
) -> uuid.UUID:
    """A stream of two leads that took ``chunks`` chunks, the last ``silent_for`` s ago."""
    ecg_id = uuid.uuid4()
    MADE.append(ecg_id)
    async with db.transaction():
        await db.execute(
            "INSERT INTO ecgs (id, date, sampling_rate, status) VALUES ($1, $2, 360, 'receiving')",
            ecg_id,
            datetime(2024, 5, 1, 10, tzinfo=UTC),
        )
        await db.executemany(
            "INSERT INTO ecg_leads (ecg_id, position, name, number_of_samples) "
            "VALUES ($1, $2, $3, $4)",
            [(ecg_id, 0, "MLII", samples), (ecg_id, 1, "V5", samples)],
        )
        await db.execute(
            "INSERT INTO ecg_streams (ecg_id, next_seq, next_sample, last_chunk_at) "
            "VALUES ($1, $2, $3, now() - make_interval(secs => $4))",
            ecg_id,
            chunks,
            samples,
            silent_for,
        )
    return ecg_id


async def stream_row(db: asyncpg.Connection, ecg_id: uuid.UUID) -> asyncpg.Record:
    row = await db.fetchrow(
        "SELECT s.next_seq, s.ended_at IS NOT NULL AS ended, e.status "
        "FROM ecg_streams s JOIN ecgs e ON e.id = s.ecg_id WHERE s.ecg_id = $1",
        ecg_id,
    )
    assert row is not None
    return row


async def published(kafka_bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        records: list[dict[str, Any]] = []
        while len(records) < end:
            batch = await consumer.getmany(partition, timeout_ms=5000)
            assert batch, "the final chunks did not come back from Kafka"
            records += [decode(Schema.SAMPLE_CHUNK, m.value) for m in batch[partition]]
        return records
    finally:
        await consumer.stop()


async def test_a_silent_stream_is_closed_with_its_final_chunk_in_kafka(
    db: asyncpg.Connection,
    database_url: str,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    silent = await open_stream(db, silent_for=2 * IDLE_SECONDS, chunks=3, samples=1000)
    busy = await open_stream(db, silent_for=1.0)

    closed = await IdleStreams(database_url, IDLE_SECONDS).close_idle(sender(producer, topic))

    assert silent in closed
    assert busy not in closed
    row = await stream_row(db, silent)
    assert (row["next_seq"], row["ended"], row["status"]) == (4, True, "incomplete")
    row = await stream_row(db, busy)
    assert (row["ended"], row["status"]) == (False, "receiving")
    [final] = [r for r in await published(kafka_bootstrap, topic) if r["ecg_id"] == silent]
    assert (final["seq"], final["start_sample"], final["final"]) == (3, 1000, True)
    assert [lead["name"] for lead in final["leads"]] == ["MLII", "V5"]
    assert [s.size for s in decode_samples(final["samples"], final["sample_width"])] == [0, 0]

    again = await IdleStreams(database_url, IDLE_SECONDS).close_idle(sender(producer, topic))
    assert silent not in again


async def test_a_stream_that_a_request_is_writing_is_left_for_the_next_run(
    db: asyncpg.Connection, database_url: str, producer: AIOKafkaProducer, topic: str
) -> None:
    ecg_id = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    writer = await asyncpg.connect(database_url)
    try:
        async with writer.transaction():
            # What the gateway holds while it publishes a chunk of this stream.
            await writer.execute("SELECT 1 FROM ecg_streams WHERE ecg_id = $1 FOR UPDATE", ecg_id)
            closed = await IdleStreams(database_url, IDLE_SECONDS).close_idle(
                sender(producer, topic)
            )
            assert ecg_id not in closed
    finally:
        await writer.close()
    assert (await stream_row(db, ecg_id))["status"] == "receiving"
    closed = await IdleStreams(database_url, IDLE_SECONDS).close_idle(sender(producer, topic))
    assert ecg_id in closed


async def test_nothing_is_closed_unless_kafka_has_the_final_chunk(
    db: asyncpg.Connection, database_url: str, kafka_bootstrap: str
) -> None:
    ecg_id = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    # The broker takes nothing for a topic it does not have (it creates none by itself):
    # the send fails once the producer's request timeout is over.
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", request_timeout_ms=2000
    )
    await producer.start()
    try:
        with pytest.raises(KafkaError):
            await IdleStreams(database_url, IDLE_SECONDS).close_idle(
                sender(producer, f"test-idle-missing-{uuid.uuid4().hex}")
            )
    finally:
        await producer.stop()
    row = await stream_row(db, ecg_id)
    assert (row["next_seq"], row["ended"], row["status"]) == (3, False, "receiving")


async def test_a_stream_that_a_websocket_holds_is_left_until_its_lease_runs_out(
    db: asyncpg.Connection, database_url: str, producer: AIOKafkaProducer, topic: str
) -> None:
    """A WebSocket counts its chunks in memory and writes ``last_chunk_at`` in batches
    (gateway.devices.leases): while its lease lies ahead the stream is not silent,
    however old ``last_chunk_at`` is."""
    held = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    expired = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    await db.execute(
        "UPDATE ecg_streams SET writer = writer + 1, lease_until = now() + interval '1 hour' "
        "WHERE ecg_id = $1",
        held,
    )
    await db.execute(
        "UPDATE ecg_streams SET writer = writer + 1, lease_until = now() - interval '1 second' "
        "WHERE ecg_id = $1",
        expired,
    )

    closed = await IdleStreams(database_url, IDLE_SECONDS).close_idle(sender(producer, topic))

    assert held not in closed
    assert expired in closed
    assert (await stream_row(db, held))["status"] == "receiving"


async def test_silence_counts_only_from_when_the_pipeline_was_up(
    db: asyncpg.Connection, database_url: str, producer: AIOKafkaProducer, topic: str
) -> None:
    """A stream silent for 2 x IDLE_SECONDS, of which the pipeline was up for less than
    IDLE_SECONDS (it came back from an outage), is left open."""
    ecg_id = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    streams, send = IdleStreams(database_url, IDLE_SECONDS), sender(producer, topic)
    recently = datetime.now(UTC) - timedelta(seconds=IDLE_SECONDS / 2)
    assert ecg_id not in await streams.close_idle(send, up_since=recently)
    assert ecg_id not in await IdleTimer(streams, "-", IDLE_SECONDS, 1, up_since=recently).tick(
        send
    )
    assert (await stream_row(db, ecg_id))["status"] == "receiving"

    long_ago = datetime.now(UTC) - timedelta(seconds=3 * IDLE_SECONDS)
    assert ecg_id in await streams.close_idle(send, up_since=long_ago)


async def test_after_a_gap_in_the_checks_silent_streams_get_their_whole_allowance_again(
    db: asyncpg.Connection, database_url: str, producer: AIOKafkaProducer, topic: str
) -> None:
    """No check ran for two hours (PostgreSQL away, or no worker): the stream's silence
    counts from the first check after the gap."""
    ecg_id = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    app_id = f"test-idle-{uuid.uuid4().hex}"
    await db.execute(
        "INSERT INTO idle_checks (app_id, checked_at) VALUES ($1, now() - interval '2 hours')",
        app_id,
    )
    try:
        timer = IdleTimer(IdleStreams(database_url, IDLE_SECONDS), app_id, IDLE_SECONDS, 1)
        assert ecg_id not in await timer.tick(sender(producer, topic))
        assert (await stream_row(db, ecg_id))["status"] == "receiving"
    finally:
        await db.execute("DELETE FROM idle_checks WHERE app_id = $1", app_id)


async def test_after_a_failed_check_silent_streams_get_their_whole_allowance_again(
    db: asyncpg.Connection,
    database_url: str,
    kafka_bootstrap: str,
    producer: AIOKafkaProducer,
    topic: str,
) -> None:
    ecg_id = await open_stream(db, silent_for=2 * IDLE_SECONDS)
    app_id = f"test-idle-{uuid.uuid4().hex}"
    timer = IdleTimer(IdleStreams(database_url, IDLE_SECONDS), app_id, IDLE_SECONDS, 1)
    refusing = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", request_timeout_ms=2000
    )
    await refusing.start()
    try:
        # Kafka refuses the final chunk (a topic it does not have): an outage.
        missing = sender(refusing, f"test-idle-missing-{uuid.uuid4().hex}")
        assert await timer.tick(missing) == []
        # Kafka answers again: the first tick finds it up, and counts from then.
        assert ecg_id not in await timer.tick(sender(producer, topic))
        assert (await stream_row(db, ecg_id))["status"] == "receiving"
    finally:
        await refusing.stop()
        await db.execute("DELETE FROM idle_checks WHERE app_id = $1", app_id)
