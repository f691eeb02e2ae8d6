"""``ecg create-admin`` as an operator runs it: the installed console command (which
hands over to ``python -m gateway.admin``), with ECG_DATABASE_URL, against the real
PostgreSQL."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import pytest

from gateway.accounts.users import Users
from gateway.admin import CommandError, create_admin
from gateway.database import Database
from tests.integration.gateway.helpers import new_email

ECG = Path(sys.executable).parent / "ecg"


def run(
    database_url: str, *args: str, stdin: str = "", command: Sequence[str] = (str(ECG),)
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ECG_DATABASE_URL": database_url}
    return subprocess.run(
        [*command, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


def test_creates_then_resets_an_admin(database_url: str) -> None:
    email, first, second = new_email(), secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    created = run(database_url, "create-admin", "--email", email, "--password-stdin", stdin=first)
    assert created.returncode == 0, created.stderr
    assert f"created admin {email}" in created.stdout
    reset = run(
        database_url, "create-admin", "--email", email.upper(), "--password-stdin", stdin=second
    )
    assert reset.returncode == 0, reset.stderr
    assert "reset the password" in reset.stdout
    for output in (created, reset):
        assert first not in output.stdout + output.stderr
        assert second not in output.stdout + output.stderr


def test_the_gateways_module_is_the_same_command(database_url: str) -> None:
    email, password = new_email(), secrets.token_urlsafe(12)
    command = (sys.executable, "-m", "gateway.admin")
    created = run(
        database_url, "--email", email, "--password-stdin", stdin=password, command=command
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith(f"ecg create-admin: created admin {email}")


@pytest.mark.parametrize(
    ("args", "stdin", "problem"),
    [
        (["--email", "admin"], "a long passphrase", "--email"),
        (["--email", "x@example.org"], "password1", "common"),
        (["--email", "x@example.org"], "", "8 to 128"),
    ],
)
def test_refuses_bad_input(database_url: str, args: list[str], stdin: str, problem: str) -> None:
    result = run(database_url, "create-admin", *args, "--password-stdin", stdin=stdin)
    assert result.returncode == 1
    assert problem in result.stderr


def test_without_a_database_it_says_so(closed_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/ecg"
    result = run(
        url, "create-admin", "--email", new_email(), "--password-stdin", stdin="a long passphrase"
    )
    assert result.returncode == 1
    assert "ECG_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_reset_ends_the_admins_sessions_and_is_audited(database_url: str) -> None:
    email = new_email()
    admin, created = await create_admin(database_url, email, "first passphrase")
    assert created
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "INSERT INTO sessions (id, user_id, expires_at)"
            " VALUES ($1, $2, now() + interval '1 h')",
            admin.id,  # any uuid will do as a session id
            admin.id,
        )
        again, created = await create_admin(database_url, email, "second passphrase")
        assert (again.id, created) == (admin.id, False)
        reason = await connection.fetchval(
            "SELECT revoked_reason FROM sessions WHERE id = $1", admin.id
        )
        assert reason == "admin_reset"
        rows = await connection.fetch(
            "SELECT action, outcome, actor_id, detail::text FROM audit_log"
            " WHERE object_id = $1 ORDER BY id",
            str(admin.id),
        )
    finally:
        await connection.close()
    assert [(row["action"], row["outcome"]) for row in rows] == [
        ("auth.admin_created", "success"),
        ("auth.admin_password_reset", "success"),
    ]
    assert all("passphrase" not in row["detail"] for row in rows)


async def test_a_user_account_is_not_made_an_admin(database_url: str) -> None:
    database = Database(database_url)
    await database.open()
    try:
        user = await Users(database).create(new_email(), "hash", "user")
    finally:
        await database.close()
    with pytest.raises(CommandError, match="user account"):
        await create_admin(database_url, user.email, "a long passphrase")
