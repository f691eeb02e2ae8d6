"""The account service (``Accounts``) with every store on the real PostgreSQL."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import asyncpg
import pytest
from argon2 import Parameters, Type, extract_parameters

from gateway.accounts.passwords import ARGON2, Passwords
from gateway.accounts.service import Accounts
from gateway.accounts.throttle import PAIR
from gateway.accounts.users import User, Users
from gateway.authentication import Principal
from gateway.database import Database
from gateway.errors import (
    InvalidCredentialsError,
    InvalidInputError,
    InvalidTokenError,
    RevokedTokenError,
    TooManyAttemptsError,
)
from gateway.settings import Settings
from gateway.tokens import Tokens
from tests.integration.gateway.helpers import new_email, random_address, services

WEAK = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
)


@pytest.fixture
def accounts(settings: Settings, database: Database) -> Accounts:
    return services(settings, database)


async def new_user(database: Database, password: str, parameters: Parameters = ARGON2) -> User:
    stored = Passwords(1, parameters).hash_now(password)
    return await Users(database).create("Case." + new_email(), stored, "user")


async def audit_rows(connection: asyncpg.Connection, **where: Any) -> list[asyncpg.Record]:
    (column, value), *_ = where.items()
    return await connection.fetch(f"SELECT * FROM audit_log WHERE {column} = $1 ORDER BY id", value)  # noqa: S608


async def test_login_gives_a_pair_of_working_tokens(
    accounts: Accounts, database: Database, settings: Settings, connection: asyncpg.Connection
) -> None:
    user = await new_user(database, "a long passphrase")
    pair = await accounts.login(user.email.lower(), "a long passphrase", "192.0.2.10")
    tokens = Tokens(settings)
    access = tokens.verify(pair.access.token, "access")
    assert (access.user_id, access.role) == (user.id, "user")
    assert tokens.verify(pair.refresh.token, "refresh").session_id == access.session_id
    assert pair.body()["expires_in"] == settings.access_token_seconds
    [row] = await audit_rows(connection, actor_id=user.id)
    assert (row["action"], row["outcome"], row["object_id"]) == (
        "auth.login",
        "success",
        str(access.session_id),
    )
    assert row["actor_email"] == user.email
    assert str(row["client_address"]) == "192.0.2.10"


async def test_unknown_email_and_wrong_password_fail_alike(
    accounts: Accounts, database: Database, connection: asyncpg.Connection
) -> None:
    user = await new_user(database, "a long passphrase")
    unknown = new_email()
    errors = []
    for email in [user.email, unknown]:
        with pytest.raises(InvalidCredentialsError) as raised:
            await accounts.login(email, "not the passphrase", random_address())
        errors.append(raised.value)
    assert str(errors[0]) == str(errors[1])
    [wrong] = await audit_rows(connection, actor_id=user.id)
    [nobody] = await audit_rows(connection, actor_email=unknown)
    assert (wrong["outcome"], wrong["detail"]) == ("failure", '{"reason": "wrong_password"}')
    assert (nobody["outcome"], nobody["actor_id"]) == ("failure", None)
    assert nobody["detail"] == '{"reason": "unknown_email"}'


async def test_a_password_in_the_email_field_is_not_recorded(
    accounts: Accounts, connection: asyncpg.Connection
) -> None:
    typed = f"my secret {uuid.uuid4().hex}"
    with pytest.raises(InvalidCredentialsError):
        await accounts.login(typed, "whatever", random_address())
    found = await connection.fetchval(
        "SELECT count(*) FROM audit_log WHERE audit_log::text LIKE $1", f"%{typed[-32:]}%"
    )
    assert found == 0


async def test_unknown_email_costs_as_much_as_a_wrong_password(
    accounts: Accounts, database: Database
) -> None:
    user = await new_user(database, "a long passphrase")

    async def duration(email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(InvalidCredentialsError):
            await accounts.login(email, "not it", random_address())
        return time.perf_counter() - started

    # The two kinds alternate, so a busy machine slows both alike; 9 failures stay
    # below the account's throttle.
    unknown, known = [], []
    for _ in range(9):
        unknown.append(await duration(new_email()))
        known.append(await duration(user.email))
    ratio = sorted(unknown)[4] / sorted(known)[4]
    assert 0.6 < ratio < 1.6, ratio


async def test_an_outdated_hash_is_upgraded_at_login(
    accounts: Accounts, database: Database, connection: asyncpg.Connection
) -> None:
    user = await new_user(database, "a long passphrase", WEAK)
    await accounts.login(user.email, "a long passphrase", random_address())
    upgraded = await Users(database).get(user.id)
    assert upgraded is not None
    assert extract_parameters(upgraded.password_hash) == ARGON2
    assert upgraded.password_changed_at == user.password_changed_at
    [row] = await audit_rows(connection, actor_id=user.id)
    assert row["detail"] == '{"rehashed": true}'
    await accounts.login(user.email, "a long passphrase", random_address())


async def test_repeated_failures_are_throttled_and_recorded(
    accounts: Accounts, database: Database, connection: asyncpg.Connection
) -> None:
    user = await new_user(database, "a long passphrase")
    address = random_address()
    for _ in range(PAIR.threshold):
        with pytest.raises(InvalidCredentialsError):
            await accounts.login(user.email, "wrong", address)
    with pytest.raises(TooManyAttemptsError):
        await accounts.login(user.email, "a long passphrase", address)  # even the right one
    outcomes = [row["outcome"] for row in await audit_rows(connection, actor_id=user.id)]
    assert outcomes == ["failure"] * 5 + ["throttled"]
    # Meanwhile the right password works from elsewhere.
    await accounts.login(user.email, "a long passphrase", random_address())


async def test_refresh_rotates_and_reuse_ends_the_session(
    accounts: Accounts, database: Database, settings: Settings, connection: asyncpg.Connection
) -> None:
    user = await new_user(database, "a long passphrase")
    tokens = Tokens(settings)
    first = await accounts.login(user.email, "a long passphrase", random_address())
    claims = tokens.verify(first.refresh.token, "refresh")
    second = await accounts.refresh(claims, first.refresh.token, None)
    assert second.refresh.token != first.refresh.token
    with pytest.raises(InvalidTokenError, match="used before"):
        await accounts.refresh(claims, first.refresh.token, None)
    newest = tokens.verify(second.refresh.token, "refresh")
    with pytest.raises(RevokedTokenError):
        await accounts.refresh(newest, second.refresh.token, None)
    actions = [
        (row["action"], row["outcome"]) for row in await audit_rows(connection, actor_id=user.id)
    ]
    assert actions == [
        ("auth.login", "success"),
        ("auth.refresh", "success"),
        ("auth.refresh_reuse", "session_revoked"),
        ("auth.refresh", "revoked"),
    ]


async def test_a_password_change_checks_the_old_one_and_the_policy(
    accounts: Accounts, database: Database, settings: Settings
) -> None:
    user = await new_user(database, "a long passphrase")
    pair = await accounts.login(user.email, "a long passphrase", random_address())
    principal = Principal(user.id, "user", Tokens(settings).verify(pair.access.token, "access"))
    new = secrets.token_urlsafe(12)
    with pytest.raises(InvalidInputError, match="current_password: is wrong"):
        await accounts.change_password(principal, "not it", new, None)
    with pytest.raises(InvalidInputError, match="new_password"):
        await accounts.change_password(principal, "a long passphrase", "password123", None)
    await accounts.change_password(principal, "a long passphrase", new, None)
    with pytest.raises(InvalidCredentialsError):
        await accounts.login(user.email, "a long passphrase", random_address())
    await accounts.login(user.email, new, random_address())
