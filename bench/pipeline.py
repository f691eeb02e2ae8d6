"""Parts 1, 2 and 4 of ``make bench``: simulated devices through the whole pipeline,
with ``ecg simulate``'s engine (``client.simulation``), in binary chunks over one
WebSocket per device; and the messages the gateway publishes for them, for part 2's
raw-Kafka reference.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final
from uuid import uuid4

from bench.processes import CpuUse, cpu_snapshot, cpu_use
from bench.records import DATA
from client.devices import chunk_signal
from client.report import Report
from client.simulation import SimulationOptions, make_plan, simulate
from schemas.sample_chunks import encode_sample_chunk

TWELVE_LEAD: Final = DATA / "ptbdb" / "s0010_re"
HOLTER: Final = DATA / "mitdb" / "100"


@dataclass(frozen=True)
class Stack:
    gateway_url: str
    kafka_bootstrap: str
    namespace: str
    window_seconds: float
    email: str
    password: str


@dataclass(frozen=True)
class Run:
    report: Report
    seconds: float  # wall time of the whole simulation: log-in, streams, verification
    cpu: tuple[CpuUse, ...]


def twelve_lead_options(
    stack: Stack, devices: int, seconds: float, speed: float
) -> SimulationOptions:
    """``devices`` 12-lead 500 Hz devices (PTB s0010_re resampled) in 1-s binary chunks
    over WebSocket; the window latency only at real time (at full speed it measures
    the worker's backlog, not a window's way)."""
    return SimulationOptions(
        record=TWELVE_LEAD,
        email=stack.email,
        password=stack.password,
        gateway_url=stack.gateway_url,
        devices=devices,
        speed=speed,
        duration_seconds=seconds,
        sampling_rate=500.0,
        leads=12,
        transport="ws",
        chunk_format="binary",
        window_seconds=stack.window_seconds,
        kafka_bootstrap=stack.kafka_bootstrap if speed > 0 else None,
        namespace=stack.namespace,
        verify_seconds=180.0,
    )


def holter_options(stack: Stack, hours: float) -> SimulationOptions:
    """One 2-lead 360 Hz Holter (MIT-BIH 100 looped to ``hours``) in 60-s binary chunks
    over one WebSocket, as fast as acks allow."""
    return SimulationOptions(
        record=HOLTER,
        email=stack.email,
        password=stack.password,
        gateway_url=stack.gateway_url,
        devices=1,
        speed=0.0,
        duration_seconds=hours * 3600,
        chunk_seconds=60.0,
        transport="ws",
        chunk_format="binary",
        window_seconds=stack.window_seconds,
        kafka_bootstrap=None,
        namespace=stack.namespace,
        verify_seconds=300.0,
    )


async def run_devices(options: SimulationOptions, pids: Mapping[str, Sequence[int]]) -> Run:
    """The simulation, with the CPU time each process of the stack spent during it."""
    before = cpu_snapshot(pids)
    started = time.perf_counter()
    report = await simulate(options, sys.stderr)
    seconds = time.perf_counter() - started
    return Run(report, seconds, tuple(cpu_use(before, cpu_snapshot(pids), seconds)))


def published_chunks(options: SimulationOptions) -> list[bytes]:
    """The ``SampleChunk`` messages the gateway publishes for ``options``' devices,
    device ``i``'s chunks at ``i``, ``i + devices``, ...: the same bytes for aiokafka
    alone."""
    plan = make_plan(replace(options, speed=1.0))
    ids = [uuid4() for _ in range(plan.devices)]
    date = datetime.now(UTC)
    messages = []
    for seq, (start, stop) in enumerate(plan.bounds):
        samples = list(chunk_signal(plan.signals, start, stop))
        for ecg_id in ids:
            messages.append(
                encode_sample_chunk(
                    ecg_id,
                    seq,
                    start,
                    date=date,
                    sampling_rate=plan.sampling_rate,
                    leads=plan.leads,
                    samples=samples,
                )
            )
    return messages
