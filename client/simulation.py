"""``ecg simulate``'s engine: N devices stream a WFDB record through the gateway at real
time (or k times faster), then every ECG is checked for loss.

- The record is read once (``client.wfdb``), taken to ``sampling_rate`` and its first
  ``leads`` when asked (``client.resampling``), its ADC zero taken off as a device
  does; a duration longer than the record loops it. Every device sends the same samples.
- It logs in, starts the ``WindowWatch`` when Kafka is at hand, opens every stream,
  and only then starts the clock: each device (``client.devices``) sends on
  its schedule, retries, and ends its stream, by HTTP requests (``http``) or over one
  WebSocket per device (``ws``, opened at its first chunk), with JSON or binary chunks.
- A window's latency counts from the ack of the chunk that brought its last sample (the
  stream's last window: from the end's ack) to its arrival on the windows topic. It
  includes the beat detector's look-ahead, which waits for samples past the window.
- Then each lookup must say ``done`` within ``verify_seconds``, with every lead's
  ``number_of_samples`` equal to the samples sent and ``ceil(samples / window)`` windows.
  A fresh login first: the run may outlast the first access token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TextIO

import numpy as np

from client.api import HttpChunks, StreamClient, new_http_client
from client.devices import DeviceLog, Plan, run_device
from client.report import (
    ACK_PERCENTILES,
    WINDOW_PERCENTILES,
    Progress,
    Report,
    expected_windows,
    latency_ms,
    lookup_problem,
    progress_line,
    window_latencies,
)
from client.websocket import SocketChunks, dial_stream
from client.wfdb import read_record
from client.window_watch import WatchError, WindowWatch
from schemas import topics

TRANSPORTS: Final = ("http", "ws")
CHUNK_FORMATS: Final = ("json", "binary")
SPARE_CONNECTIONS: Final = 4  # beside one per device: the lookups of the verification
WINDOW_DRAIN_SECONDS: Final = 5.0  # for the last windows to reach the watch after "done"
POLL_SECONDS: Final = 0.5


class SimulationError(Exception):
    """The simulation could not start: reported in one line."""


@dataclass(frozen=True)
class SimulationOptions:
    record: Path  # without extension: ``record``.hea and its .dat
    email: str
    password: str = field(repr=False)
    gateway_url: str = "http://127.0.0.1:8000"
    devices: int = 1
    speed: float = 1.0  # 1: real time; 0: as fast as the acks allow
    duration_seconds: float | None = None  # None: the whole record once
    chunk_seconds: float = 1.0
    sampling_rate: float | None = None  # None: the record's own
    leads: int | None = None  # the record's first leads; None: all of them
    window_seconds: float = 10.0  # the stream workers' ECG_WINDOW_SECONDS
    transport: str = "http"
    chunk_format: str = "json"
    kafka_bootstrap: str | None = None  # None: no window latency
    namespace: str = ""  # the pipeline's ECG_TOPIC_NAMESPACE
    verify_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise SimulationError(f"--devices must be at least 1, got {self.devices}")
        if not self.speed >= 0:
            raise SimulationError(f"--speed must be 0 (max) or above, got {self.speed}")
        if self.duration_seconds is not None and not self.duration_seconds > 0:
            raise SimulationError(f"--duration must be above 0, got {self.duration_seconds}")
        if not self.chunk_seconds > 0:
            raise SimulationError(f"--chunk-seconds must be above 0, got {self.chunk_seconds}")
        if self.sampling_rate is not None and not self.sampling_rate > 0:
            raise SimulationError(f"--rate must be above 0, got {self.sampling_rate}")
        if self.leads is not None and self.leads < 1:
            raise SimulationError(f"--leads must be at least 1, got {self.leads}")
        if self.transport not in TRANSPORTS:
            raise SimulationError(f"--transport must be one of {', '.join(TRANSPORTS)}")
        if self.chunk_format not in CHUNK_FORMATS:
            raise SimulationError(f"--format must be one of {', '.join(CHUNK_FORMATS)}")


def make_plan(options: SimulationOptions) -> Plan:
    try:
        record = read_record(options.record)
    except (OSError, ValueError, IndexError) as exc:
        raise SimulationError(f"cannot read the WFDB record {options.record}: {exc}") from None
    # Imported here: scipy takes ~1.7 s to load, and every ``ecg`` command (admin, tail,
    # import) imports this module for ``ecg simulate``'s arguments.
    from client.resampling import resample_record

    try:
        record = resample_record(record, options.sampling_rate, options.leads)
    except ValueError as exc:
        raise SimulationError(f"{options.record}: {exc}") from None
    rate = record.sampling_rate
    length = record.signals.shape[1]
    if options.duration_seconds is None:
        total = length
    else:
        total = max(1, round(options.duration_seconds * rate))
    chunk = max(1, round(options.chunk_seconds * rate))
    baselines = np.asarray(record.baselines, dtype=np.int32)[:, None]
    return Plan(
        name=options.record.name,
        leads=tuple(record.lead_names),
        sampling_rate=rate,
        signals=record.signals - baselines,
        total_samples=total,
        chunk_samples=chunk,
        period=0.0 if options.speed == 0 else chunk / rate / options.speed,
        devices=options.devices,
    )


async def simulate(options: SimulationOptions, progress: TextIO | None = None) -> Report:
    """Run the simulation; progress lines go to ``progress`` (stderr in the command)."""
    plan = make_plan(options)
    loop = asyncio.get_running_loop()
    async with new_http_client(options.gateway_url, options.devices + SPARE_CONNECTIONS) as http:
        client = StreamClient(http)
        await client.log_in(options.email, options.password)
        watch, note = await _start_watch(options)
        try:
            logs = [DeviceLog(index) for index in range(plan.devices)]
            transports = await _open_streams(options, client, plan, logs, watch)
            start = loop.time() + POLL_SECONDS  # every device waits for its first time
            reporter = asyncio.create_task(_show_progress(progress, plan, logs, start))
            try:
                await asyncio.gather(
                    *(
                        _run_device(t, plan, log, start)
                        for t, log in zip(transports, logs, strict=True)
                    )
                )
            finally:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
            finished = max((log.end_time or loop.time() for log in logs), default=loop.time())
            await client.log_in(options.email, options.password)  # the first token may be old
            await _verify(client, plan, logs, options.window_seconds, options.verify_seconds)
            if watch is not None:
                await _drain(watch, plan, logs, options.window_seconds)
                note = watch.error or note
        finally:
            if watch is not None:
                await watch.stop()
    return _report(options, plan, logs, finished - start, watch, note)


async def _start_watch(options: SimulationOptions) -> tuple[WindowWatch | None, str | None]:
    """A running watch of the windows topic, or None and why not."""
    if not options.kafka_bootstrap:
        return None, "no Kafka bootstrap given (--bootstrap or ECG_KAFKA_BOOTSTRAP)"
    watch = WindowWatch(options.kafka_bootstrap, options.namespace + topics.WINDOWS)
    try:
        await watch.start()
    except WatchError as exc:
        return None, str(exc)
    return watch, None


async def _open_streams(
    options: SimulationOptions,
    client: StreamClient,
    plan: Plan,
    logs: Sequence[DeviceLog],
    watch: WindowWatch | None,
) -> list[HttpChunks | SocketChunks]:
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    opened = await asyncio.gather(
        *(client.open_stream(date, plan.sampling_rate, list(plan.leads)) for _ in logs)
    )
    for log, (ecg_id, _) in zip(logs, opened, strict=True):
        log.ecg_id = ecg_id
        if watch is not None:
            watch.watch(ecg_id)
    binary = options.chunk_format == "binary"
    if options.transport == "ws":
        return [
            SocketChunks(dial_stream(options.gateway_url, ecg_id, token), binary=binary)
            for ecg_id, token in opened
        ]
    return [client.chunks(ecg_id, token, binary=binary) for ecg_id, token in opened]


async def _run_device(
    transport: HttpChunks | SocketChunks, plan: Plan, log: DeviceLog, start: float
) -> None:
    """One device, its connection closed once it is done (a WebSocket left open when the
    device stopped early)."""
    try:
        await run_device(transport, plan, log, start)
    finally:
        await transport.close()


async def _show_progress(
    out: TextIO | None, plan: Plan, logs: Sequence[DeviceLog], start: float
) -> None:
    """A line rewritten in place on a terminal, else one line every 10 s."""
    if out is None:
        return
    terminal = out.isatty()
    loop = asyncio.get_running_loop()
    total = len(plan.bounds) * len(logs)
    expected = None if plan.period == 0 else len(plan.bounds) * plan.period
    width = 0
    try:
        while True:
            await asyncio.sleep(0.5 if terminal else 10.0)
            line = progress_line(
                Progress(
                    elapsed=max(0.0, loop.time() - start),
                    expected_seconds=expected,
                    chunks_acked=sum(log.chunks for log in logs),
                    chunks_total=total,
                    samples_acked=sum(log.samples for log in logs) * len(plan.leads),
                    retries=sum(log.retries for log in logs),
                    gaps=sum(log.gaps for log in logs),
                    failed_devices=sum(log.failure is not None for log in logs),
                )
            )
            if terminal:
                out.write(f"\r{line:<{width}}")
                width = len(line)
            else:
                out.write(f"ecg simulate: {line}\n")
            out.flush()
    finally:
        if terminal and width:
            out.write("\n")
            out.flush()


async def _verify(
    client: StreamClient,
    plan: Plan,
    logs: Sequence[DeviceLog],
    window_seconds: float,
    wait_seconds: float,
) -> None:
    """Mark each complete device's ECG verified, or record why it is not.

    One lookup at a time, the ECGs in turn: while one is still being processed, none
    after it is asked about, so that waiting for the pipeline costs a lookup per
    ``POLL_SECONDS``, not one per device (for a thousand devices, two thousand
    requests a second to the gateway and the database for as long as the stream
    workers are behind). Every device's stream ends at about the same time: once the
    first ECG is done, the others are too, or nearly."""
    window = max(1, round(window_seconds * plan.sampling_rate))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    for log in logs:
        if log.failure is not None:
            continue
        lookup = await client.lookup(log.ecg_id)
        while lookup["status"] in ("receiving", "processing") and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            lookup = await client.lookup(log.ecg_id)
        problem = lookup_problem(lookup, plan.total_samples, window)
        log.verified = problem is None
        if problem is not None:
            log.failure = f"device {log.index} (ECG {log.ecg_id}): {problem}"


async def _drain(
    watch: WindowWatch, plan: Plan, logs: Sequence[DeviceLog], window_seconds: float
) -> None:
    """Wait (a bounded while) until the watch has every window of the verified ECGs."""
    window = max(1, round(window_seconds * plan.sampling_rate))
    wanted = sum(log.verified for log in logs) * expected_windows(plan.total_samples, window)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WINDOW_DRAIN_SECONDS):
            await watch.wait_until_seen(wanted)


def _report(
    options: SimulationOptions,
    plan: Plan,
    logs: Sequence[DeviceLog],
    seconds: float,
    watch: WindowWatch | None,
    note: str | None,
) -> Report:
    samples = sum(log.samples for log in logs) * len(plan.leads)  # acknowledged
    window_seconds: list[float] = []
    if watch is not None:
        for log in logs:
            arrivals = watch.arrivals.get(log.ecg_id.encode(), {})
            if log.end_time is not None:
                window_seconds += window_latencies(
                    [(a.end_sample, a.time) for a in arrivals.values()],
                    log.ack_times,
                    log.end_time,
                    plan.total_samples,
                    plan.chunk_samples,
                )
    return Report(
        transport=options.transport,
        chunk_format=options.chunk_format,
        record=plan.name,
        leads=plan.leads,
        sampling_rate=plan.sampling_rate,
        devices=plan.devices,
        speed=options.speed,
        chunk_samples=plan.chunk_samples,
        seconds=round(seconds, 3),
        samples_per_lead=plan.total_samples,
        samples_total=samples,
        samples_per_second=round(samples / seconds, 1) if seconds > 0 else 0.0,
        chunks=sum(log.chunks for log in logs),
        retries=sum(log.retries for log in logs),
        gaps=sum(log.gaps for log in logs),
        late_chunks=None if plan.period == 0 else sum(log.late for log in logs),
        max_lag_ms=None if plan.period == 0 else round(max(log.max_lag for log in logs) * 1000, 1),
        ack_latency_ms=latency_ms([x for log in logs for x in log.ack_latencies], ACK_PERCENTILES),
        window_latency_ms=latency_ms(window_seconds, WINDOW_PERCENTILES),
        windows_seen=len(window_seconds),
        window_note=note,
        verified=sum(log.verified for log in logs),
        failures=tuple(log.failure for log in logs if log.failure is not None),
    )
