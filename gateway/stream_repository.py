"""Open streams in PostgreSQL (migrations/0005_streams.sql): the ECG row, its leads and
the stream's position (``next_seq``, ``next_sample``).

Only the gateway writes these rows. A chunk moves the position with one conditional
statement (``WHERE next_seq = <its seq>``) after Kafka acknowledged it, so that of two
requests carrying the same chunk at once, only one moves it; both have published the
same chunk, and the windows agent drops the later copy by its seq.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from gateway.database import Database
from gateway.errors import NotAStreamError
from gateway.repository import LeadRow, insert_ecg
from gateway.stream_bodies import StreamOpening


@dataclass(frozen=True)
class StoredStream:
    ecg_id: UUID
    date: datetime
    sampling_rate: float | None
    leads: tuple[str, ...]
    next_seq: int
    next_sample: int
    ended: bool


class StreamRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def open(self, opening: StreamOpening, owner_id: UUID) -> None:
        """Insert the ECG ('receiving'), its leads (0 samples so far) and the stream;
        EcgExistsError if the id is taken."""
        leads: list[LeadRow] = [(name, 0, None, None) for name in opening.leads]
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
                       ARRAY(SELECT name FROM ecg_leads
                             WHERE ecg_id = e.id ORDER BY position) AS leads
                FROM ecgs e LEFT JOIN ecg_streams s ON s.ecg_id = e.id
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
            next_seq=row["next_seq"],
            next_sample=row["next_sample"],
            ended=row["ended"],
        )

    async def advance(self, ecg_id: UUID, seq: int, samples: int) -> bool:
        """Count chunk ``seq`` of ``samples`` per lead in, if it is still the next one;
        False if another request did it first or the stream has ended."""
        async with self._database.connection() as connection:
            advanced = await connection.fetchval(
                """
                WITH advanced AS (
                    UPDATE ecg_streams
                    SET next_seq = next_seq + 1, next_sample = next_sample + $3,
                        last_chunk_at = now()
                    WHERE ecg_id = $1 AND next_seq = $2 AND ended_at IS NULL
                    RETURNING ecg_id
                )
                UPDATE ecg_leads l SET number_of_samples = l.number_of_samples + $3
                FROM advanced a WHERE l.ecg_id = a.ecg_id
                RETURNING true
                """,
                ecg_id,
                seq,
                samples,
            )
        return bool(advanced)

    async def end(self, ecg_id: UUID, seq: int) -> bool:
        """Mark the stream ended by its final chunk ``seq``, and its ECG 'processing';
        False if the stream had moved on or ended already."""
        async with self._database.connection() as connection:
            ended = await connection.fetchval(
                """
                WITH ended AS (
                    UPDATE ecg_streams SET next_seq = next_seq + 1, ended_at = now()
                    WHERE ecg_id = $1 AND next_seq = $2 AND ended_at IS NULL
                    RETURNING ecg_id
                )
                UPDATE ecgs e SET status = 'processing', updated_at = now()
                FROM ended WHERE e.id = ended.ecg_id
                RETURNING true
                """,
                ecg_id,
                seq,
            )
        return bool(ended)
