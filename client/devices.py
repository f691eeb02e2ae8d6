"""One simulated device of ``ecg simulate``: it sends its chunks on a schedule through a
``ChunkTransport`` and keeps a log of what happened.

Chunk ``seq`` goes at its absolute time (``send_time``: one chunk period apart, the
devices spread over the first period), then the device waits for the ack: a
``RetryLater`` answer (503, no answer) sends the same seq again after ``Retry-After``
or a short backoff, for at most ``RETRY_SECONDS``; a gap or any other refusal stops the
device, and so does that limit. After the last ack it ends its stream. A chunk's ack
latency runs from its first attempt to its ack, retries included.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import numpy as np
from numpy.typing import NDArray

from client.chunks import Chunk
from client.outcomes import Acked, ChunkTransport, Gap, Outcome, RetryLater
from client.report import chunk_bounds, retry_delay, send_time

RETRY_SECONDS: Final = 120.0  # a chunk still refused after this stops its device


class DeviceStoppedError(Exception):
    """A device stopped: its stream cannot be complete."""


RECENT_CHUNKS: Final = 64  # chunks a plan keeps for the devices that send them next


@dataclass(frozen=True, eq=False)
class Plan:
    """What every device sends: the samples (leads x samples, ADC zero removed)
    and how they are cut and timed. The devices share its recent ``Chunk``s: at real
    time they all send chunk ``seq`` within one period, at full speed within a few."""

    name: str
    leads: tuple[str, ...]
    sampling_rate: float
    signals: NDArray[np.int32]
    total_samples: int
    chunk_samples: int
    period: float  # seconds between a device's chunks; 0 at full speed
    devices: int

    _recent: dict[int, Chunk] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def bounds(self) -> list[tuple[int, int]]:
        return chunk_bounds(self.total_samples, self.chunk_samples)

    def chunk(self, seq: int) -> Chunk:
        """Chunk ``seq``, the same object for every device while it is recent."""
        chunk = self._recent.get(seq)
        if chunk is None:
            start, stop = self.bounds[seq]
            chunk = Chunk(seq, chunk_signal(self.signals, start, stop))
            self._recent[seq] = chunk
            if len(self._recent) > RECENT_CHUNKS:
                del self._recent[next(iter(self._recent))]  # the oldest made
        return chunk


def chunk_signal(signals: NDArray[np.int32], start: int, stop: int) -> NDArray[np.int32]:
    """Samples ``[start, stop)`` of every lead (leads by samples), wrapping around the
    end of the record when the run is longer than it. A numpy block, not lists: a binary
    frame packs it without a Python object per sample (a JSON body calls ``tolist``)."""
    if stop <= signals.shape[1]:
        return signals[:, start:stop]
    return signals.take(np.arange(start, stop), axis=1, mode="wrap")


@dataclass
class DeviceLog:
    """What one device did; the progress line reads it while it runs."""

    index: int
    ecg_id: str = ""
    chunks: int = 0
    samples: int = 0  # per lead, acknowledged
    retries: int = 0
    gaps: int = 0
    late: int = 0
    max_lag: float = 0.0
    ack_latencies: list[float] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)  # by seq
    end_time: float | None = None
    failure: str | None = None
    verified: bool = False


async def run_device(transport: ChunkTransport, plan: Plan, log: DeviceLog, start: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        for seq, (first, stop) in enumerate(plan.bounds):
            due = send_time(start, plan.period, seq, log.index, plan.devices)
            await asyncio.sleep(max(0.0, due - loop.time()))
            sent = loop.time()
            lag = sent - due
            log.max_lag = max(log.max_lag, lag)
            if plan.period > 0 and lag > plan.period:
                log.late += 1
            await _deliver(functools.partial(transport.send, plan.chunk(seq)), log)
            acked = loop.time()
            log.ack_latencies.append(acked - sent)
            log.ack_times.append(acked)
            log.chunks += 1
            log.samples += stop - first
        await _deliver(transport.end, log)
        log.end_time = loop.time()
    except DeviceStoppedError as exc:
        log.failure = f"device {log.index} (ECG {log.ecg_id}): {exc}"


async def _deliver(send: Callable[[], Awaitable[Outcome]], log: DeviceLog) -> None:
    """Send until acknowledged; retries count in ``log``."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    attempt = 0
    while True:
        outcome = await send()
        if isinstance(outcome, Acked):
            return
        if isinstance(outcome, Gap):
            log.gaps += 1
            raise DeviceStoppedError(
                f"the gateway reports a gap: it expects seq {outcome.expected_seq} "
                f"(chunk {len(log.ack_times)} was sent)"
            )
        if not isinstance(outcome, RetryLater):
            raise DeviceStoppedError(f"refused: {outcome.reason}")
        attempt += 1
        log.retries += 1
        if loop.time() - began > RETRY_SECONDS:
            raise DeviceStoppedError(f"gave up after {attempt} attempts: {outcome.reason}")
        await asyncio.sleep(retry_delay(attempt, outcome.seconds))
