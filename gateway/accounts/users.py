"""The ``users`` table: accounts, their role and their Argon2id password hash.

Emails are kept as given and compared ignoring letter case (a unique index on
``lower(email)``); that index also serves the login lookup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import asyncpg

from gateway.database import Connection, Database
from gateway.errors import AccountExistsError
from gateway.tokens import Role


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    role: Role
    password_hash: str
    password_changed_at: datetime
    disabled: bool = False


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    more: bool


class Users:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def find(self, email: str) -> User | None:
        async with self._database.connection() as connection:
            row = await connection.fetchrow(
                """
                SELECT id, email, role, password_hash, password_changed_at, disabled_at
                FROM users WHERE lower(email) = lower($1)
                """,
                email,
            )
        return None if row is None else _user(row)

    async def get(self, user_id: uuid.UUID) -> User | None:
        async with self._database.connection() as connection:
            row = await connection.fetchrow(
                """
                SELECT id, email, role, password_hash, password_changed_at, disabled_at
                FROM users WHERE id = $1
                """,
                user_id,
            )
        return None if row is None else _user(row)

    async def create(self, email: str, password_hash: str, role: Role) -> User:
        """A new account; AccountExistsError if the email is taken in any letter case."""
        async with self._database.connection() as connection:
            return await _insert(connection, email, password_hash, role)

    async def upgrade_hash(self, user_id: uuid.UUID, old_hash: str, new_hash: str) -> None:
        """The same password, hashed with today's parameters; a no-op if the password
        changed in the meantime. Sessions live on: nothing about the secret changed."""
        async with self._database.connection() as connection:
            await connection.execute(
                "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                user_id,
                old_hash,
                new_hash,
            )

    async def change_password(
        self, user_id: uuid.UUID, new_hash: str, reason: str = "password_change"
    ) -> int:
        """Set a new password and end every session of the account (so every refresh and
        access token); return how many sessions ended."""
        async with self._database.transaction() as connection:
            return await _change_password(connection, user_id, new_hash, reason)

    async def page(self, after: uuid.UUID | None, limit: int) -> UserPage:
        """Up to ``limit`` accounts in creation order, after the account ``after``."""
        async with self._database.connection() as connection:
            rows = await connection.fetch(
                """
                SELECT id, email, role, password_hash, password_changed_at, disabled_at
                FROM users
                WHERE $1::uuid IS NULL
                   OR (created_at, id) > (SELECT created_at, id FROM users WHERE id = $1)
                ORDER BY created_at, id LIMIT $2
                """,
                after,
                limit + 1,
            )
        return UserPage([_user(row) for row in rows[:limit]], more=len(rows) > limit)

    async def update(
        self, user_id: uuid.UUID, disabled: bool | None, role: Role | None
    ) -> tuple[User, int] | None:
        """Disable or enable the account, or give it another role; None if there is no
        such account. Disabling ends every session of the account at once; the number of
        sessions ended comes with the account as it is now."""
        async with self._database.transaction() as connection:
            row = await connection.fetchrow(
                """
                UPDATE users SET
                    disabled_at = CASE
                        WHEN $2::boolean IS NULL THEN disabled_at
                        WHEN $2 THEN coalesce(disabled_at, now())
                        ELSE NULL END,
                    role = coalesce($3, role)
                WHERE id = $1
                RETURNING id, email, role, password_hash, password_changed_at, disabled_at
                """,
                user_id,
                disabled,
                role,
            )
            if row is None:
                return None
            ended = 0
            if disabled:
                ended = await _end_sessions(connection, user_id, "disabled")
        return _user(row), ended

    async def ensure_admin(self, email: str, password_hash: str) -> tuple[User, bool]:
        """Create the admin, or reset its password and end its sessions; True if created.
        An existing *user* account with that email is not turned into an admin."""
        async with self._database.transaction() as connection:
            row = await connection.fetchrow(
                """
                SELECT id, email, role, password_hash, password_changed_at, disabled_at
                FROM users WHERE lower(email) = lower($1) FOR UPDATE
                """,
                email,
            )
            if row is None:
                return await _insert(connection, email, password_hash, "admin"), True
            user = _user(row)
            if user.role != "admin":
                raise AccountExistsError()
            await _change_password(connection, user.id, password_hash, "admin_reset")
        return user, False


async def _insert(connection: Connection, email: str, password_hash: str, role: Role) -> User:
    try:
        row = await connection.fetchrow(
            """
            INSERT INTO users (id, email, role, password_hash) VALUES ($1, $2, $3, $4)
            RETURNING id, email, role, password_hash, password_changed_at, disabled_at
            """,
            uuid.uuid4(),
            email,
            role,
            password_hash,
        )
    except asyncpg.UniqueViolationError:
        raise AccountExistsError() from None
    assert row is not None
    return _user(row)


async def _change_password(
    connection: Connection, user_id: uuid.UUID, new_hash: str, reason: str
) -> int:
    await connection.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        user_id,
        new_hash,
    )
    return await _end_sessions(connection, user_id, reason)


async def _end_sessions(connection: Connection, user_id: uuid.UUID, reason: str) -> int:
    ended = await connection.fetchval(
        """
        WITH ended AS (
            UPDATE sessions SET revoked_at = now(), revoked_reason = $2
            WHERE user_id = $1 AND revoked_at IS NULL RETURNING 1
        )
        SELECT count(*) FROM ended
        """,
        user_id,
        reason,
    )
    return cast(int, ended)


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        password_hash=row["password_hash"],
        password_changed_at=row["password_changed_at"],
        disabled=row["disabled_at"] is not None,
    )
