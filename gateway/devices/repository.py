"""Open streams in PostgreSQL (migrations/0005_streams.sql): the ECG row, its leads and
the stream's position (``next_seq``, ``next_sample``).

One request writes to a stream at a time: ``writing`` locks the stream's row
(``SELECT ... FOR UPDATE``) while a request decides and claims the stream
(``StreamWriter.take``: the row's ``writer`` moves on and a lease runs until
``lease_until``); the request then publishes with no connection held and writes the
new position under its writer number (``persist``, ``finish``), which counts only while
the number is still the row's. So the position in PostgreSQL never runs ahead of Kafka,
a copy of a chunk that waited for its turn finds it counted and is not published again,
an end never takes the seq of a chunk still in flight, and the pipeline's idle timeout
(``streams.idle``) never closes a stream while a chunk is being written: it skips a
locked row (``SKIP LOCKED``) and one with a lease ahead. A request that waits for the
lock longer than ``LOCK_TIMEOUT`` is answered 503. A WebSocket holds its stream the same
way (``gateway.devices.leases``), for as long as it streams, and writes the position
it counted in memory from time to time; a chunk and an end over HTTP move ``writer`` on
too, so that a WebSocket that missed them reads the row again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Final
from uuid import UUID

import asyncpg
import numpy as np
from numpy.typing import NDArray

from gateway.database import Connection, Database
from gateway.devices.bodies import StreamOpening
from gateway.ecg_rows import LeadRow, insert_ecg
from gateway.errors import NotAStreamError, StreamBusyError
from schemas.sample_chunks import LeadInfo, StreamChunks, encode_sample_chunk


@dataclass(frozen=True)
class StoredStream:
    ecg_id: UUID
    date: datetime
    sampling_rate: float | None
    leads: tuple[str, ...]
    next_seq: int
    next_sample: int
    ended: bool
    timed_out: bool  # ended by the pipeline's idle timeout (streams.idle)
    # The owner's account: what an ingest token of the stream is checked against.
    owner_disabled: bool = False
    owner_password_changed_at: datetime | None = None
    # Per lead, as the opening gave them (empty: none given).
    gains: tuple[float | None, ...] = ()
    baselines: tuple[int | None, ...] = ()

    @property
    def lead_info(self) -> tuple[LeadInfo, ...]:
        """The leads as every chunk carries them: name, gain and baseline."""
        gains = self.gains or (None,) * len(self.leads)
        baselines = self.baselines or (None,) * len(self.leads)
        return tuple(
            LeadInfo(name, gain, baseline)
            for name, gain, baseline in zip(self.leads, gains, baselines, strict=True)
        )

    def sample_chunk(
        self,
        seq: int,
        start_sample: int,
        samples: NDArray[np.signedinteger[Any]] | None = None,
    ) -> bytes:
        """The ``SampleChunk`` message of chunk ``seq`` of ``samples`` (one row per lead);
        without ``samples``, the empty final chunk that ends the stream."""
        if samples is not None:
            return self._chunks.encode(seq, start_sample, samples)
        return encode_sample_chunk(
            self.ecg_id,
            seq,
            start_sample,
            date=self.date,
            sampling_rate=self.sampling_rate,
            leads=self.lead_info,
            final=True,
        )

    @cached_property
    def _chunks(self) -> StreamChunks:
        return StreamChunks(
            self.ecg_id, date=self.date, sampling_rate=self.sampling_rate, leads=self.lead_info
        )


LOCK_TIMEOUT: Final = "2s"  # how long a request waits for another one of its stream


class StreamWriter:
    """A stream's row, locked: where it stands, and its claim (``take``), which commits
    when ``writing``'s block ends."""

    def __init__(self, connection: Connection, ecg_id: UUID, row: asyncpg.Record) -> None:
        self._connection = connection
        self.ecg_id = ecg_id
        self.next_seq: int = row["next_seq"]
        self.next_sample: int = row["next_sample"]
        self.ended: bool = row["ended"]
        self.timed_out: bool = row["timed_out"]
        # A WebSocket or a request holds it (gateway.devices.leases, .service), as writer:
        self.leased: bool = row["leased"]
        self.writer: int = row["writer"]

    async def take(self, lease_seconds: float) -> int:
        """Hold the stream for ``lease_seconds`` (a WebSocket, or a request until its
        chunk is counted); return its writer number, which fences off every earlier
        writer."""
        writer: int = await self._connection.fetchval(
            """
            UPDATE ecg_streams
            SET writer = writer + 1, lease_until = now() + make_interval(secs => $2)
            WHERE ecg_id = $1
            RETURNING writer
            """,
            self.ecg_id,
            lease_seconds,
        )
        return writer


class StreamRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def open(self, opening: StreamOpening, owner_id: UUID) -> None:
        """Insert the ECG ('receiving'), its leads (0 samples so far) and the stream;
        EcgExistsError if the id is taken."""
        gains = opening.gains or (None,) * len(opening.leads)
        baselines = opening.baselines or (None,) * len(opening.leads)
        leads: list[LeadRow] = [
            (name, 0, gain, baseline)
            for name, gain, baseline in zip(opening.leads, gains, baselines, strict=True)
        ]
        async with self._database.transaction() as connection:
            await insert_ecg(
                connection,
                opening.id,
                opening.date,
                opening.sampling_rate,
                "receiving",
                owner_id,
                leads,
            )
            await connection.execute("INSERT INTO ecg_streams (ecg_id) VALUES ($1)", opening.id)

    async def get(self, ecg_id: UUID, owner_id: UUID) -> StoredStream | None:
        """The stream if its ECG exists *and* belongs to ``owner_id`` (None otherwise,
        alike); NotAStreamError for an ECG that was uploaded whole."""
        async with self._database.connection() as connection:
            row = await connection.fetchrow(
                """
                SELECT e.date, e.sampling_rate, s.ecg_id IS NOT NULL AS is_stream,
                       s.next_seq, s.next_sample, s.ended_at IS NOT NULL AS ended,
                       e.status = 'incomplete' AS timed_out,
                       ARRAY(SELECT name FROM ecg_leads
                             WHERE ecg_id = e.id ORDER BY position) AS leads,
                       ARRAY(SELECT gain FROM ecg_leads
                             WHERE ecg_id = e.id ORDER BY position) AS gains,
                       ARRAY(SELECT baseline FROM ecg_leads
                             WHERE ecg_id = e.id ORDER BY position) AS baselines,
                       u.disabled_at IS NOT NULL AS owner_disabled, u.password_changed_at
                FROM ecgs e LEFT JOIN ecg_streams s ON s.ecg_id = e.id
                     JOIN users u ON u.id = e.owner_id
                WHERE e.id = $1 AND e.owner_id = $2
                """,
                ecg_id,
                owner_id,
            )
        if row is None:
            return None
        if not row["is_stream"]:
            raise NotAStreamError(ecg_id)
        return StoredStream(
            ecg_id=ecg_id,
            date=row["date"],
            sampling_rate=row["sampling_rate"],
            leads=tuple(row["leads"]),
            gains=tuple(row["gains"]),
            baselines=tuple(row["baselines"]),
            next_seq=row["next_seq"],
            next_sample=row["next_sample"],
            ended=row["ended"],
            timed_out=row["timed_out"],
            owner_disabled=row["owner_disabled"],
            owner_password_changed_at=row["password_changed_at"],
        )

    async def persist(
        self,
        ecg_id: UUID,
        writer: int,
        next_seq: int,
        next_sample: int,
        lease_seconds: float | None = None,
    ) -> bool:
        """Write the position of ``writer`` (a WebSocket's, ``gateway.devices.leases``,
        or a request's claim, ``gateway.devices.service``) and renew its lease for
        ``lease_seconds`` (None: give it up), if ``writer`` still holds the stream and it
        has not ended; whether it did."""
        async with self._database.connection() as connection:
            written: int = await connection.fetchval(
                """
                WITH moved AS (
                    UPDATE ecg_streams
                    SET next_seq = $3, next_sample = $4, last_chunk_at = now(),
                        lease_until = now() + make_interval(secs => $5)
                    WHERE ecg_id = $1 AND writer = $2 AND ended_at IS NULL
                    RETURNING ecg_id
                ), counted AS (
                    UPDATE ecg_leads l SET number_of_samples = $4
                    FROM moved m WHERE l.ecg_id = m.ecg_id
                )
                SELECT count(*) FROM moved
                """,
                ecg_id,
                writer,
                next_seq,
                next_sample,
                lease_seconds,
            )
        return written == 1

    async def finish(self, ecg_id: UUID, writer: int) -> bool:
        """Mark the stream ended by its final chunk at ``next_seq``, its lease given up
        and its ECG 'processing', if ``writer`` still holds it; whether it did."""
        async with self._database.connection() as connection:
            ended: int = await connection.fetchval(
                """
                WITH ended AS (
                    UPDATE ecg_streams
                    SET next_seq = next_seq + 1, ended_at = now(), lease_until = NULL
                    WHERE ecg_id = $1 AND writer = $2 AND ended_at IS NULL
                    RETURNING ecg_id
                ), marked AS (
                    UPDATE ecgs e SET status = 'processing', updated_at = now()
                    FROM ended WHERE e.id = ended.ecg_id
                )
                SELECT count(*) FROM ended
                """,
                ecg_id,
                writer,
            )
        return ended == 1

    async def owner_revoked(self, owner_id: UUID, issued_at: int) -> bool:
        """Whether the owner's account was disabled, or its password changed, since a
        token issued at ``issued_at`` (whole seconds, as ``check_access`` compares)."""
        async with self._database.connection() as connection:
            live = await connection.fetchval(
                """
                SELECT disabled_at IS NULL AND password_changed_at < to_timestamp($2 + 1)
                FROM users WHERE id = $1
                """,
                owner_id,
                issued_at,
            )
        return live is not True

    @asynccontextmanager
    async def writing(self, ecg_id: UUID) -> AsyncIterator[StreamWriter]:
        """The stream's row, locked until the block ends; what the block changed
        commits then, or rolls back if it raises. ``StreamBusyError`` when another
        request holds the lock for longer than ``LOCK_TIMEOUT``."""
        async with self._database.transaction() as connection:
            await connection.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            try:
                row = await connection.fetchrow(
                    """
                    SELECT s.next_seq, s.next_sample, s.ended_at IS NOT NULL AS ended,
                           e.status = 'incomplete' AS timed_out, s.writer,
                           coalesce(s.lease_until > now(), false) AS leased
                    FROM ecg_streams s JOIN ecgs e ON e.id = s.ecg_id
                    WHERE s.ecg_id = $1
                    FOR UPDATE OF s
                    """,
                    ecg_id,
                )
            except asyncpg.LockNotAvailableError as exc:
                raise StreamBusyError(ecg_id) from exc
            # The caller found the stream a moment ago; a stream goes only with its ECG.
            assert row is not None, f"the stream of ECG {ecg_id} is gone"
            yield StreamWriter(connection, ecg_id, row)
