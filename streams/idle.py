"""The idle timeout of device streams: a stream silent for too long is closed by the
pipeline, with status 'incomplete', and its results so far stay.

A device that dies, loses its network for good or forgets to end its stream would
leave the ECG 'receiving' for ever and its last window unanalysed. Once a stream has
taken no chunk for ``idle_seconds`` (``ecg_streams.last_chunk_at``, moved by every
accepted chunk), ``close_idle`` does what the device's end would have done, in one
transaction per batch of streams:

1. lock the idle streams' rows, skipping any that a gateway request holds (a chunk
   being written is not silence; the gateway locks the row for each request, see
   ``gateway.devices.repository``) and any that a WebSocket holds (``lease_until``
   ahead: it counts its chunks in memory and writes ``last_chunk_at`` in batches, see
   ``gateway.devices.leases``);
2. publish each stream's final chunk (empty, ``final``, at its ``next_seq``) to the
   samples topic and wait for Kafka's acknowledgement: the windows agent then closes
   the last window and emits the summary, exactly as after an end;
3. mark the streams ended and their ECGs 'incomplete'.

Kafka or PostgreSQL failing anywhere rolls the transaction back, so a stream is marked
closed only once its final chunk is in Kafka; the next run tries again. A final chunk
published twice (a commit lost after the acknowledgement) is dropped by the agent by
its seq. The gateway answers later chunks and ends of such a stream with 409.

The check runs on one worker of the group (the leader, see ``streams.app``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from schemas.sample_chunks import encode_sample_chunk

log = logging.getLogger(__name__)

# (key, value) messages to the samples topic; returns once Kafka acknowledged all.
Send = Callable[[Sequence[tuple[bytes, bytes]]], Awaitable[None]]

_IDLE_STREAMS = """
SELECT s.ecg_id, s.next_seq, s.next_sample, e.date, e.sampling_rate,
       ARRAY(SELECT name FROM ecg_leads WHERE ecg_id = s.ecg_id ORDER BY position) AS leads
FROM ecg_streams s JOIN ecgs e ON e.id = s.ecg_id
WHERE s.ended_at IS NULL AND s.last_chunk_at < now() - make_interval(secs => $1)
  AND (s.lease_until IS NULL OR s.lease_until < now())
ORDER BY s.last_chunk_at
LIMIT $2
FOR UPDATE OF s SKIP LOCKED
"""

_CLOSE = """
WITH ended AS (
    UPDATE ecg_streams SET next_seq = next_seq + 1, ended_at = now()
    WHERE ecg_id = ANY($1::uuid[])
    RETURNING ecg_id
)
UPDATE ecgs e SET status = 'incomplete', updated_at = now()
FROM ended WHERE e.id = ended.ecg_id
"""


def final_chunk(stream: asyncpg.Record | dict[str, Any]) -> tuple[bytes, bytes]:
    """The (key, value) of the empty final ``SampleChunk`` that closes ``stream``: the
    same message as the gateway's end (``gateway.devices.service``) would publish."""
    value = encode_sample_chunk(
        stream["ecg_id"],
        stream["next_seq"],
        stream["next_sample"],
        date=stream["date"],
        sampling_rate=stream["sampling_rate"],
        leads=list(stream["leads"]),
        final=True,
    )
    return str(stream["ecg_id"]).encode(), value


class IdleStreams:
    def __init__(self, database_url: str, idle_seconds: float, *, batch: int = 100) -> None:
        self._database_url = database_url
        self._idle_seconds = idle_seconds
        self._batch = batch

    async def close_idle(self, send: Send) -> list[UUID]:
        """Close every stream silent for ``idle_seconds``; return their ECG ids."""
        closed: list[UUID] = []
        connection = await asyncpg.connect(self._database_url, timeout=10)
        try:
            while batch := await self._close_batch(connection, send):
                closed += batch
                if len(batch) < self._batch:
                    break
        finally:
            await connection.close()
        return closed

    async def _close_batch(self, connection: asyncpg.Connection[Any], send: Send) -> list[UUID]:
        async with connection.transaction():
            streams = await connection.fetch(_IDLE_STREAMS, self._idle_seconds, self._batch)
            if not streams:
                return []
            await send([final_chunk(stream) for stream in streams])
            ids = [stream["ecg_id"] for stream in streams]
            await connection.execute(_CLOSE, ids)
        for stream in streams:
            log.info(
                "closed the stream of ECG %s after %g s without chunks (%d chunks, "
                "%d samples per lead): status incomplete",
                stream["ecg_id"],
                self._idle_seconds,
                stream["next_seq"],
                stream["next_sample"],
            )
        return ids
