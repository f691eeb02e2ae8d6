"""The ECG tables in PostgreSQL (see migrations/0001_create_ecgs.sql).

The pool connects lazily (``min_size=0``): the gateway starts while PostgreSQL
is down and answers 503 until it is back. Lost or refused connections become
``DatabaseUnavailableError``; anything else is a bug and propagates.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from gateway.errors import DatabaseUnavailableError, EcgExistsError
from gateway.settings import Settings
from gateway.uploads import Upload

UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
)


@dataclass(frozen=True)
class StoredLead:
    name: str
    number_of_samples: int
    zero_crossings: int | None
    gain: float | None
    baseline: int | None


@dataclass(frozen=True)
class StoredEcg:
    id: UUID
    date: datetime
    status: str
    sampling_rate: float | None
    leads: tuple[StoredLead, ...]
    summary: Any
    window_count: int


class EcgRepository:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None

    async def open(self) -> None:
        timeout = self._settings.database_timeout_seconds
        self._pool = await asyncpg.create_pool(
            self._settings.database_url,
            min_size=0,
            max_size=self._settings.database_pool_size,
            timeout=timeout,
            command_timeout=timeout,
            init=_set_codecs,
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def ping(self) -> None:
        async with self._connection() as connection:
            await connection.fetchval("SELECT 1")

    async def add(self, upload: Upload) -> None:
        """Insert the ECG (status 'processing') and its leads; EcgExistsError if the id is taken."""
        async with self._connection() as connection, connection.transaction():
            inserted = await connection.fetchval(
                """
                INSERT INTO ecgs (id, date, sampling_rate, status)
                VALUES ($1, $2, $3, 'processing')
                ON CONFLICT (id) DO NOTHING
                RETURNING id
                """,
                upload.id,
                upload.date,
                upload.sampling_rate,
            )
            if inserted is None:
                raise EcgExistsError(upload.id)
            await connection.executemany(
                """
                INSERT INTO ecg_leads (ecg_id, position, name, number_of_samples, gain, baseline)
                VALUES ($1, $2, $3, $4, $5, $6)
                """,
                [
                    (
                        upload.id,
                        position,
                        lead.name,
                        lead.number_of_samples,
                        lead.gain,
                        lead.baseline,
                    )
                    for position, lead in enumerate(upload.leads)
                ],
            )

    async def remove(self, ecg_id: UUID) -> None:
        async with self._connection() as connection:
            await connection.execute("DELETE FROM ecgs WHERE id = $1", ecg_id)

    async def get(self, ecg_id: UUID) -> StoredEcg | None:
        async with (
            self._connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await connection.fetchrow(
                """
                SELECT e.id, e.date, e.sampling_rate, s.result AS summary,
                       CASE WHEN s.ecg_id IS NULL THEN e.status ELSE 'done' END AS status,
                       (SELECT count(*) FROM ecg_windows w WHERE w.ecg_id = e.id) AS window_count
                FROM ecgs e LEFT JOIN ecg_summaries s ON s.ecg_id = e.id
                WHERE e.id = $1
                """,
                ecg_id,
            )
            if row is None:
                return None
            leads = await connection.fetch(
                """
                SELECT name, number_of_samples, gain, baseline
                FROM ecg_leads WHERE ecg_id = $1 ORDER BY position
                """,
                ecg_id,
            )
        return StoredEcg(
            id=row["id"],
            date=row["date"],
            status=row["status"],
            sampling_rate=row["sampling_rate"],
            leads=tuple(
                StoredLead(**dict(lead), zero_crossings=_summary_count(row["summary"], position))
                for position, lead in enumerate(leads)
            ),
            summary=row["summary"],
            window_count=row["window_count"],
        )

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy[asyncpg.Record]]:
        if self._pool is None:
            raise DatabaseUnavailableError("the database is not connected")
        try:
            async with self._pool.acquire(
                timeout=self._settings.database_timeout_seconds
            ) as connection:
                yield connection
        except UNAVAILABLE as exc:
            raise DatabaseUnavailableError("the database is unavailable; retry later") from exc


def _summary_count(summary: Any, position: int) -> int | None:
    """A lead's zero crossings from the ECG summary; None until it has arrived."""
    if summary is None:
        return None
    count: int = summary["leads"][position]["zero_crossings"]
    return count


async def _set_codecs(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
