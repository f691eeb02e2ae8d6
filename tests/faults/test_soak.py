"""The soak: ``SOAK_DEVICES`` devices stream at real time for ``ECG_SOAK_SECONDS`` (600)
through the stack, and the resident memory of the gateway and the worker, sampled
every ``SAMPLE_SECONDS``, stays flat: each stream's state is bounded, so the second
half of the run may not need more memory than the first (``GROWTH`` of slack for the
allocator and the garbage collector). Every device's ECG must be done with every
sample and every window (``ecg simulate``'s own check)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from client.simulation import SimulationOptions, simulate
from tests.e2e.conftest import Account
from tests.faults.stack import FaultStack

SOAK_SECONDS = float(os.environ.get("ECG_SOAK_SECONDS", "600"))
SOAK_DEVICES = 100
SAMPLE_SECONDS = 10.0
GROWTH = 1.15  # the second half's peak over the first half's, at most


def resident_mib(pids: list[int]) -> float:
    """The resident memory of ``pids`` and their children (uvicorn's, the JVM's), MiB."""
    total = 0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            total += sum(p.memory_info().rss for p in [process, *process.children(True)])
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


@pytest.mark.timeout(int(SOAK_SECONDS) + 600)
async def test_a_long_run_keeps_memory_flat_and_every_sample(
    stack: FaultStack,
    gateway_url: str,
    account: Account,
    data_dir: Path,
    figures: dict[str, Any],
) -> None:
    pids = {
        "gateway": [stack.service("gateway").pid],
        "worker": [worker.pid for worker in stack.workers],
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
    began = time.monotonic()

    async def sample() -> None:
        while True:
            for name, group in pids.items():
                samples[name].append((time.monotonic() - began, resident_mib(group)))
            await asyncio.sleep(SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    try:
        report = await simulate(
            SimulationOptions(
                record=data_dir / "mitdb" / "100",
                email=account.email,
                password=account.password,
                gateway_url=gateway_url,
                devices=SOAK_DEVICES,
                speed=1.0,
                duration_seconds=SOAK_SECONDS,
                verify_seconds=300.0,
            )
        )
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)

    figures.update(case="soak", run=1, ecgs=report.devices, seconds=round(report.seconds))
    half = SOAK_SECONDS / 2
    for name, series in samples.items():
        first = max(mib for at, mib in series if at <= half)
        second = max(mib for at, mib in series if at > half)
        figures[f"{name}_rss_mib"] = [round(series[0][1]), round(first), round(second)]
    print(f"\nsoak: {figures}")
    assert report.ok, report.failures
    assert report.verified == SOAK_DEVICES
    for name in samples:
        _, first, second = figures[f"{name}_rss_mib"]
        assert second <= first * GROWTH, f"{name}: {first} MiB, then {second} MiB"
