"""A stream's chunks and its end: the rules that keep its effects exactly-once.

Each request holds the stream's row locked while it decides, publishes and moves the
position (``StreamRepository.writing``), so the requests of one stream take turns.
The row holds ``next_seq``, the seq the next chunk must carry. A chunk

- below it is a retry of one already acknowledged (its 202 was lost): answered again,
  not published again;
- above it leaves a gap: refused with the seq to send first;
- equal to it is published as one ``SampleChunk`` (``start_sample`` = ``next_sample``)
  and, once Kafka acknowledged it, counted in. Kafka unavailable: 503, and nothing
  moves, so the retry publishes.

Only a commit lost after Kafka's ack publishes a chunk twice (the retry sends it
again); the windows agent applies each seq once (``streams.chunks.apply_chunk``), so
the effects stay exactly-once, as for an upload retried after a lost answer.

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

from gateway.devices.bodies import StreamChunk
from gateway.devices.leases import Leases
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.errors import ChunkGapError, StreamBusyError, StreamEndedError
from gateway.publisher import SamplePublisher


async def accept_chunk(
    stream: StoredStream,
    chunk: StreamChunk,
    streams: StreamRepository,
    publisher: SamplePublisher,
    leases: Leases,
) -> None:
    """Return once ``chunk`` is in Kafka, now or by an earlier request."""
    async with leases.turn(stream.ecg_id), streams.writing(stream.ecg_id) as position:
        if position.ended:
            raise StreamEndedError(stream.ecg_id, timed_out=position.timed_out)
        if position.leased:
            raise StreamBusyError(stream.ecg_id)
        if chunk.seq < position.next_seq:
            return
        if chunk.seq > position.next_seq:
            raise ChunkGapError(chunk.seq, position.next_seq)
        message = stream.sample_chunk(chunk.seq, position.next_sample, chunk.samples)
        await publisher.send(stream.ecg_id, [message])
        await position.advance(chunk.number_of_samples)


async def end_stream(
    stream: StoredStream, streams: StreamRepository, publisher: SamplePublisher, leases: Leases
) -> int:
    """Publish the final chunk (once) and mark the stream ended; return its seq."""
    async with leases.turn(stream.ecg_id), streams.writing(stream.ecg_id) as position:
        if position.timed_out:
            raise StreamEndedError(stream.ecg_id, timed_out=True)
        if position.ended:
            return position.next_seq - 1
        if position.leased:
            raise StreamBusyError(stream.ecg_id)
        seq = position.next_seq
        final = stream.sample_chunk(seq, position.next_sample)
        await publisher.send(stream.ecg_id, [final])
        await position.end()
        return seq
