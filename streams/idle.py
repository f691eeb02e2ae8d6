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

The check runs on one worker of the group (the leader, see ``streams.app``), through
``IdleTimer``: silence counts only over time the pipeline itself was up. A device that
PostgreSQL or Kafka refused (503) was silent because of the pipeline, not its own, so
after a tick that failed for an outage, and after a gap in the checks (each records
when it ran, in ``idle_checks``: a gap means PostgreSQL was away or no worker ran, as
after the whole box restarted), no stream is closed until ``idle_seconds`` have passed
with the pipeline answering: its devices get their whole allowance again to come back.
A Kafka outage is seen only when a final chunk fails: a stream silent for less than
``idle_seconds`` when it began is not a candidate then, and its device, once Kafka is
back, sends again in time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka.errors import KafkaError

from schemas.sample_chunks import encode_sample_chunk
from streams.outages import DATABASE_DOWN, Outage

log = logging.getLogger(__name__)

# (key, value) messages to the samples topic; returns once Kafka acknowledged all.
Send = Callable[[Sequence[tuple[bytes, bytes]]], Awaitable[None]]

_IDLE_STREAMS = """
SELECT s.ecg_id, s.next_seq, s.next_sample, e.date, e.sampling_rate,
       ARRAY(SELECT name FROM ecg_leads WHERE ecg_id = s.ecg_id ORDER BY position) AS leads
FROM ecg_streams s JOIN ecgs e ON e.id = s.ecg_id
WHERE s.ended_at IS NULL AND s.last_chunk_at < now() - make_interval(secs => $1)
  AND (s.lease_until IS NULL OR s.lease_until < now())
  AND ($3::timestamptz IS NULL OR $3 < now() - make_interval(secs => $1))
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


_CHECKED = """
WITH before AS (SELECT checked_at FROM idle_checks WHERE app_id = $1),
     checked AS (
         INSERT INTO idle_checks (app_id, checked_at) VALUES ($1, now())
         ON CONFLICT (app_id) DO UPDATE SET checked_at = EXCLUDED.checked_at
     )
SELECT now() AS now, (SELECT checked_at FROM before) AS before
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

    async def checked(self, app_id: str) -> tuple[datetime, datetime | None]:
        """Record that ``app_id``'s check runs now; return the database's now and when it
        ran before (None: never)."""
        connection = await asyncpg.connect(self._database_url, timeout=10)
        try:
            row = await connection.fetchrow(_CHECKED, app_id, timeout=30)
        finally:
            await connection.close()
        assert row is not None
        return row["now"], row["before"]

    async def close_idle(self, send: Send, *, up_since: datetime | None = None) -> list[UUID]:
        """Close every stream silent for ``idle_seconds`` (counted from ``up_since`` at
        the earliest: none if it is more recent); return their ECG ids."""
        closed: list[UUID] = []
        connection = await asyncpg.connect(self._database_url, timeout=10)
        try:
            while batch := await self._close_batch(connection, send, up_since):
                closed += batch
                if len(batch) < self._batch:
                    break
        finally:
            await connection.close()
        return closed

    async def _close_batch(
        self, connection: asyncpg.Connection[Any], send: Send, up_since: datetime | None
    ) -> list[UUID]:
        async with connection.transaction():
            streams = await connection.fetch(
                _IDLE_STREAMS, self._idle_seconds, self._batch, up_since, timeout=30
            )
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


class IdleTimer:
    """The idle check's tick on the leader worker: ``IdleStreams.close_idle`` with the
    silence counted from the end of the last outage it saw, never before it."""

    def __init__(
        self,
        streams: IdleStreams,
        app_id: str,
        idle_seconds: float,
        check_seconds: float,
        *,
        up_since: datetime | None = None,
    ) -> None:
        self._streams = streams
        self._app_id = app_id
        self._idle_seconds = idle_seconds
        self._check_seconds = check_seconds
        # A check that did not run for this long is a gap (a worker group that hands the
        # leader on after a worker's death takes less).
        self._gap = timedelta(seconds=max(4 * check_seconds, 60.0))
        self._up_since = up_since  # the end of the last outage seen; None: none seen
        self._failed = False
        self._outage = Outage("closing idle streams", log)

    async def tick(self, send: Send) -> list[UUID]:
        """Close the streams silent for long enough; nothing if PostgreSQL or Kafka
        fails (the next tick tries again), nor in the first tick after that or after a
        gap (it finds the pipeline up again, and counts from then)."""
        try:
            now, before = await self._streams.checked(self._app_id)
            if self._failed or (before is not None and now - before > self._gap):
                self._up_since, self._failed = now, False
            closed = await self._streams.close_idle(send, up_since=self._up_since)
        except (*DATABASE_DOWN, asyncpg.PostgresError, KafkaError) as exc:
            # Nothing was marked closed (see the module's docstring).
            self._outage.failed(
                exc,
                f"retrying every {self._check_seconds:g} s; once it works, silent streams "
                f"get {self._idle_seconds:g} s more before they are closed",
            )
            self._failed = True
            return []
        self._outage.answered()
        return closed
