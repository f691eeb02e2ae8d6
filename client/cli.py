"""``ecg``: the pipeline's console command.

    ecg create-admin --email E [--password-stdin | --password P]
    ecg tail [--topic windows|summaries|both|events|dlq] [--from-beginning] [--max-messages N]
             [--timeout SECONDS] [--ecg ID] [--bootstrap HOST:PORT] [--namespace PREFIX]
    ecg simulate RECORD --email E [--devices N] [--speed K|max] ...
    ecg import PATH... --email E [--leads NAME,...] [--sampling-rate HZ] [--gain G] ...

``ecg create-admin`` creates the admin account E, or resets an admin's password; the
gateway does it, as it owns the database (``client.admin``, ``gateway.admin``).

``ecg tail`` prints the events of the result topics (or, with ``--topic dlq``, the dead
letters: each message the worker could not process, with its reason), one JSON object per line
(``topic``, ``partition``, ``offset``, ``key``, ``value``), from now on or
``--from-beginning``, until ``--max-messages`` are printed, none was for
``--timeout`` seconds, or Ctrl-C. Kafka is ``--bootstrap``, by default
``ECG_KAFKA_BOOTSTRAP``; see ``client.tail``.

``ecg simulate`` streams a WFDB record through the gateway as N devices and reports
samples/s, latencies and whether every sample arrived; see ``client.simulate``.

``ecg import`` imports WFDB, EDF/EDF+ and CSV files, one ECG each, and prints each ECG's
id; an interrupted import resumes when run again; see ``client.importing.command``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from collections.abc import Sequence

from client import admin, simulate
from client.importing import command as importing
from client.settings import ClientSettings, SettingsError
from client.tail import TailError, TailOptions, tail
from schemas import topics

RESULT_TOPICS = {
    "windows": (topics.WINDOWS,),
    "summaries": (topics.SUMMARIES,),
    "both": (topics.WINDOWS, topics.SUMMARIES),
    # Rhythm events (AF, pauses, ...), also carried by the window results.
    "events": (topics.EVENTS,),
    # What the worker could not process, each with its reason and the original bytes.
    "dlq": (topics.DEAD_LETTERS,),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ecg", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    # Its options are the gateway's (gateway.admin): they pass through unparsed.
    commands.add_parser(
        "create-admin",
        help="create an admin, or reset an admin's password (needs the gateway package)",
        add_help=False,
    )
    _add_tail_arguments(commands.add_parser("tail", help="print the result events as JSON lines"))
    simulate.add_arguments(
        commands.add_parser(
            "simulate",
            help="stream a WFDB record through the gateway as N devices and time it",
            description=simulate.DESCRIPTION,
        )
    )
    importing.add_arguments(
        commands.add_parser(
            "import",
            help="import WFDB, EDF/EDF+ and CSV files, one ECG each; prints their ids",
            description=importing.DESCRIPTION,
        )
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "create-admin":
        return admin.hand_over(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = ClientSettings.from_env()
    except SettingsError as exc:
        print(f"ecg {args.command}: {exc}", file=sys.stderr)
        return 1
    if args.command == "tail":
        return _tail(args, settings)
    if args.command == "import":
        return importing.run(args, settings, sys.stdin, sys.stdout, sys.stderr)
    return simulate.run(args, settings, sys.stdin, sys.stdout, sys.stderr)


def _add_tail_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topic", choices=sorted(RESULT_TOPICS), default="both", help="default: both"
    )
    parser.add_argument(
        "--from-beginning", action="store_true", help="start at the oldest events, not at new ones"
    )
    parser.add_argument(
        "--max-messages", type=simulate.positive(int), metavar="N", help="stop after N events"
    )
    parser.add_argument(
        "--timeout",
        type=simulate.positive(float),
        metavar="SECONDS",
        help="stop after SECONDS without an event",
    )
    parser.add_argument("--ecg", type=uuid.UUID, metavar="ID", help="only this ECG's events")
    parser.add_argument(
        "--bootstrap", metavar="HOST:PORT", help="Kafka (default: $ECG_KAFKA_BOOTSTRAP)"
    )
    parser.add_argument(
        "--namespace",
        default="",
        metavar="PREFIX",
        help="the topic-name prefix of the pipeline to read (its ECG_TOPIC_NAMESPACE)",
    )


def _tail(args: argparse.Namespace, settings: ClientSettings) -> int:
    # aiokafka logs every failed connection attempt; the command reports the outcome once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        options = TailOptions(
            bootstrap=args.bootstrap or settings.require_kafka_bootstrap(),
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
