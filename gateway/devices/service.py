"""A stream's chunks and its end: the rules that keep its effects exactly-once.

A request over HTTP *claims* the stream before it publishes: in one short transaction
it locks the stream's row, decides, and takes a lease on it (``StreamWriter.take``, as
a WebSocket does, for ``Leases.claim_seconds``); then it publishes with no database
connection held, and writes the new position under its writer number
(``StreamRepository.persist``, ``finish``). So a Kafka outage, when each publish waits
up to its timeout, holds no pooled connection: lookups and ``/healthz`` go on. The
row holds ``next_seq``, the seq the next chunk must carry. A chunk

- below it is a retry of one already acknowledged (its 202 was lost): answered again,
  not published again;
- above it leaves a gap: refused with the seq to send first;
- equal to it is published as one ``SampleChunk`` (``start_sample`` = ``next_sample``)
  and, once Kafka acknowledged it, counted in. Kafka unavailable: 503, the claim is
  given back with nothing moved (``last_chunk_at`` moves: the device is there), so the
  retry publishes.

While a claim lasts, requests of the stream in other processes get 503 (the lease, as
for a WebSocket's); within this process requests take turns (``Leases.turn``). Only a
count lost after Kafka's ack (PostgreSQL failed in between: 503) publishes a chunk
twice: the retry finds the position unmoved and sends it again, taking the claim over
at once in this process (``Leases.failed_claim``), after it runs out in another one.
The windows agent applies each seq once (``streams.chunks.apply_chunk``), so the
effects stay exactly-once, as for an upload retried after a lost answer. A device that
never retries leaves its last chunk in Kafka and out of the position: the idle timeout
then ends the stream at that seq, the agent ends it after the chunk, and the lookup
counts the samples of the final summary (``gateway.recordings.repository``), so the
two agree.

A WebSocket holds its stream instead and keeps the position in memory
(``gateway.devices.leases``): a chunk or an end over HTTP first has the WebSocket of
this process that holds the stream write its position and give it up, and is answered
503 (``StreamBusyError``) while a WebSocket of another process holds it.

The end publishes an empty chunk marked final at ``next_seq``; the agent then closes the
last window and emits the summary. A repeated end answers the same seq and publishes
nothing. A stream that the pipeline closed for its silence (``streams.idle``) takes
neither chunks nor an end: 409, its status is 'incomplete'.
"""

from __future__ import annotations

import logging
from uuid import UUID

from gateway.devices.bodies import StreamChunk, check_length
from gateway.devices.leases import Leases
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.errors import (
    ChunkGapError,
    DatabaseUnavailableError,
    StreamBusyError,
    StreamEndedError,
)
from gateway.publisher import SamplePublisher

log = logging.getLogger(__name__)


async def accept_chunk(
    stream: StoredStream,
    chunk: StreamChunk,
    streams: StreamRepository,
    publisher: SamplePublisher,
    leases: Leases,
) -> None:
    """Return once ``chunk`` is in Kafka, now or by an earlier request, and counted."""
    ecg_id = stream.ecg_id
    async with leases.turn(ecg_id):
        async with streams.writing(ecg_id) as position:
            if position.ended:
                raise StreamEndedError(ecg_id, timed_out=position.timed_out)
            if position.leased and position.writer != leases.failed_claim(ecg_id):
                raise StreamBusyError(ecg_id)
            if chunk.seq < position.next_seq:
                return
            if chunk.seq > position.next_seq:
                raise ChunkGapError(chunk.seq, position.next_seq)
            check_length(
                ecg_id, stream.sampling_rate, position.next_sample, chunk.number_of_samples
            )
            writer = await position.take(leases.claim_seconds)
            start = position.next_sample
        leases.claimed(ecg_id, writer)
        message = stream.sample_chunk(chunk.seq, start, chunk.samples)
        try:
            await publisher.send(ecg_id, [message])
        except Exception:
            await _give_back(streams, leases, ecg_id, writer, chunk.seq, start)
            raise
        await _counted(
            leases,
            ecg_id,
            await streams.persist(ecg_id, writer, chunk.seq + 1, start + chunk.number_of_samples),
        )


async def end_stream(
    stream: StoredStream, streams: StreamRepository, publisher: SamplePublisher, leases: Leases
) -> int:
    """Publish the final chunk (once) and mark the stream ended; return its seq."""
    ecg_id = stream.ecg_id
    async with leases.turn(ecg_id):
        async with streams.writing(ecg_id) as position:
            if position.timed_out:
                raise StreamEndedError(ecg_id, timed_out=True)
            if position.ended:
                return position.next_seq - 1
            if position.leased and position.writer != leases.failed_claim(ecg_id):
                raise StreamBusyError(ecg_id)
            writer = await position.take(leases.claim_seconds)
            seq, start = position.next_seq, position.next_sample
        leases.claimed(ecg_id, writer)
        try:
            await publisher.send(ecg_id, [stream.sample_chunk(seq, start)])
        except Exception:
            await _give_back(streams, leases, ecg_id, writer, seq, start)
            raise
        await _counted(leases, ecg_id, await streams.finish(ecg_id, writer))
        return seq


async def _counted(leases: Leases, ecg_id: UUID, written: bool) -> None:
    leases.settled(ecg_id)
    if not written:
        # The claim ran out before the count and another request took the stream over:
        # it has moved on from where this one left it; the client asks again.
        raise StreamBusyError(ecg_id)


async def _give_back(
    streams: StreamRepository, leases: Leases, ecg_id: UUID, writer: int, seq: int, start: int
) -> None:
    """Kafka did not take the chunk: the position stays, the claim ends now (or, with
    PostgreSQL away too, when it runs out)."""
    try:
        await streams.persist(ecg_id, writer, seq, start)
    except DatabaseUnavailableError as error:
        log.warning("stream %s: claim left to run out: %r", ecg_id, error)
    else:
        leases.settled(ecg_id)
