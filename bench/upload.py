"""Upload a WFDB record through the running gateway and time it: the request until
its 202 (Kafka acknowledged every chunk), and the upload until the lookup says done.

    make up && .venv/bin/python -m bench.upload --runs 5 [RECORD ...]

It uploads as a throwaway user (see ``bench.accounts``), so it needs ECG_DATABASE_URL
too: ``make bench-upload`` sets both from ``.run/env``.

Prints one table row per record: median and worst of each figure over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import httpx
import numpy as np

from bench.accounts import bench_user, log_in
from bench.records import DATA
from client.wfdb import read_record

DEFAULT_RECORD = DATA / "mitdb" / "100"


def upload_body(record_path: Path) -> bytes:
    record = read_record(record_path)
    signals = record.signals - np.array(record.baselines)[:, None]
    body = {
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": record.sampling_rate,
        "leads": [
            {"name": name, "signal": signal.tolist(), "gain": gain}
            for name, signal, gain in zip(record.lead_names, signals, record.gains, strict=True)
        ],
    }
    return json.dumps(body).encode()


async def time_one(client: httpx.AsyncClient, body: bytes) -> tuple[float, float]:
    started = time.perf_counter()
    response = await client.post(
        "/api/v1/ecg/", content=body, headers={"content-type": "application/json"}
    )
    response.raise_for_status()
    accepted = time.perf_counter() - started
    ecg_id = response.json()["id"]
    while True:
        status = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()["status"]
        if status != "processing":
            break
        await asyncio.sleep(0.02)
    if status != "done":
        raise RuntimeError(f"ECG {ecg_id} ended {status}")
    return accepted, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("records", nargs="*", type=Path, default=[DEFAULT_RECORD])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default=os.environ.get("ECG_GATEWAY_URL"))
    parser.add_argument("--database-url", default=os.environ.get("ECG_DATABASE_URL"))
    args = parser.parse_args()
    if not args.url or not args.database_url:
        parser.error("start the stack (make up) and set ECG_GATEWAY_URL and ECG_DATABASE_URL")
    print("| record | samples | body MB | runs | 202 median / max (s) | done median / max (s) |")
    print("|---|---|---|---|---|---|")
    async with httpx.AsyncClient(base_url=args.url, timeout=300) as client:
        client.headers.update(await log_in(client, *await bench_user(client, args.database_url)))
        for path in args.records:
            body = upload_body(path)
            record = read_record(path)
            timings = [await time_one(client, body) for _ in range(args.runs)]
            accepted = [a for a, _ in timings]
            done = [d for _, d in timings]
            print(
                f"| {path.name} | {record.signals.size:,} | {len(body) / 1e6:.1f} | {args.runs} "
                f"| {statistics.median(accepted):.2f} / {max(accepted):.2f} "
                f"| {statistics.median(done):.2f} / {max(done):.2f} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
