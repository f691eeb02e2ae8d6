"""Which ECGs PostgreSQL knows: the windows agent analyses a chunk only if its ECG
exists, and dead-letters it otherwise (``streams.windows``).

Every ECG the gateway takes is in ``ecgs`` before its first chunk is published (a
stream's row at its opening, an upload's row before its samples), so a chunk whose
ECG is not there did not come through the gateway, or belongs to an upload that was
taken back after Kafka failed it (``gateway.recordings.service``): analysing it would
leave results that no lookup reaches. The agent asks only for ECGs it holds no state
of, once per batch, and never remembers a refusal: a retried upload makes its ECG
known again.

While PostgreSQL is away the question waits (``known`` retries until it answers), and
the agent with it: a delay, never a chunk taken for unknown because nobody answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any
from uuid import UUID

import asyncpg

from streams.outages import DATABASE_DOWN, Outage

log = logging.getLogger(__name__)

_KNOWN = "SELECT id FROM ecgs WHERE id = ANY($1::uuid[])"


class KnownEcgs:
    """``known``: which of some ECG ids are in ``ecgs``, over one connection of its
    own (the windows agent asks one question at a time)."""

    def __init__(self, dsn: str, *, timeout: float = 10.0, max_backoff: float = 5.0) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._max_backoff = max_backoff
        self._connection: asyncpg.Connection[Any] | None = None
        self._outage = Outage("checking which ECGs exist in PostgreSQL", log)

    async def known(self, ids: Collection[UUID]) -> set[UUID]:
        """The ECGs of ``ids`` that exist; waits, retrying, while PostgreSQL is away."""
        delay = 0.1
        while True:
            try:
                connection = self._connection
                if connection is None or connection.is_closed():
                    connection = self._connection = await asyncpg.connect(
                        self._dsn, timeout=self._timeout
                    )
                rows = await connection.fetch(_KNOWN, list(ids), timeout=self._timeout)
            except DATABASE_DOWN as exc:
                self._outage.failed(exc)
                self._drop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            self._outage.answered()
            return {row["id"] for row in rows}

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close(timeout=self._timeout)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()
