"""A simulated device against a scripted transport: it retries the same seq until the
ack, stops on a gap or a refusal, and ends its stream after the last chunk."""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np
import pytest

from client.chunks import Chunk
from client.devices import RECENT_CHUNKS, DeviceLog, Plan, run_device
from client.outcomes import Acked, Gap, Outcome, Refused, RetryLater
from schemas.binary_chunks import encode_binary_chunk


class ScriptedTransport:
    """Answers each call with the next scripted outcome (then acks), and records it."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.script = deque(outcomes)
        self.calls: list[tuple[str, int, list[list[int]]]] = []

    async def send(self, chunk: Chunk) -> Outcome:
        self.calls.append(("chunk", chunk.seq, chunk.signal.tolist()))
        return self.script.popleft() if self.script else Acked()

    async def end(self) -> Outcome:
        self.calls.append(("end", -1, []))
        return self.script.popleft() if self.script else Acked()


def plan(period: float = 0.0) -> Plan:
    return Plan(
        name="test",
        leads=("I", "II"),
        sampling_rate=100.0,
        signals=np.arange(20, dtype=np.int32).reshape(2, 10),
        total_samples=25,  # the record twice and a half
        chunk_samples=10,
        period=period,
        devices=1,
    )


async def test_a_device_sends_every_chunk_once_in_order_then_ends() -> None:
    transport = ScriptedTransport()
    log = DeviceLog(0, ecg_id="e")
    await run_device(transport, plan(), log, start=0.0)
    assert [(kind, seq) for kind, seq, _ in transport.calls] == [
        ("chunk", 0),
        ("chunk", 1),
        ("chunk", 2),
        ("end", -1),
    ]
    assert transport.calls[2][2] == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]  # wrapped round
    assert (log.chunks, log.samples, log.retries, log.failure) == (3, 25, 0, None)
    assert len(log.ack_latencies) == len(log.ack_times) == 3
    assert log.end_time is not None


async def test_an_unavailable_gateway_gets_the_same_seq_again() -> None:
    transport = ScriptedTransport(Acked(), RetryLater("503", 0.0), RetryLater("no answer", 0.0))
    log = DeviceLog(0, ecg_id="e")
    await run_device(transport, plan(), log, start=0.0)
    assert [seq for kind, seq, _ in transport.calls if kind == "chunk"] == [0, 1, 1, 1, 2]
    assert (log.chunks, log.retries, log.failure) == (3, 2, None)


@pytest.mark.parametrize(
    ("outcome", "problem"),
    [(Gap(0), "expects seq 0"), (Refused("422 signal: too long"), "refused: 422 signal")],
)
async def test_a_gap_or_a_refusal_stops_the_device(outcome: Outcome, problem: str) -> None:
    transport = ScriptedTransport(Acked(), outcome)
    log = DeviceLog(2, ecg_id="e")
    await run_device(transport, plan(), log, start=0.0)
    assert log.failure is not None
    assert log.failure.startswith("device 2 (ECG e): ")
    assert problem in log.failure
    assert log.gaps == isinstance(outcome, Gap)
    assert ("end", -1, []) not in transport.calls
    assert log.end_time is None


async def test_chunks_sent_on_time_are_not_late_and_a_lagging_device_counts_them() -> None:
    now = asyncio.get_running_loop().time()
    on_time = DeviceLog(0, ecg_id="e")
    await run_device(ScriptedTransport(), plan(period=0.02), on_time, start=now + 0.01)
    assert on_time.late == 0
    assert on_time.max_lag < 0.02
    behind = DeviceLog(0, ecg_id="e")
    await run_device(ScriptedTransport(), plan(period=0.02), behind, start=now - 1.0)
    assert behind.late == 3  # every chunk was due more than one period ago


def test_the_devices_share_a_chunk_and_its_binary_body() -> None:
    shared = plan()
    first = shared.chunk(2)
    assert shared.chunk(2) is first
    assert first.signal.tolist() == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]
    assert first.binary == encode_binary_chunk(2, first.signal)


def test_a_plan_keeps_only_its_recent_chunks() -> None:
    long = Plan("test", ("I",), 100.0, np.arange(10, dtype=np.int32)[None], 10_000, 1, 0.0, 1)
    first = long.chunk(0)
    for seq in range(1, RECENT_CHUNKS):
        long.chunk(seq)
    assert long.chunk(0) is first
    long.chunk(RECENT_CHUNKS)
    again = long.chunk(0)
    assert again is not first
    assert again.binary == first.binary
