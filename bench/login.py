"""Time logins through the running gateway: successes, wrong passwords and unknown
emails (the last two must cost the same).

    make up && make bench-login

Each failure comes from an address of its own (``X-Forwarded-For``, trusted from
127.0.0.1), so that throttling stays out of the figures. Prints one table row per
kind: median, p95 and worst over ``--runs`` sequential logins.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable

import httpx

from bench.accounts import bench_user, new_credentials


async def time_logins(
    client: httpx.AsyncClient, runs: int, body: Callable[[int], dict[str, str]], status: int
) -> list[float]:
    timings = []
    for run in range(runs):
        headers = {"X-Forwarded-For": f"2001:db8:{run:x}:{os.getpid():x}::1"}
        started = time.perf_counter()
        response = await client.post("/api/v1/auth/login", json=body(run), headers=headers)
        timings.append(time.perf_counter() - started)
        if response.status_code != status:
            raise RuntimeError(f"login answered {response.status_code}: {response.text}")
    return timings


def row(kind: str, timings: list[float]) -> str:
    ms = sorted(t * 1000 for t in timings)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"| {kind} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} |"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--url", default=os.environ.get("ECG_GATEWAY_URL"))
    parser.add_argument("--database-url", default=os.environ.get("ECG_DATABASE_URL"))
    args = parser.parse_args()
    if not args.url or not args.database_url:
        parser.error("start the stack (make up) and set ECG_GATEWAY_URL and ECG_DATABASE_URL")
    async with httpx.AsyncClient(base_url=args.url, timeout=60) as client:
        email, password = await bench_user(client, args.database_url)
        kinds = {
            "success": (lambda _: {"email": email, "password": password}, 200),
            "wrong password": (lambda _: {"email": email, "password": "not-it-at-all"}, 401),
            "unknown email": (lambda _: {"email": new_credentials()[0], "password": "x"}, 401),
        }
        print("| login | runs | median (ms) | p95 (ms) | max (ms) |")
        print("|---|---|---|---|---|")
        for kind, (body, status) in kinds.items():
            print(row(kind, await time_logins(client, args.runs, body, status)))


if __name__ == "__main__":
    asyncio.run(main())
