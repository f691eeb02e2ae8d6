"""The migrate command against the real PostgreSQL, on a fresh database per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from migrations.migrate import load_migrations, main, migrate


@pytest.fixture
async def fresh_database(database_url: str) -> AsyncIterator[str]:
    name = f"migrate_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_applies_every_file_once_in_order(fresh_database: str) -> None:
    names = [m.name for m in load_migrations()]
    assert names == sorted(names)
    assert await migrate(fresh_database) == names
    assert await migrate(fresh_database) == []

    connection = await asyncpg.connect(fresh_database)
    try:
        recorded = await connection.fetch("SELECT name FROM schema_migrations ORDER BY version")
        tables = {
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
    finally:
        await connection.close()
    assert [row["name"] for row in recorded] == names
    assert {"ecgs", "ecg_leads", "ecg_windows", "ecg_summaries"} <= tables


async def test_concurrent_runs_are_harmless(fresh_database: str) -> None:
    results = await asyncio.gather(*(migrate(fresh_database) for _ in range(3)))
    applied = [names for names in results if names]
    assert len(applied) == 1
    assert applied[0] == [m.name for m in load_migrations()]


async def test_a_changed_migration_is_refused(fresh_database: str) -> None:
    await migrate(fresh_database)
    connection = await asyncpg.connect(fresh_database)
    try:
        await connection.execute("UPDATE schema_migrations SET checksum = 'edited'")
    finally:
        await connection.close()
    assert await asyncio.to_thread(main, ["--dsn", fresh_database]) == 1


def test_an_unreachable_database_is_a_clear_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dsn", "postgresql://nobody@127.0.0.1:1/none"]) == 1
    assert "migrate:" in capsys.readouterr().err
