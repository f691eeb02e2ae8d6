"""Sessions (one per login) and their refresh tokens, in PostgreSQL.

A refresh token is stored as the SHA-256 of its text under its ``jti``, and works
once. ``rotate`` marks it used with one conditional ``UPDATE … WHERE rotated_at IS
NULL``: of two refreshes racing with the same token, one wins and the other finds it
used. Presenting a used token means that two parties hold it, one of them a thief,
and we cannot tell which: the whole session ends, the newest token too.

``check_access`` is what every ECG request pays on top of the signature: one
primary-key lookup of the session joined to its user (~0.2 ms on the loopback
database), so that logout, password changes and an administrator disabling the
account end access tokens at once, not when they expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gateway.database import Connection, Database
from gateway.tokens import Claims, IssuedToken, Role

Outcome = Literal["rotated", "reused", "ended"]


@dataclass(frozen=True)
class Rotation:
    outcome: Outcome
    # "rotated": the new refresh token, and the role and session end for the access
    # token that goes with it.
    token: IssuedToken | None = None
    role: Role | None = None
    session_ends: float = 0.0


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Sessions:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def start(self, refresh: IssuedToken, expires_at: float) -> None:
        claims = refresh.claims
        async with self._database.transaction() as connection:
            await connection.execute(
                "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)",
                claims.session_id,
                claims.user_id,
                timestamp(expires_at),
            )
            await self._store(connection, refresh)

    async def rotate(
        self, claims: Claims, token: str, issue: Callable[[float], IssuedToken]
    ) -> Rotation:
        """Spend ``token``; on success store ``issue(session_expires_at)`` in its place."""
        async with self._database.transaction() as connection:
            row = await connection.fetchrow(
                """
                UPDATE refresh_tokens r SET rotated_at = now()
                FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE r.jti = $1 AND r.token_hash = $2 AND r.session_id = $3
                  AND s.id = r.session_id AND s.user_id = $4
                  AND r.rotated_at IS NULL AND r.expires_at > now()
                  AND s.revoked_at IS NULL AND s.expires_at > now()
                  AND u.disabled_at IS NULL
                RETURNING u.role, s.expires_at
                """,
                claims.token_id,
                digest(token),
                claims.session_id,
                claims.user_id,
            )
            if row is not None:
                ends = row["expires_at"].timestamp()
                new = issue(ends)
                await self._store(connection, new)
                return Rotation("rotated", new, row["role"], ends)
            used = await connection.fetchval(
                """
                SELECT r.rotated_at IS NOT NULL FROM refresh_tokens r
                WHERE r.jti = $1 AND r.token_hash = $2 AND r.session_id = $3
                """,
                claims.token_id,
                digest(token),
                claims.session_id,
            )
            if not used:
                return Rotation("ended")
            await connection.execute(
                """
                UPDATE sessions SET revoked_at = now(), revoked_reason = 'refresh_reuse'
                WHERE id = $1 AND revoked_at IS NULL
                """,
                claims.session_id,
            )
            return Rotation("reused")

    async def end(self, claims: Claims) -> bool:
        """Logout: end the token's session; False if it had ended already."""
        async with self._database.connection() as connection:
            ended = await connection.fetchval(
                """
                UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout'
                WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING true
                """,
                claims.session_id,
                claims.user_id,
            )
        return bool(ended)

    async def check_access(self, claims: Claims) -> Role | None:
        """The user's current role if the access token's session lives, else None.

        ``iat`` has whole seconds: a token is dead if the password changed in a later
        second than the one it was issued in; one from the same second belongs to a
        session that the change ended, unless it came from a login after the change."""
        async with self._database.connection() as connection:
            role: Role | None = await connection.fetchval(
                """
                SELECT u.role FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.id = $1 AND s.user_id = $2
                  AND s.revoked_at IS NULL AND s.expires_at > now()
                  AND u.password_changed_at < to_timestamp($3 + 1)
                  AND u.disabled_at IS NULL
                """,
                claims.session_id,
                claims.user_id,
                claims.issued_at,
            )
        return role

    @staticmethod
    async def _store(connection: Connection, token: IssuedToken) -> None:
        await connection.execute(
            """
            INSERT INTO refresh_tokens (jti, session_id, token_hash, expires_at)
            VALUES ($1, $2, $3, $4)
            """,
            token.claims.token_id,
            token.claims.session_id,
            digest(token.token),
            timestamp(token.claims.expires_at),
        )
