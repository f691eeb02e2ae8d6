"""The gateway's pool on a real PostgreSQL whose server closes its connections under it
(a terminated backend, as when PostgreSQL stops or restarts): every request sees
``DatabaseUnavailableError`` (a 503), never asyncpg's own errors (a 500), and the pool
serves again at once."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from gateway.database import Database
from gateway.errors import DatabaseUnavailableError, TooManyAttemptsError


async def terminate_others(admin: asyncpg.Connection) -> None:
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE pid <> pg_backend_pid() AND datname = current_database()"
        " AND application_name = 'test-gateway-pool'"
    )


async def test_a_connection_closed_by_the_server_is_unavailable_never_an_asyncpg_error(
    database_url: str,
) -> None:
    database = Database(database_url + "?application_name=test-gateway-pool", pool_size=4)
    await database.open()
    admin = await asyncpg.connect(database_url)
    outcomes: list[str] = []

    async def query(fail: bool) -> None:
        try:
            async with database.transaction() as connection:
                await connection.fetchval("SELECT pg_sleep(0.02)")
                if fail:  # an error of the request itself, as a 429's, on the way out
                    raise TooManyAttemptsError(1)
            outcomes.append("ok")
        except DatabaseUnavailableError:
            outcomes.append("unavailable")
        except TooManyAttemptsError:
            outcomes.append("429")

    try:
        for round_ in range(20):
            await asyncio.gather(
                *(query(fail=(round_ + k) % 2 == 0) for k in range(8)),
                terminate_others(admin),
            )
        # Anything else (asyncpg's InternalClientError, InterfaceError) would have
        # escaped gather and failed the test.
        assert "unavailable" in outcomes
        outcomes.clear()
        await query(fail=False)
        assert outcomes == ["ok"]  # the pool serves again
    finally:
        await admin.close()
        await database.close()


@pytest.mark.parametrize("error", [asyncpg.InterfaceError, asyncpg.InternalClientError])
async def test_asyncpgs_own_error_on_an_open_connection_is_a_bug_and_propagates(
    database_url: str, error: type[Exception]
) -> None:
    database = Database(database_url)
    await database.open()

    async def misuse() -> None:
        async with database.connection() as connection:
            await connection.fetchval("SELECT 1")
            raise error("a misuse of the driver")

    try:
        with pytest.raises(error):
            await misuse()
    finally:
        await database.close()
