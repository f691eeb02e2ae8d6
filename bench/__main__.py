"""``make bench``: the pipeline beside its references, in one run, in one table.

    make bench [BENCH_DEVICES=100]      # or, against a running stack (make up):
    . .run/env && .venv/bin/python -m bench [--devices N] [--run-dir .run]

``make bench`` starts its own stack (``python -m infra run``, the defaults of
``make up``) and stops it after; every part is bounded in time and count, on loopback:

1. ``--devices`` 12-lead 500 Hz devices (PTB s0010_re resampled) at real time for
   ``--seconds``, in 1-s binary chunks over WebSocket: samples/s with every lookup
   verified, ack and chunk -> window latency, and the CPU of each process.
2. The same devices as fast as acks allow for ``--fast-seconds`` of record, beside
   aiokafka alone producing (acks=all, idempotent, zstd) and consuming the same
   messages with the same concurrency on the same broker.
3. The analysis core on one core, one-shot and in 1-s chunks with the state bytes,
   beside NeuroKit2 ``ecg_peaks`` (``bench.core``).
4. A ``--holter-hours`` Holter (MIT-BIH 100 looped) over one WebSocket in 60-s chunks
   as fast as acks allow: start -> lookup ``done``, beside the core alone; then the
   same Holter analysed again from the samples PostgreSQL keeps (``bench.reanalysis``).
5. The worker's RSS and the state bytes per stream with ``--streams`` streams open.

Prints one markdown table and the machine; exits 1 when anything went missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

from bench.accounts import bench_user
from bench.core import CoreFigures, holter_seconds, run_on_one_core, twelve_lead
from bench.machine import Machine, commit, load, render_machine
from bench.open_streams import measure_open_streams
from bench.pipeline import (
    Stack,
    holter_options,
    published_chunks,
    run_devices,
    twelve_lead_options,
)
from bench.processes import StackError, stack_pids
from bench.raw_kafka import produce_and_consume
from bench.reanalysis import time_reanalysis
from bench.report import (
    core_lines,
    e2e_lines,
    fast_lines,
    holter_lines,
    memory_lines,
    missing_line,
    reanalysis_lines,
)
from bench.table import Line, render_table

T = TypeVar("T")
NEEDED = ("ECG_GATEWAY_URL", "ECG_DATABASE_URL", "ECG_KAFKA_BOOTSTRAP")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100, help="parts 1 and 2 (default 100)")
    parser.add_argument("--seconds", type=float, default=120.0, help="part 1 (default 120)")
    parser.add_argument("--fast-seconds", type=float, default=30.0, help="part 2 (default 30)")
    parser.add_argument("--core-minutes", type=float, default=30.0, help="part 3 (default 30)")
    parser.add_argument("--holter-hours", type=float, default=24.0, help="part 4 (default 24)")
    parser.add_argument("--streams", type=int, default=1000, help="part 5 (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="part 3: best of (default 3)")
    parser.add_argument("--run-dir", type=Path, help="the stack's (default $ECG_RUN_DIR or .run)")
    return parser.parse_args()


def main() -> int:
    args = parse()
    env = os.environ
    if not all(env.get(name) for name in NEEDED):
        sys.exit("python -m bench: no stack; run make bench, or make up and . .run/env")
    run_dir = args.run_dir or Path(env.get("ECG_RUN_DIR") or ".run")
    try:
        pids = stack_pids(run_dir)
    except StackError as exc:
        sys.exit(f"python -m bench: {exc}")
    load_before, started = load(), time.perf_counter()
    say(f"part 3: the analysis core on one core ({args.core_minutes:g} min of 12 leads)")
    core = run_on_one_core(twelve_lead, args.core_minutes, args.runs)
    say(f"part 4's reference: the core alone on the {args.holter_hours:g}-h Holter")
    holter_core = run_on_one_core(holter_seconds, args.holter_hours)
    lines, ok = asyncio.run(through_the_stack(args, env, pids, core, holter_core))
    machine = Machine(len(os.sched_getaffinity(0)), load_before, load(), commit())
    print(render_table(lines))
    print()
    print(render_machine(machine, time.perf_counter() - started))
    return 0 if ok else 1


async def through_the_stack(
    args: argparse.Namespace,
    env: Mapping[str, str],
    pids: dict[str, tuple[int, ...]],
    core: CoreFigures,
    holter_core: float,
) -> tuple[list[Line], bool]:
    url = env["ECG_GATEWAY_URL"]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        email, password = await bench_user(client, env["ECG_DATABASE_URL"])
    stack = Stack(
        gateway_url=url,
        kafka_bootstrap=env["ECG_KAFKA_BOOTSTRAP"],
        namespace=env.get("ECG_TOPIC_NAMESPACE", ""),
        window_seconds=float(env.get("ECG_WINDOW_SECONDS") or 10.0),
        email=email,
        password=password,
    )
    lines: list[Line] = []
    ok = True

    say(f"part 1: {args.devices} devices at real time for {args.seconds:g} s")
    real_time = twelve_lead_options(stack, args.devices, args.seconds, 1.0)
    run = await bounded(run_devices(real_time, pids), args.seconds + 300)
    lines += e2e_lines(run, args.devices) if run else [missing_line("1. e2e")]
    ok &= run is not None and run.report.ok

    say(f"part 2: the same devices as fast as acks allow, {args.fast_seconds:g} s of record")
    fast = twelve_lead_options(stack, args.devices, args.fast_seconds, 0.0)
    fast_run = await bounded(run_devices(fast, pids), 300)
    say("part 2's reference: aiokafka alone with the same messages")
    partitions = int(env.get("ECG_TOPIC_PARTITIONS") or 4)
    raw = await bounded(
        produce_and_consume(
            stack.kafka_bootstrap, published_chunks(fast), args.devices, partitions
        ),
        150,
    )
    per_message = (fast.leads or 0) * round((fast.sampling_rate or 0) * fast.chunk_seconds)
    lines += fast_lines(fast_run, raw, per_message)
    ok &= fast_run is not None and fast_run.report.ok and raw is not None

    lines += core_lines(core)

    say(f"part 4: a {args.holter_hours:g}-h Holter in 60-s chunks over one WebSocket")
    holter = await bounded(run_devices(holter_options(stack, args.holter_hours), pids), 600)
    lines += holter_lines(holter, holter_core, args.holter_hours)
    ok &= holter is not None and holter.report.ok
    say("part 4, again: the Holter re-analysed from the samples PostgreSQL keeps")
    reanalysis = await bounded(
        time_reanalysis(url, env["ECG_DATABASE_URL"], stack.email, stack.password), 600
    )
    lines += reanalysis_lines(reanalysis, holter_core, args.holter_hours)
    ok &= reanalysis is not None and reanalysis.status == "done"

    say(f"part 5: {args.streams} streams open, 3 chunks each")
    memory = await bounded(
        measure_open_streams(
            stack,
            pids["worker"],
            env.get("ECG_STREAMS_APP_ID") or "ecg-pipeline",
            args.streams,
            chunks=3,
            wait_seconds=120,
        ),
        240,
    )
    lines += memory_lines(memory)
    ok &= memory is not None and memory.states_seen == memory.streams
    return lines, ok


async def bounded(action: Awaitable[T], seconds: float) -> T | None:
    """The outcome of ``action``, or None (said on stderr) when it takes longer."""
    try:
        async with asyncio.timeout(seconds):
            return await action
    except TimeoutError:
        say(f"gave up after {seconds:g} s")
        return None


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
