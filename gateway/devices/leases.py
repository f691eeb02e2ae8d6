"""A WebSocket's hold on its stream: the position in memory, written to PostgreSQL in
batches, so that a chunk costs no database round trip.

``POST /chunks`` locks the stream's row for each chunk (``gateway.devices.service``).
A WebSocket instead *takes* the stream at its handshake: under the row lock it moves
``ecg_streams.writer`` on (its fencing token) and sets ``lease_until``; from then on it
checks each chunk's seq against ``next_seq`` in memory, publishes it and, once Kafka
acknowledged it, counts it in memory. It writes the position (``next_seq``,
``next_sample``, the leads' ``number_of_samples``, ``last_chunk_at``) and renews the
lease only where the writer is still its own and the stream has not ended:

- before publishing a chunk, when the last write is ``persist_seconds`` old or
  ``persist_chunks`` chunks are counted only in memory (so a chunk is published at
  most ``persist_seconds`` after a write, well within the lease);
- ``persist_seconds`` after the last write while chunks are counted only in memory
  (``flush_in``: the socket's receive wakes up for it), so a device that falls silent
  is counted in full within seconds;
- when it gives the stream up: at its close, at the device's end, and when a
  ``POST /chunks`` or ``POST /end`` of this process takes its turn (``Leases.turn``):
  that waits for the chunk in flight, writes, and lets the WebSocket take the stream
  again, from the row, before its next chunk once the request is done; and when a
  newer WebSocket of the stream takes it over (``Leases.take``): the older one writes,
  and its next chunk is refused (409) and closes it with 4409, as a device that
  reconnected has left it.

Why nothing is lost or doubled. The position in PostgreSQL never runs ahead of Kafka:
it is written only from memory, which counts a chunk after its acknowledgement. A
WebSocket acknowledges a chunk only after Kafka did, so every acknowledged chunk is in
Kafka; what PostgreSQL has not counted yet is the tail since the last write, at most
``persist_seconds`` or ``persist_chunks`` of chunks. A writer (a WebSocket taking the
stream, or an HTTP request) starts from the written position, which is at most what
Kafka has, so the seqs it publishes continue Kafka's without a gap; a seq that Kafka
already has (the device resends the tail from ``ready.next_seq``) is published again
and the windows agent applies each (ECG, seq) once (``streams.chunks``), so the effects
stay exactly-once, as for an HTTP retry after a lost answer. The counts follow the
writer that wrote last: a write under an older ``writer`` is refused (fencing), the
WebSocket whose write was refused takes the stream again and checks its next chunk
against the position it reads. The device sends the same samples under the same seq
(the protocol's rule for retries), so whichever writer counts a seq counts the same
samples. When the WebSocket closes (or ends, or hands over), everything acknowledged is
written: the lookup's counts then equal the acknowledged samples.

What a gateway that dies without closing (killed, or PostgreSQL gone at the close)
leaves: the tail acknowledged but not written. ``ready.next_seq`` of the next
connection is then up to that tail behind the last ``ack``, and the device resends from
there (the protocol already says so); the lease runs out after ``lease_seconds``. If
the device never comes back, the idle timeout ends the stream at the written position,
below the seqs Kafka has: the windows agent still ends the ECG, with every chunk it
applied (``streams.chunks``), and only the lookup's ``number_of_samples`` stays at the
written position, short of that tail.

The idle timeout (``streams.idle``) leaves a stream with a live lease alone: a
WebSocket that streams renews it with every write, so it is never taken for silent, and
one that falls silent has written its tail within ``persist_seconds``, before the lease
runs out. HTTP requests of another gateway process find the lease and get a 503 until
it is given up or runs out; within one process they take it over at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

from gateway.devices.bodies import StreamChunk, check_length
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.errors import (
    ChunkGapError,
    DatabaseUnavailableError,
    StreamBusyError,
    StreamEndedError,
    StreamTakenOverError,
)
from gateway.publisher import SamplePublisher
from gateway.settings import Settings

log = logging.getLogger(__name__)

TURN_TIMEOUT_SECONDS = 2.0  # how long a request waits for another one of its stream
MAX_FAILED_CLAIMS = 10_000  # remembered at most (Leases.claimed)


@dataclass(frozen=True)
class Persistence:
    """When a WebSocket writes its position, and how long its lease lasts (s)."""

    seconds: float
    chunks: int
    lease_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Persistence:
        # A chunk is published at most `seconds` after a write, is acknowledged within
        # the publish timeout, and the write after it takes at most the database's
        # timeout: the lease outlasts all three, with `seconds` to spare.
        lease = (
            2 * settings.stream_persist_seconds
            + settings.publish_timeout_seconds
            + settings.database_timeout_seconds
        )
        return cls(settings.stream_persist_seconds, settings.stream_persist_chunks, lease)


class StreamLease:
    """One WebSocket's hold on its stream. Its methods take turns (one lock): a chunk,
    a write and a release never overlap."""

    def __init__(
        self,
        stream: StoredStream,
        streams: StreamRepository,
        leases: Leases,
        persistence: Persistence,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self._streams = streams
        self._leases = leases
        self._persistence = persistence
        self._clock = clock
        self._lock = asyncio.Lock()
        self._writer: int | None = None  # None: not held; taken again before a chunk
        self._taken_over = False  # by a newer WebSocket: no more chunks
        self.next_seq = stream.next_seq
        self.next_sample = stream.next_sample
        self._written_seq = stream.next_seq
        self._written_at = 0.0  # by the clock, just before the last write began
        self._flush_after = 0.0  # a failed flush waits until then

    @property
    def ecg_id(self) -> UUID:
        return self.stream.ecg_id

    @property
    def unwritten(self) -> int:
        """Chunks acknowledged and counted in memory only."""
        return self.next_seq - self._written_seq

    async def take(self) -> int:
        """Hold the stream from its written position; return ``next_seq``.
        StreamEndedError if it has ended. (``Leases.take`` calls it.)"""
        async with self._lock:
            await self._take()
            return self.next_seq

    async def accept(self, chunk: StreamChunk, publisher: SamplePublisher) -> None:
        """Return once ``chunk`` is in Kafka, now or earlier; the rules of
        ``gateway.devices.service.accept_chunk``, against the position in memory."""
        while True:
            async with self._lock:
                if self._taken_over:
                    raise StreamTakenOverError(self.ecg_id)
                if self._writer is not None and self._due() and not await self._write(keep=True):
                    self._writer = None  # another writer moved the stream on, or it ended
                if self._writer is not None:
                    await self._publish(chunk, publisher)
                    return
            # Taken again through this process's leases, outside this lease's lock: the
            # one holding it now writes first, and two leases never wait for each other.
            await self._leases.take(self)

    async def _publish(self, chunk: StreamChunk, publisher: SamplePublisher) -> None:
        if chunk.seq < self.next_seq:
            return
        if chunk.seq > self.next_seq:
            raise ChunkGapError(chunk.seq, self.next_seq)
        rate = self.stream.sampling_rate
        check_length(self.ecg_id, rate, self.next_sample, chunk.number_of_samples)
        message = self.stream.sample_chunk(chunk.seq, self.next_sample, chunk.samples)
        await publisher.send(self.ecg_id, [message])
        self.next_seq += 1
        self.next_sample += chunk.number_of_samples

    def flush_in(self) -> float | None:
        """Seconds until the chunks counted in memory only are due to be written; None
        when there are none."""
        if self._writer is None or not self.unwritten:
            return None
        due = max(self._written_at + self._persistence.seconds, self._flush_after)
        return max(0.0, due - self._clock())

    async def flush(self) -> None:
        """Write the position if it is due; a failure is logged and tried again later."""
        async with self._lock:
            if self._writer is None or not self.unwritten or not self._due():
                return
            try:
                if not await self._write(keep=True):
                    self._writer = None
            except DatabaseUnavailableError as error:
                self._flush_after = self._clock() + self._persistence.seconds
                log.warning("stream %s: position not written: %r", self.ecg_id, error)

    async def release(self, *, taken_over: bool = False) -> None:
        """Write the position and give the lease up; a later chunk takes it again,
        unless a newer WebSocket has ``taken_over``."""
        async with self._lock:
            self._taken_over = self._taken_over or taken_over
            if self._writer is not None:
                await self._write(keep=False)
                self._writer = None

    def _due(self) -> bool:
        persistence = self._persistence
        return (
            self._clock() - self._written_at >= persistence.seconds
            or self.unwritten >= persistence.chunks
        )

    async def _take(self) -> None:
        started = self._clock()
        async with self._streams.writing(self.ecg_id) as position:
            if position.ended:
                raise StreamEndedError(self.ecg_id, timed_out=position.timed_out)
            self._writer = await position.take(self._persistence.lease_seconds)
            self.next_seq = self._written_seq = position.next_seq
            self.next_sample = position.next_sample
        self._written_at = started

    async def _write(self, *, keep: bool) -> bool:
        """Write the position under this writer; False if the writer is no longer
        ours or the stream ended (nothing written)."""
        assert self._writer is not None
        started = self._clock()
        written = await self._streams.persist(
            self.ecg_id,
            self._writer,
            self.next_seq,
            self.next_sample,
            self._persistence.lease_seconds if keep else None,
        )
        if written:
            self._written_seq, self._written_at = self.next_seq, started
        return written


class _Turn:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class Leases:
    """The streams that this process's WebSockets hold, so that a request for one of
    them first has its position written and the lease given up: ``POST /chunks`` and
    ``POST /end`` take a *turn* (``turn``), during which the WebSocket does not take
    the stream back; a newer WebSocket of the stream takes it over for good (the older
    one's next chunk is refused and it closes, as a device that reconnected has left
    it). One turn at a time per stream, taking one included."""

    def __init__(self, claim_seconds: float = 20.0) -> None:
        self._held: dict[UUID, StreamLease] = {}
        self._turns: dict[UUID, _Turn] = {}
        # How long a request's claim on its stream lasts (gateway.devices.service).
        self.claim_seconds = claim_seconds
        # The writer numbers of this process's claims whose count is not written.
        self._claims: dict[UUID, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Leases:
        # A claim outlasts the publish and the write of the count after it, with time
        # to spare for the event loop.
        return cls(settings.publish_timeout_seconds + 2 * settings.database_timeout_seconds)

    def claimed(self, ecg_id: UUID, writer: int) -> None:
        """A request of this process claimed the stream as ``writer``."""
        if len(self._claims) >= MAX_FAILED_CLAIMS:
            self._claims.clear()  # they only spare their streams' retries a wait
        self._claims[ecg_id] = writer

    def settled(self, ecg_id: UUID) -> None:
        """The claim ended: its count, or the position as it was, is written."""
        self._claims.pop(ecg_id, None)

    def failed_claim(self, ecg_id: UUID) -> int | None:
        """The writer number of a claim of this process on the stream that did not
        settle (PostgreSQL failed after the publish). Asked during a turn, when no
        request of this process holds the stream: a lease of that number in the row is
        left over, and the request may take the stream at once."""
        return self._claims.get(ecg_id)

    async def take(self, lease: StreamLease) -> int:
        """Hand the stream over to ``lease``; return the seq to send next."""
        async with self._turn(lease.ecg_id):
            held = self._held.get(lease.ecg_id)
            if held is not None and held is not lease:
                await held.release(taken_over=True)
            self._held[lease.ecg_id] = lease
            try:
                return await lease.take()
            except BaseException:
                self._forget(lease)
                raise

    @asynccontextmanager
    async def turn(self, ecg_id: UUID) -> AsyncIterator[None]:
        """The block has the stream: the WebSocket of this process that held it has
        written its position and given it up, and takes it back only after the block."""
        async with self._turn(ecg_id):
            held = self._held.get(ecg_id)
            if held is not None:
                await held.release()
            yield

    async def close(self, lease: StreamLease) -> None:
        """``lease``'s WebSocket is gone: write what it counted, forget it. It is held
        until it has written, so that a request of its stream meanwhile waits for the
        write (``turn``) rather than find the lease in the row and be told to retry."""
        try:
            await lease.release()
        except DatabaseUnavailableError as error:
            log.warning(
                "stream %s: %d acknowledged chunks not written at the close: %r",
                lease.ecg_id,
                lease.unwritten,
                error,
            )
        finally:
            self._forget(lease)

    async def close_all(self) -> None:
        for lease in list(self._held.values()):
            await self.close(lease)

    def _forget(self, lease: StreamLease) -> None:
        if self._held.get(lease.ecg_id) is lease:
            del self._held[lease.ecg_id]

    @asynccontextmanager
    async def _turn(self, ecg_id: UUID) -> AsyncIterator[None]:
        """One turn; StreamBusyError after waiting ``TURN_TIMEOUT_SECONDS`` for it, as
        for the row lock (``gateway.devices.repository.LOCK_TIMEOUT``)."""
        turn = self._turns.setdefault(ecg_id, _Turn())
        turn.users += 1
        try:
            try:
                async with asyncio.timeout(TURN_TIMEOUT_SECONDS):
                    await turn.lock.acquire()
            except TimeoutError as exc:
                raise StreamBusyError(ecg_id) from exc
            try:
                yield
            finally:
                turn.lock.release()
        finally:
            turn.users -= 1
            if not turn.users:
                del self._turns[ecg_id]
