"""``ecg create-admin``, the gateway's side: the database is the gateway's.

    python -m gateway.admin --email E [--password-stdin | --password P]

creates the admin account E, or, when E is an admin already, sets its password and
ends its sessions. The password follows the policy of ``gateway.accounts.credentials``.
Without ``--password-stdin`` or ``--password`` it is asked for twice when stdin is a
terminal. ``--password`` puts it in the process list and the shell history: prefer
stdin. The database is ``ECG_DATABASE_URL`` (see ``gateway.settings``); the command
writes an ``auth.admin_created`` or ``auth.admin_password_reset`` audit row.
There is no default admin and no default password.

The client's ``ecg create-admin`` runs this module with the same arguments
(``client.admin``), so both spell the command ``ecg create-admin``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

import asyncpg

from gateway.accounts.credentials import email_problem, password_problem
from gateway.accounts.passwords import Passwords
from gateway.accounts.users import User, Users
from gateway.audit import AuditEvent, AuditLog
from gateway.database import Database
from gateway.errors import AccountExistsError, ServiceUnavailableError
from gateway.settings import SettingsError, database_url_from_env

PROG = "ecg create-admin"


class CommandError(Exception):
    """A problem to report in one line and exit 1."""


async def create_admin(database_url: str, email: str, password: str) -> tuple[User, bool]:
    """Create the admin ``email`` or reset its password; True if it was created."""
    if problem := email_problem(email):
        raise CommandError(f"--email {problem}")
    if problem := password_problem(password, email):
        raise CommandError(f"the password {problem}")
    password_hash = await Passwords(concurrency=1).hash(password)
    database = Database(database_url, pool_size=1)
    await database.open()
    try:
        try:
            user, created = await Users(database).ensure_admin(email, password_hash)
        except AccountExistsError:
            raise CommandError(
                f"{email} has a user account; it is not turned into an admin"
            ) from None
        await AuditLog(database).record(
            AuditEvent(
                action="auth.admin_created" if created else "auth.admin_password_reset",
                outcome="success",
                object_id=str(user.id),
                detail={"via": PROG, "email": user.email, "os_user": _os_user()},
            )
        )
    finally:
        await database.close()
    return user, created


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Create an admin, or reset an admin's password."
    )
    parser.add_argument("--email", required=True)
    given = parser.add_mutually_exclusive_group()
    given.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    given.add_argument("--password", help="the password (visible to other local users)")
    args = parser.parse_args(argv)
    try:
        password = args.password or _read_password(args.password_stdin, sys.stdin)
        user, created = asyncio.run(create_admin(database_url_from_env(), args.email, password))
    except (CommandError, SettingsError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except ServiceUnavailableError as exc:
        print(f"{PROG}: {exc} (ECG_DATABASE_URL)", file=sys.stderr)
        return 1
    except asyncpg.PostgresError as exc:  # e.g. the migrations have not run
        print(f"{PROG}: the database refused: {exc}", file=sys.stderr)
        return 1
    if created:
        print(f"{PROG}: created admin {user.email} (id {user.id})")
    else:
        print(f"{PROG}: reset the password of admin {user.email} and ended its sessions")
    return 0


def _read_password(from_stdin: bool, stdin: TextIO) -> str:
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        raise CommandError("give the password with --password-stdin (stdin is not a terminal)")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise CommandError("the two passwords differ")
    return password


def _os_user() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
