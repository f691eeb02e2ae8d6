"""A stream's chunks and its end: the rules that keep its effects exactly-once.

The stream row holds ``next_seq``, the seq the next chunk must carry. A chunk

- below it is a retry of one already acknowledged (its 202 was lost): answered again,
  not published again;
- above it leaves a gap: refused with the seq to send first;
- equal to it is published as one ``SampleChunk`` (``start_sample`` = ``next_sample``)
  and, once Kafka acknowledged it, counted in with a conditional UPDATE (``WHERE
  next_seq = seq``). Kafka unavailable: 503, and nothing moves, so the retry publishes.

Two requests with the same seq at once (a client retrying before its first attempt was
answered) may both publish it; only one moves the row, and the windows agent, which
applies each seq once (``streams.chunks.apply_chunk``), drops the other copy. The
effects stay exactly-once, as for an upload retried after a lost answer.

The end publishes an empty chunk marked final at ``next_seq``; the agent then closes the
last window and emits the summary. A repeated end answers the same seq and publishes
nothing. A client ends its stream after the 202 of its last chunk: an end racing with a
chunk still in flight takes the same seq, and the agent keeps whichever Kafka got first.
"""

from __future__ import annotations

import numpy as np

from gateway.chunks import Chunk
from gateway.errors import ChunkGapError, StreamEndedError
from gateway.publisher import SamplePublisher, encode_chunk
from gateway.stream_bodies import StreamChunk
from gateway.stream_repository import StoredStream, StreamRepository


async def accept_chunk(
    stream: StoredStream,
    chunk: StreamChunk,
    streams: StreamRepository,
    publisher: SamplePublisher,
) -> None:
    """Return once ``chunk`` is in Kafka, now or by an earlier request."""
    if stream.ended:
        raise StreamEndedError(stream.ecg_id)
    if chunk.seq < stream.next_seq:
        return
    if chunk.seq > stream.next_seq:
        raise ChunkGapError(chunk.seq, stream.next_seq)
    message = _message(stream, Chunk(chunk.seq, stream.next_sample, False, chunk.signals))
    await publisher.send(stream.ecg_id, [message])
    # False: a request with the same chunk counted it in first.
    await streams.advance(stream.ecg_id, chunk.seq, chunk.number_of_samples)


async def end_stream(
    stream: StoredStream, streams: StreamRepository, publisher: SamplePublisher
) -> int:
    """Publish the final chunk (once) and mark the stream ended; return its seq."""
    if stream.ended:
        return stream.next_seq - 1
    empty = tuple(np.empty(0, dtype=np.int32) for _ in stream.leads)
    final = Chunk(stream.next_seq, stream.next_sample, True, empty)
    await publisher.send(stream.ecg_id, [_message(stream, final)])
    # False: a concurrent end with the same final chunk marked it first.
    await streams.end(stream.ecg_id, final.seq)
    return final.seq


def _message(stream: StoredStream, chunk: Chunk) -> bytes:
    leads = [{"name": name, "gain": None, "baseline": None} for name in stream.leads]
    return encode_chunk(stream.ecg_id, stream.date, stream.sampling_rate, leads, chunk)
