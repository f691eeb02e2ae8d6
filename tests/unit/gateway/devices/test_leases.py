"""When a WebSocket's lease writes its position, and what it does when another writer
moved the stream on, against an in-memory stand-in for the stream's row and Kafka (the
same rules against the real PostgreSQL: tests/e2e/test_stream_socket_leases.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast
from uuid import UUID, uuid4

import numpy as np
import pytest

from gateway.devices.bodies import StreamChunk
from gateway.devices.leases import Leases, Persistence, StreamLease
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.errors import (
    ChunkGapError,
    DatabaseUnavailableError,
    InvalidInputError,
    StreamBusyError,
    StreamEndedError,
    StreamTakenOverError,
)
from gateway.publisher import SamplePublisher
from gateway.settings import Settings
from schemas.codec import Schema, decode
from schemas.sample_chunks import max_samples_per_lead

PERSISTENCE = Persistence(seconds=5.0, chunks=3, lease_seconds=25.0)


@dataclass
class Row:
    """The stream's row: what PostgreSQL holds."""

    next_seq: int = 0
    next_sample: int = 0
    writer: int = 0
    leased: bool = False
    ended: bool = False
    timed_out: bool = False
    writes: int = 0


@dataclass
class Position:
    row: Row
    next_seq: int
    next_sample: int
    ended: bool
    timed_out: bool

    async def take(self, lease_seconds: float) -> int:
        self.row.writer += 1
        self.row.leased = True
        return self.row.writer


@dataclass
class Streams:
    row: Row = field(default_factory=Row)
    down: bool = False  # PostgreSQL unavailable
    gate: asyncio.Event | None = None  # a write waits for it

    @asynccontextmanager
    async def writing(self, ecg_id: UUID) -> AsyncIterator[Position]:
        row = self.row
        yield Position(row, row.next_seq, row.next_sample, row.ended, row.timed_out)

    async def persist(
        self,
        ecg_id: UUID,
        writer: int,
        next_seq: int,
        next_sample: int,
        lease_seconds: float | None,
    ) -> bool:
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise DatabaseUnavailableError("the database is unavailable; retry later")
        row = self.row
        if writer != row.writer or row.ended:
            return False
        row.next_seq, row.next_sample = next_seq, next_sample
        row.leased = lease_seconds is not None
        row.writes += 1
        return True


@dataclass
class Kafka:
    seqs: list[int] = field(default_factory=list)

    async def send(self, ecg_id: UUID, messages: Sequence[bytes]) -> None:
        self.seqs += [decode(Schema.SAMPLE_CHUNK, message)["seq"] for message in messages]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def chunk(seq: int, samples: int = 10) -> StreamChunk:
    signal = np.arange(samples, dtype=np.int32)
    return StreamChunk(seq, np.stack([signal, signal]))


def stream() -> StoredStream:
    return StoredStream(
        uuid4(), datetime(2024, 5, 1, tzinfo=UTC), 360.0, ("I", "II"), 0, 0, False, False
    )


def lease_of(
    streams: Streams, leases: Leases, clock: Clock, stored: StoredStream | None = None
) -> StreamLease:
    return StreamLease(
        stored or stream(), cast(StreamRepository, streams), leases, PERSISTENCE, clock
    )


def publisher(kafka: Kafka) -> SamplePublisher:
    return cast(SamplePublisher, kafka)


async def test_chunks_are_counted_in_memory_and_written_every_so_many() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    lease = lease_of(streams, leases, clock)
    assert await leases.take(lease) == 0
    for seq in range(3):
        await lease.accept(chunk(seq), publisher(kafka))
    assert (streams.row.next_seq, streams.row.writes) == (0, 0)  # three in memory only
    assert lease.flush_in() == 5.0
    await lease.accept(chunk(3), publisher(kafka))  # the batch is full: written first
    assert (streams.row.next_seq, streams.row.next_sample, streams.row.writes) == (3, 30, 1)
    await lease.accept(chunk(2), publisher(kafka))  # a copy: acknowledged, not published
    assert kafka.seqs == [0, 1, 2, 3]
    with pytest.raises(ChunkGapError):
        await lease.accept(chunk(9), publisher(kafka))

    clock.now += 5.0  # and at the latest after so many seconds
    assert lease.flush_in() == 0.0
    await lease.flush()
    assert (streams.row.next_seq, streams.row.next_sample, streams.row.writes) == (4, 40, 2)
    assert lease.flush_in() is None

    await leases.close(lease)
    assert (streams.row.next_seq, streams.row.leased) == (4, False)


async def test_no_chunk_is_published_longer_than_the_interval_after_a_write() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    lease = lease_of(streams, leases, clock)
    await leases.take(lease)
    clock.now += 60.0  # silent, nothing to write, and the lease may have run out
    await lease.accept(chunk(0), publisher(kafka))
    assert streams.row.writes == 1  # renewed before the chunk went to Kafka
    assert kafka.seqs == [0]


