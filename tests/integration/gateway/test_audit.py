"""The audit log against the real PostgreSQL: rows go in, and never change or leave."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gateway.audit import AuditEvent, AuditLog
from gateway.database import Database


async def test_an_event_is_written_with_utc_time(
    database: Database, connection: asyncpg.Connection
) -> None:
    actor, object_id = uuid.uuid4(), str(uuid.uuid4())
    await AuditLog(database).record(
        AuditEvent(
            action="ecg.lookup",
            outcome="not_found",
            actor_id=actor,
            object_id=object_id,
            client_address="2001:db8::7",
            detail={"note": "x"},
        )
    )
    row = await connection.fetchrow("SELECT * FROM audit_log WHERE object_id = $1", object_id)
    assert row is not None
    assert (row["actor_id"], row["action"], row["outcome"]) == (actor, "ecg.lookup", "not_found")
    assert str(row["client_address"]) == "2001:db8::7"
    assert row["at"].utcoffset().total_seconds() == 0
    assert row["actor_email"] is None


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'success' WHERE id = $1",
        "DELETE FROM audit_log WHERE id = $1",
    ],
)
async def test_rows_cannot_be_changed_or_deleted(
    database: Database, connection: asyncpg.Connection, statement: str
) -> None:
    object_id = str(uuid.uuid4())
    await AuditLog(database).record(
        AuditEvent(action="auth.logout", outcome="success", object_id=object_id)
    )
    row_id = await connection.fetchval("SELECT id FROM audit_log WHERE object_id = $1", object_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await connection.execute(statement, row_id)
    assert await connection.fetchval("SELECT outcome FROM audit_log WHERE id = $1", row_id) == (
        "success"
    )


async def test_the_table_cannot_be_truncated(connection: asyncpg.Connection) -> None:
    before = await connection.fetchval("SELECT count(*) FROM audit_log")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await connection.execute("TRUNCATE audit_log")
    assert await connection.fetchval("SELECT count(*) FROM audit_log") >= before
