"""``ecg``: the project's console command.

    ecg create-admin --email E [--password-stdin | --password P]
    ecg tail [--topic windows|summaries|both] [--from-beginning] [--max-messages N]
             [--timeout SECONDS] [--ecg ID] [--bootstrap HOST:PORT] [--namespace PREFIX]

creates the admin account E, or, when E is an admin already, sets its password and
ends its sessions. The password follows the policy of ``gateway.credentials``.
Without ``--password-stdin`` or ``--password`` it is asked for twice when stdin is a
terminal. ``--password`` puts it in the process list and the shell history: prefer
stdin. The database is ``ECG_DATABASE_URL`` (see ``gateway.settings``); the command
writes an ``auth.admin_created`` or ``auth.admin_password_reset`` audit row.
There is no default admin and no default password.

``ecg tail`` prints the events of the result topics, one JSON object per line
(``topic``, ``partition``, ``offset``, ``key``, ``value``), from now on or
``--from-beginning``, until ``--max-messages`` are printed, none was for
``--timeout`` seconds, or Ctrl-C. Kafka is ``--bootstrap``, by default
``ECG_KAFKA_BOOTSTRAP``; see ``gateway.tail``.

``ecg simulate RECORD --email E [--devices N] [--speed K|max] ...`` streams a WFDB
record through the gateway as N devices and reports samples/s, latencies and whether
every sample arrived; see ``gateway.simulate``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
import uuid
from collections.abc import Sequence
from typing import TextIO

import asyncpg

from gateway import simulate
from gateway.accounts.credentials import email_problem, password_problem
from gateway.accounts.passwords import Passwords
from gateway.accounts.users import User, Users
from gateway.audit import AuditEvent, AuditLog
from gateway.database import Database
from gateway.errors import AccountExistsError, ServiceUnavailableError
from gateway.settings import SettingsError, database_url_from_env, kafka_bootstrap_from_env
from gateway.tail import TailError, TailOptions, tail
from schemas import topics

RESULT_TOPICS = {
    "windows": (topics.WINDOWS,),
    "summaries": (topics.SUMMARIES,),
    "both": (topics.WINDOWS, topics.SUMMARIES),
}


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
                detail={"via": "ecg create-admin", "email": user.email, "os_user": _os_user()},
            )
        )
    finally:
        await database.close()
    return user, created


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecg", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser(
        "create-admin", help="create an admin, or reset an admin's password"
    )
    create.add_argument("--email", required=True)
    given = create.add_mutually_exclusive_group()
    given.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    given.add_argument("--password", help="the password (visible to other local users)")
    follow = commands.add_parser("tail", help="print the result events as JSON lines")
    follow.add_argument(
        "--topic", choices=sorted(RESULT_TOPICS), default="both", help="default: both"
    )
    follow.add_argument(
        "--from-beginning", action="store_true", help="start at the oldest events, not at new ones"
    )
    follow.add_argument(
        "--max-messages", type=simulate.positive(int), metavar="N", help="stop after N events"
    )
    follow.add_argument(
        "--timeout",
        type=simulate.positive(float),
        metavar="SECONDS",
        help="stop after SECONDS without an event",
    )
    follow.add_argument("--ecg", type=uuid.UUID, metavar="ID", help="only this ECG's events")
    follow.add_argument(
        "--bootstrap", metavar="HOST:PORT", help="Kafka (default: $ECG_KAFKA_BOOTSTRAP)"
    )
    follow.add_argument(
        "--namespace",
        default="",
        metavar="PREFIX",
        help="the topic-name prefix of the pipeline to read (its ECG_TOPIC_NAMESPACE)",
    )
    simulate.add_arguments(
        commands.add_parser(
            "simulate",
            help="stream a WFDB record through the gateway as N devices and time it",
            description=simulate.DESCRIPTION,
        )
    )
    args = parser.parse_args(argv)
    if args.command == "tail":
        return _tail(args)
    if args.command == "simulate":
        return simulate.run(args, sys.stdin, sys.stdout, sys.stderr)
    return _create_admin(args)


def _create_admin(args: argparse.Namespace) -> int:
    try:
        password = args.password or _read_password(args.password_stdin, sys.stdin)
        user, created = asyncio.run(create_admin(database_url_from_env(), args.email, password))
    except (CommandError, SettingsError) as exc:
        print(f"ecg create-admin: {exc}", file=sys.stderr)
        return 1
    except ServiceUnavailableError as exc:
        print(f"ecg create-admin: {exc} (ECG_DATABASE_URL)", file=sys.stderr)
        return 1
    except asyncpg.PostgresError as exc:  # e.g. the migrations have not run
        print(f"ecg create-admin: the database refused: {exc}", file=sys.stderr)
        return 1
    if created:
        print(f"ecg create-admin: created admin {user.email} (id {user.id})")
    else:
        print(f"ecg create-admin: reset the password of admin {user.email} and ended its sessions")
    return 0


def _tail(args: argparse.Namespace) -> int:
    # aiokafka logs every failed connection attempt; the command reports the outcome once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        options = TailOptions(
            bootstrap=args.bootstrap or kafka_bootstrap_from_env(),
            topics=tuple(args.namespace + name for name in RESULT_TOPICS[args.topic]),
            from_beginning=args.from_beginning,
            max_messages=args.max_messages,
            idle_seconds=args.timeout,
            key=None if args.ecg is None else str(args.ecg).encode(),
        )
        asyncio.run(tail(options, sys.stdout, sys.stderr))
    except (TailError, SettingsError) as exc:
        print(f"ecg tail: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
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
