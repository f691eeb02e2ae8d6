"""The gateway's PostgreSQL pool, shared by the stores (``repository``, ``users``,
``sessions``, ``throttle``, ``audit``).

The pool connects lazily (``min_size=0``): the gateway starts while PostgreSQL is
down and answers 503 until it is back. Lost or refused connections become
``DatabaseUnavailableError``, also when asyncpg reports the loss as its own error
(``LOST_MIDWAY``) on a connection that is closed; anything else is a bug and propagates.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import asyncpg

from gateway.errors import DatabaseUnavailableError
from gateway.settings import Settings

Connection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"

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

# Raised by asyncpg, not by the server, when a pooled connection was closed mid-use, e.g.
# "cannot switch to state 11; another operation (2) is in progress".
LOST_MIDWAY: tuple[type[Exception], ...] = (asyncpg.InterfaceError, asyncpg.InternalClientError)
UNAVAILABLE_DETAIL = "the database is unavailable; retry later"


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._pool_size = pool_size
        self._timeout = timeout_seconds
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout_seconds=settings.database_timeout_seconds,
        )

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._url,
            min_size=0,
            max_size=self._pool_size,
            timeout=self._timeout,
            command_timeout=self._timeout,
            init=_set_codecs,
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def ping(self) -> None:
        async with self.connection() as connection:
            await connection.fetchval("SELECT 1")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self._pool is None:
            raise DatabaseUnavailableError("the database is not connected")
        bug = False
        try:
            async with self._pool.acquire(timeout=self._timeout) as connection:
                try:
                    yield connection
                except LOST_MIDWAY as exc:
                    # asyncpg's own errors on a connection that the server closed under
                    # it (terminated, restarted): unavailable; on an open one, a bug.
                    if connection.is_closed():
                        raise DatabaseUnavailableError(UNAVAILABLE_DETAIL) from exc
                    bug = True
                    raise
        except UNAVAILABLE as exc:
            raise DatabaseUnavailableError(UNAVAILABLE_DETAIL) from exc
        except LOST_MIDWAY as exc:
            # Also from the reset of a connection returning to the pool (after a result
            # or an error such as a 429's), which fails so on a connection closed under it.
            if bug:
                raise
            raise DatabaseUnavailableError(UNAVAILABLE_DETAIL) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self.connection() as connection, connection.transaction():
            yield connection


async def _set_codecs(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
