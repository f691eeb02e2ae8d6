"""Sessions and refresh-token rotation through ``Sessions``, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import asyncpg
import pytest

from gateway.accounts.sessions import Sessions, digest
from gateway.accounts.users import User, Users
from gateway.database import Database
from gateway.settings import Settings
from gateway.tokens import IssuedToken, Tokens
from tests.integration.gateway.helpers import new_email


@pytest.fixture
def sessions(database: Database) -> Sessions:
    return Sessions(database)


@pytest.fixture
def tokens(settings: Settings) -> Tokens:
    return Tokens(settings)


@pytest.fixture
async def user(database: Database) -> User:
    return await Users(database).create(new_email(), "hash", "user")


async def start(
    sessions: Sessions, tokens: Tokens, user: User, lifetime: float = 3600
) -> IssuedToken:
    ends = time.time() + lifetime
    refresh = tokens.issue("refresh", user.id, uuid.uuid4(), not_after=ends)
    await sessions.start(refresh, ends)
    return refresh


def issuer(tokens: Tokens, refresh: IssuedToken) -> Callable[[float], IssuedToken]:
    claims = refresh.claims
    return lambda ends: tokens.issue("refresh", claims.user_id, claims.session_id, not_after=ends)


async def test_only_the_hash_is_stored(
    sessions: Sessions, tokens: Tokens, user: User, connection: asyncpg.Connection
) -> None:
    refresh = await start(sessions, tokens, user)
    row = await connection.fetchrow(
        "SELECT * FROM refresh_tokens WHERE jti = $1", refresh.claims.token_id
    )
    assert row is not None
    assert row["token_hash"] == digest(refresh.token)
    assert refresh.token not in str(dict(row))


async def test_rotation_spends_the_token(sessions: Sessions, tokens: Tokens, user: User) -> None:
    first = await start(sessions, tokens, user)
    rotation = await sessions.rotate(first.claims, first.token, issuer(tokens, first))
    assert rotation.outcome == "rotated"
    assert rotation.role == "user"
    assert rotation.token is not None
    assert rotation.token.claims.session_id == first.claims.session_id
    second = rotation.token
    again = await sessions.rotate(second.claims, second.token, issuer(tokens, second))
    assert again.outcome == "rotated"


async def test_reuse_ends_the_family_including_its_newest_token(
    sessions: Sessions, tokens: Tokens, user: User
) -> None:
    first = await start(sessions, tokens, user)
    newest = (await sessions.rotate(first.claims, first.token, issuer(tokens, first))).token
    assert newest is not None
    reuse = await sessions.rotate(first.claims, first.token, issuer(tokens, first))
    assert reuse.outcome == "reused"
    dead = await sessions.rotate(newest.claims, newest.token, issuer(tokens, newest))
    assert dead.outcome == "ended"
    access = tokens.issue(
        "access", user.id, first.claims.session_id, not_after=time.time() + 60, role="user"
    )
    assert await sessions.check_access(access.claims) is None


async def test_racing_refreshes_give_one_rotation_and_one_reuse(
    sessions: Sessions, tokens: Tokens, user: User
) -> None:
    first = await start(sessions, tokens, user)
    outcomes = await asyncio.gather(
        *(sessions.rotate(first.claims, first.token, issuer(tokens, first)) for _ in range(2))
    )
    assert sorted(rotation.outcome for rotation in outcomes) == ["reused", "rotated"]
    winner = next(rotation.token for rotation in outcomes if rotation.token is not None)
    loser = await sessions.rotate(winner.claims, winner.token, issuer(tokens, winner))
    assert loser.outcome == "ended"  # the family died with the reuse


async def test_a_token_of_another_family_or_a_forged_one_is_dead(
    sessions: Sessions, tokens: Tokens, user: User
) -> None:
    first = await start(sessions, tokens, user)
    unknown = tokens.issue("refresh", user.id, uuid.uuid4(), not_after=time.time() + 60)
    assert (
        await sessions.rotate(unknown.claims, unknown.token, issuer(tokens, unknown))
    ).outcome == "ended"
    # The right jti with other text (the stored hash differs): not a reuse, just dead.
    assert (
        await sessions.rotate(first.claims, first.token + "x", issuer(tokens, first))
    ).outcome == "ended"
    assert (
        await sessions.rotate(first.claims, first.token, issuer(tokens, first))
    ).outcome == "rotated"


async def test_no_refresh_outlives_the_session(
    sessions: Sessions, tokens: Tokens, user: User, connection: asyncpg.Connection
) -> None:
    first = await start(sessions, tokens, user, lifetime=120)  # shorter than a refresh token
    assert first.claims.expires_at - first.claims.issued_at <= 120
    rotated = (await sessions.rotate(first.claims, first.token, issuer(tokens, first))).token
    assert rotated is not None
    assert rotated.claims.expires_at <= first.claims.issued_at + 121
    await connection.execute(
        "UPDATE sessions SET expires_at = now() - interval '1 s' WHERE id = $1",
        first.claims.session_id,
    )
    assert (
        await sessions.rotate(rotated.claims, rotated.token, issuer(tokens, rotated))
    ).outcome == "ended"


async def test_logout_ends_access_and_refresh(
    sessions: Sessions, tokens: Tokens, user: User
) -> None:
    refresh = await start(sessions, tokens, user)
    access = tokens.issue(
        "access", user.id, refresh.claims.session_id, not_after=time.time() + 60, role="user"
    )
    assert await sessions.check_access(access.claims) == "user"
    assert await sessions.end(access.claims)
    assert not await sessions.end(access.claims)  # once
    assert await sessions.check_access(access.claims) is None
    assert (
        await sessions.rotate(refresh.claims, refresh.token, issuer(tokens, refresh))
    ).outcome == "ended"


async def test_access_dies_with_a_password_change_in_a_later_second(
    sessions: Sessions, tokens: Tokens, user: User, connection: asyncpg.Connection
) -> None:
    refresh = await start(sessions, tokens, user)
    access = tokens.issue(
        "access", user.id, refresh.claims.session_id, not_after=time.time() + 60, role="user"
    )
    # Even if the session were left alive (it is not: see Users.change_password).
    await connection.execute(
        "UPDATE users SET password_changed_at = to_timestamp($2) WHERE id = $1",
        user.id,
        access.claims.issued_at + 0.5,
    )
    assert await sessions.check_access(access.claims) == "user"
    await connection.execute(
        "UPDATE users SET password_changed_at = to_timestamp($2) WHERE id = $1",
        user.id,
        access.claims.issued_at + 1,
    )
    assert await sessions.check_access(access.claims) is None


async def test_another_users_session_id_is_not_theirs(
    sessions: Sessions, tokens: Tokens, user: User, database: Database
) -> None:
    refresh = await start(sessions, tokens, user)
    other = await Users(database).create(new_email(), "hash", "user")
    forged = tokens.issue(
        "access", other.id, refresh.claims.session_id, not_after=time.time() + 60, role="user"
    )
    assert await sessions.check_access(forged.claims) is None
    assert not await sessions.end(forged.claims)
