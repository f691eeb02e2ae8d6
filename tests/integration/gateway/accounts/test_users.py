"""The users table through ``Users``, against the real PostgreSQL."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from gateway.accounts.users import Users
from gateway.database import Database
from gateway.errors import AccountExistsError
from tests.integration.gateway.helpers import new_email


@pytest.fixture
def users(database: Database) -> Users:
    return Users(database)


async def test_create_and_find_ignoring_letter_case(users: Users) -> None:
    email = "Grace." + new_email()
    created = await users.create(email, "hash", "user")
    assert (created.email, created.role) == (email, "user")
    assert await users.find(email.upper()) == created
    assert await users.find(email.lower()) == created
    assert await users.get(created.id) == created
    assert await users.find("nobody-" + email) is None
    assert await users.get(uuid.uuid4()) is None


@pytest.mark.parametrize("variant", [str.upper, str.lower, str.title])
async def test_an_email_is_taken_in_every_letter_case(users: Users, variant: object) -> None:
    email = "Mixed." + new_email()
    await users.create(email, "hash", "user")
    assert callable(variant)
    with pytest.raises(AccountExistsError):
        await users.create(variant(email), "hash", "admin")


async def test_roles_are_admin_or_user(users: Users) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await users.create(new_email(), "hash", "root")  # type: ignore[arg-type]


async def test_a_password_change_ends_every_session(
    users: Users, connection: asyncpg.Connection
) -> None:
    user = await users.create(new_email(), "old", "user")
    for _ in range(3):
        await connection.execute(
            "INSERT INTO sessions (id, user_id, expires_at)"
            " VALUES ($1, $2, now() + interval '1 h')",
            uuid.uuid4(),
            user.id,
        )
    assert await users.change_password(user.id, "new") == 3
    changed = await users.get(user.id)
    assert changed is not None
    assert changed.password_hash == "new"
    assert changed.password_changed_at > user.password_changed_at
    reasons = await connection.fetch(
        "SELECT revoked_reason FROM sessions WHERE user_id = $1 AND revoked_at IS NOT NULL",
        user.id,
    )
    assert [row["revoked_reason"] for row in reasons] == ["password_change"] * 3


async def test_upgrading_a_hash_keeps_sessions_and_loses_to_a_change(users: Users) -> None:
    user = await users.create(new_email(), "outdated", "user")
    await users.upgrade_hash(user.id, "outdated", "upgraded")
    upgraded = await users.get(user.id)
    assert upgraded is not None
    assert upgraded.password_hash == "upgraded"
    assert upgraded.password_changed_at == user.password_changed_at
    await users.change_password(user.id, "changed")
    await users.upgrade_hash(user.id, "upgraded", "late upgrade")  # raced with the change
    assert (await users.get(user.id)).password_hash == "changed"  # type: ignore[union-attr]


async def test_ensure_admin_creates_then_resets(users: Users) -> None:
    email = new_email()
    admin, created = await users.ensure_admin(email, "first")
    assert created
    assert admin.role == "admin"
    again, created = await users.ensure_admin(email.upper(), "second")
    assert not created
    assert again.id == admin.id
    assert (await users.get(admin.id)).password_hash == "second"  # type: ignore[union-attr]


async def test_ensure_admin_leaves_a_user_account_alone(users: Users) -> None:
    user = await users.create(new_email(), "hash", "user")
    with pytest.raises(AccountExistsError):
        await users.ensure_admin(user.email, "other")
    assert await users.get(user.id) == user