async def test_a_lease_that_lost_its_stream_takes_it_again_from_the_row() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    lease = lease_of(streams, leases, clock)
    await leases.take(lease)
    await lease.accept(chunk(0), publisher(kafka))
    async with leases.turn(lease.ecg_id):  # as POST /chunks does
        assert (streams.row.next_seq, streams.row.leased) == (1, False)
        streams.row.next_seq, streams.row.next_sample = 2, 20  # ... and it counts seq 1
        streams.row.writer += 1
    await lease.accept(chunk(2), publisher(kafka))
    assert kafka.seqs == [0, 2]
    assert (lease.next_seq, lease.next_sample, streams.row.leased) == (3, 30, True)


async def test_a_new_connection_gets_the_position_of_the_one_it_replaces() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    stored = stream()
    old = lease_of(streams, leases, clock, stored)
    await leases.take(old)
    for seq in range(2):
        await old.accept(chunk(seq), publisher(kafka))
    new = lease_of(streams, leases, clock, stored)
    assert await leases.take(new) == 2  # the old one wrote what it had counted first
    with pytest.raises(StreamTakenOverError):
        await old.accept(chunk(2), publisher(kafka))
    await leases.close(old)  # the close of a connection that no longer holds it
    assert streams.row.leased
    await new.accept(chunk(2), publisher(kafka))
    assert kafka.seqs == [0, 1, 2]


async def test_a_request_while_a_closing_connection_writes_waits_for_the_write() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    lease = lease_of(streams, leases, clock)
    await leases.take(lease)
    await lease.accept(chunk(0), publisher(kafka))
    streams.gate = asyncio.Event()
    closing = asyncio.create_task(leases.close(lease))
    await asyncio.sleep(0)  # the close is writing the position

    async def request() -> bool:
        async with leases.turn(lease.ecg_id):
            return streams.row.leased

    turn = asyncio.create_task(request())
    await asyncio.sleep(0)
    streams.gate.set()
    await closing
    assert await turn is False  # it found the lease given up, not still in the row
    assert streams.row.next_seq == 1


async def test_a_stream_that_ended_meanwhile_takes_no_chunk() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    lease = lease_of(streams, leases, clock)
    await leases.take(lease)
    streams.row.ended = streams.row.timed_out = True  # closed for its silence
    clock.now += 5.0
    with pytest.raises(StreamEndedError, match="idle"):
        await lease.accept(chunk(0), publisher(kafka))
    assert kafka.seqs == []


def test_the_lease_outlasts_a_chunk_published_at_the_end_of_an_interval() -> None:
    settings = Settings(
        env="development", kafka_bootstrap="kafka:9092", database_url="postgresql://db/ecg"
    )
    persistence = Persistence.from_settings(settings)
    assert persistence.seconds == settings.stream_persist_seconds
    assert persistence.lease_seconds > (
        persistence.seconds + settings.publish_timeout_seconds + settings.database_timeout_seconds
    )


async def test_a_request_that_waits_too_long_for_its_turn_is_told_to_retry() -> None:
    leases, ecg_id = Leases(), uuid4()
    async with leases.turn(ecg_id):
        with pytest.raises(StreamBusyError):
            async with asyncio.timeout(5), leases.turn(ecg_id):
                pass
    async with leases.turn(ecg_id):  # and once the first is done, it is its turn
        pass


async def test_a_flush_without_postgresql_is_tried_again_and_nothing_is_published_past_it() -> None:
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    lease = lease_of(streams, leases, clock)
    await leases.take(lease)
    await lease.accept(chunk(0), publisher(kafka))
    streams.down = True
    clock.now += 5.0
    await lease.flush()  # logged; tried again after the interval
    assert lease.flush_in() == 5.0
    with pytest.raises(DatabaseUnavailableError):  # the socket answers it with a retry
        await lease.accept(chunk(1), publisher(kafka))
    assert kafka.seqs == [0]
    streams.down = False
    clock.now += 5.0
    await lease.flush()
    assert (streams.row.next_seq, lease.flush_in()) == (1, None)
    streams.down = True
    await leases.close(lease)  # a close without PostgreSQL is logged, not raised


async def test_a_chunk_past_the_longest_ecg_is_refused_and_counts_nothing() -> None:
    """A stream cannot grow its windows without bound: 14 days of samples at its rate."""
    streams, kafka, clock, leases = Streams(), Kafka(), Clock(), Leases()
    limit = max_samples_per_lead(360.0)
    streams.row.next_seq, streams.row.next_sample = 5, limit - 10
    lease = lease_of(streams, leases, clock)
    assert await leases.take(lease) == 5
    await lease.accept(chunk(5, samples=10), publisher(kafka))  # exactly up to the limit
    with pytest.raises(InvalidInputError, match="end this stream and send the rest in a new"):
        await lease.accept(chunk(6, samples=1), publisher(kafka))
    assert kafka.seqs == [5]
    assert lease.next_seq == 6
