"""Part 5 of ``make bench``: the worker's memory with many streams open. It opens
``count`` 12-lead 500 Hz streams, sends each a few 1-s binary chunks over HTTP and
leaves them open; then reads the worker's resident set size (before and after) and
the state the worker keeps for each stream: the last value of each stream's key on
the state table's changelog topic (``<app id>-ecg-stream-state-changelog``), the
bytes the worker checkpoints and restores (it keeps the state live in memory and
writes it about once a window, here once ``ECG_STREAMS_CHECKPOINT_SECONDS`` passed).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer

from bench.pipeline import Stack, twelve_lead_options
from bench.processes import rss_bytes
from client.api import StreamClient, new_http_client
from client.devices import Plan
from client.outcomes import Acked, RetryLater
from client.simulation import make_plan
from streams.chunks import StreamState

CONCURRENCY = 50
STATE_TABLE = "ecg-stream-state"


@dataclass(frozen=True)
class MemoryFigures:
    streams: int
    chunks: int  # per stream
    rss_before: int  # bytes
    rss_after: int
    state_bytes_mean: float  # per stream
    state_bytes_max: int
    states_seen: int


def changelog_topic(app_id: str) -> str:
    """Faust's name for a table's changelog: ``<app id>-<table>-changelog``."""
    return f"{app_id}-{STATE_TABLE}-changelog"


async def measure_open_streams(
    stack: Stack,
    worker_pids: Sequence[int],
    app_id: str,
    count: int,
    chunks: int,
    wait_seconds: float,
) -> MemoryFigures:
    plan = make_plan(twelve_lead_options(stack, 1, float(chunks), 1.0))
    rss_before = rss_bytes(worker_pids)
    async with new_http_client(stack.gateway_url, CONCURRENCY + 4) as http:
        client = StreamClient(http)
        await client.log_in(stack.email, stack.password)
        limit = asyncio.Semaphore(CONCURRENCY)
        ids = await asyncio.gather(*(_one_stream(client, plan, limit) for _ in range(count)))
    sizes = await _state_sizes(
        stack.kafka_bootstrap, changelog_topic(app_id), ids, chunks, wait_seconds
    )
    return MemoryFigures(
        streams=count,
        chunks=chunks,
        rss_before=rss_before,
        rss_after=rss_bytes(worker_pids),
        state_bytes_mean=statistics.fmean(sizes.values()) if sizes else 0.0,
        state_bytes_max=max(sizes.values(), default=0),
        states_seen=len(sizes),
    )


async def _one_stream(client: StreamClient, plan: Plan, limit: asyncio.Semaphore) -> str:
    """Open a stream and send it every chunk of ``plan``; its ECG id."""
    async with limit:
        date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ecg_id, token = await client.open_stream(date, plan.sampling_rate, list(plan.leads))
        chunks = client.chunks(ecg_id, token, binary=True)
        for seq in range(len(plan.bounds)):
            while not isinstance(outcome := await chunks.send(plan.chunk(seq)), Acked):
                if not isinstance(outcome, RetryLater):
                    raise RuntimeError(f"chunk {seq} of ECG {ecg_id} refused: {outcome}")
                await asyncio.sleep(outcome.seconds or 0.25)
        return ecg_id


async def _state_sizes(
    bootstrap: str, topic: str, ecg_ids: Collection[str], chunks: int, wait_seconds: float
) -> dict[bytes, int]:
    """The size of the last state written for each of ``ecg_ids``, once each has had a
    state written that holds its ``chunks`` (or after ``wait_seconds``)."""
    wanted = {ecg_id.encode() for ecg_id in ecg_ids}
    held = dict.fromkeys(wanted, 0)  # chunks in the last state written
    sizes: dict[bytes, int] = {}
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(wait_seconds):
            while min(held.values(), default=chunks) < chunks:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        if record.key in wanted and record.value is not None:
                            held[record.key] = StreamState.from_bytes(record.value).next_seq
                            sizes[record.key] = len(record.value)
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return sizes
