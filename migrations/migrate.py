"""Apply the ordered SQL files of this folder to a PostgreSQL database.

Each file runs once, in its own transaction, in file-name order, and is recorded
in ``schema_migrations`` with its checksum. A session-level advisory lock makes
concurrent runs wait for each other, so running the command twice, or twice at
once, is harmless. A recorded file whose content changed is an error: migrations
are forward-only, so change the schema with a new file instead.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from importlib.resources import files

import asyncpg

LOCK_KEY = 0x6563675F6D6967  # "ecg_mig"
FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations() -> list[Migration]:
    found = []
    for entry in files("migrations").iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(match.group(1), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return found


async def migrate(dsn: str) -> list[str]:
    """Apply what is pending; return the names of the files applied now."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            return await _apply_pending(connection)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await connection.close()


async def _apply_pending(connection: asyncpg.Connection) -> list[str]:
    await connection.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    text PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    rows = await connection.fetch("SELECT version, name, checksum FROM schema_migrations")
    applied = {row["version"]: row for row in rows}
    done = []
    for migration in load_migrations():
        row = applied.get(migration.version)
        if row is not None:
            if row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"{migration.name} was changed after it was applied; "
                    "add a new migration file instead"
                )
            continue
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        done.append(migration.name)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrations", description=__doc__)
    parser.add_argument(
        "--dsn",
        default=os.environ.get("ECG_DATABASE_URL"),
        help="PostgreSQL URL (default: $ECG_DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("give --dsn or set ECG_DATABASE_URL")
    try:
        applied = asyncio.run(migrate(args.dsn))
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    print(f"migrate: applied {len(applied)} file(s){': ' + ', '.join(applied) if applied else ''}")
    return 0
