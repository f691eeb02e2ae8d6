"""Stream a WFDB record through the running stack as N devices at real time, with
``ecg simulate``'s function, as a throwaway user (see ``bench.accounts``).

    make up && make bench-stream [DEVICES=50] [SECONDS=120] [TRANSPORT=http|ws]

``make bench-stream`` reads the stack's ECG_* variables from ``.run/env``: the gateway,
the database (for the throwaway admin) and Kafka (for the window latency). Prints the
simulator's report; exits 1 if any sample, chunk or window went missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from bench.accounts import bench_user
from bench.records import DATA
from client.report import render_report, report_dict
from client.simulation import CHUNK_FORMATS, TRANSPORTS, SimulationOptions, simulate

DEFAULT_RECORD = DATA / "mitdb" / "100"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("record", nargs="?", type=Path, default=DEFAULT_RECORD)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0, help="of record per device")
    parser.add_argument("--speed", type=float, default=1.0, help="1: real time; 0: max")
    parser.add_argument("--transport", choices=TRANSPORTS, default="http")
    parser.add_argument("--format", dest="chunk_format", choices=CHUNK_FORMATS, default="json")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("ECG_GATEWAY_URL")
    database_url = os.environ.get("ECG_DATABASE_URL")
    if not url or not database_url:
        parser.error("start the stack (make up) and set ECG_GATEWAY_URL and ECG_DATABASE_URL")
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        email, password = await bench_user(client, database_url)
    options = SimulationOptions(
        record=args.record,
        email=email,
        password=password,
        gateway_url=url,
        devices=args.devices,
        speed=args.speed,
        duration_seconds=args.seconds,
        transport=args.transport,
        chunk_format=args.chunk_format,
        window_seconds=float(os.environ.get("ECG_WINDOW_SECONDS") or 10.0),
        kafka_bootstrap=os.environ.get("ECG_KAFKA_BOOTSTRAP"),
        namespace=os.environ.get("ECG_TOPIC_NAMESPACE", ""),
    )
    report = await simulate(options, sys.stderr)
    print(json.dumps(report_dict(report), indent=2) if args.json else render_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
