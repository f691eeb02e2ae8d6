"""``ecg simulate RECORD``: stream a WFDB record through the gateway as N devices at
real time or k times faster, and say what came of it.

    ecg simulate data/mitdb/100 --email E [--password-stdin] [--devices N]
        [--speed K|max] [--duration SECONDS] [--chunk-seconds S] [--window-seconds W]
        [--rate HZ] [--leads N]
        [--gateway URL] [--transport http|ws] [--format json|binary]
        [--bootstrap HOST:PORT] [--namespace PREFIX] [--json]

It logs in as the user E (the password from stdin's first line with
``--password-stdin``, else ``ECG_PASSWORD``, else asked for on a terminal; never an
argument), opens one stream per device and sends the record in chunks of
``--chunk-seconds`` on a real-time schedule (``--speed max``: each chunk as soon as the
previous one is acknowledged), each chunk a request (``--transport http``, the default)
or a frame on one WebSocket per device (``ws``), in JSON or in the binary chunk format
(``--format binary``: int16 samples, int32 when they do not fit). ``--duration`` longer
than the record loops it; by default the record is sent once. ``--rate`` resamples the
record and ``--leads`` keeps its first N leads: ``data/ptbdb/s0010_re --rate 500 --leads
12`` is a 12-lead 500 Hz device. Progress goes to stderr;
the closing report (samples/s, ack latency, chunk -> window-result latency, lookups
verified) to stdout, as JSON with ``--json``. Exit status 1 when a chunk was lost, a gap
was reported or a lookup does not show every sample and window. The gateway is
``--gateway``, by default ``ECG_GATEWAY_URL``; the window latency needs Kafka
(``--bootstrap``, by default ``ECG_KAFKA_BOOTSTRAP``), and is left out, with the reason,
without it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from client.api import StreamClientError
from client.report import render_report, report_dict
from client.settings import ClientSettings
from client.simulation import (
    CHUNK_FORMATS,
    TRANSPORTS,
    SimulationError,
    SimulationOptions,
    simulate,
)

DESCRIPTION = (
    "Stream a WFDB record through the gateway as N devices at real time or K times faster; "
    "report samples/s, ack and window latency, and whether every sample arrived (exit 1 if not)."
)


class UsageError(Exception):
    """Input the simulation cannot start with: reported in one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "record", type=Path, help="a WFDB record: its path without .hea, e.g. mitdb/100"
    )
    parser.add_argument("--email", required=True, help="the user who owns the streams")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin's first line (default: $ECG_PASSWORD)",
    )
    parser.add_argument(
        "--devices", type=positive(int), default=1, metavar="N", help="streams at once (default 1)"
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="K",
        help="1 = real time (default), K times faster, 0 or max = as fast as acks allow",
    )
    parser.add_argument(
        "--duration",
        type=positive(float),
        metavar="SECONDS",
        help="of record per device (default: the whole record; longer loops it)",
    )
    parser.add_argument(
        "--chunk-seconds", type=positive(float), default=1.0, metavar="S", help="default 1"
    )
    parser.add_argument(
        "--rate",
        type=positive(float),
        metavar="HZ",
        help="resample the record to HZ (default: its own rate)",
    )
    parser.add_argument(
        "--leads",
        type=positive(int),
        metavar="N",
        help="send only the record's first N leads (default: all)",
    )
    parser.add_argument(
        "--window-seconds",
        type=positive(float),
        metavar="W",
        help="the stream workers' ECG_WINDOW_SECONDS (default: $ECG_WINDOW_SECONDS or 10)",
    )
    parser.add_argument("--gateway", metavar="URL", help="default: $ECG_GATEWAY_URL or local")
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="http",
        help="a request per chunk (http, default) or one WebSocket per device (ws)",
    )
    parser.add_argument(
        "--format",
        dest="chunk_format",
        choices=CHUNK_FORMATS,
        default="json",
        help="of the chunks: json (default) or binary (int16, or int32 when needed)",
    )
    parser.add_argument(
        "--bootstrap", metavar="HOST:PORT", help="Kafka (default: $ECG_KAFKA_BOOTSTRAP)"
    )
    parser.add_argument(
        "--namespace", default="", metavar="PREFIX", help="the pipeline's ECG_TOPIC_NAMESPACE"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(
    args: argparse.Namespace,
    settings: ClientSettings,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``ecg simulate``: 0 when every stream arrived whole, 1 otherwise."""
    # aiokafka logs every failed connection attempt; the report says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        options = SimulationOptions(
            record=args.record,
            email=args.email,
            password=_password(args.password_stdin, args.email, stdin, settings.password),
            gateway_url=args.gateway or settings.gateway_url,
            devices=args.devices,
            speed=args.speed,
            duration_seconds=args.duration,
            chunk_seconds=args.chunk_seconds,
            sampling_rate=args.rate,
            leads=None if args.leads is None else int(args.leads),
            window_seconds=args.window_seconds or settings.window_seconds,
            transport=args.transport,
            chunk_format=args.chunk_format,
            kafka_bootstrap=args.bootstrap or settings.kafka_bootstrap,
            namespace=args.namespace,
        )
        report = asyncio.run(simulate(options, stderr))
    except (UsageError, SimulationError, StreamClientError) as exc:
        print(f"ecg simulate: {exc}", file=stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(report_dict(report), indent=2), file=stdout)
    else:
        print(render_report(report), file=stdout)
    return 0 if report.ok else 1


def _password(from_stdin: bool, email: str, stdin: TextIO, from_env: str | None) -> str:
    if from_stdin:
        password = stdin.readline().rstrip("\r\n")
    elif from_env:
        password = from_env
    elif stdin.isatty():
        password = getpass.getpass(f"Password of {email}: ")
    else:
        raise UsageError("give the password with --password-stdin or ECG_PASSWORD")
    if not password:
        raise UsageError("the password is empty")
    return password


def _speed(text: str) -> float:
    if text.strip().lower() == "max":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or max, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 (max) or above, got {text}")
    return value


def positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` above 0 (also for ``ecg tail``'s options)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    return parse
