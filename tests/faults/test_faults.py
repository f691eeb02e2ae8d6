"""The fault suite (``make test-faults``): each case disturbs the running stack at a
random moment of the workload (``tests.faults.workload``), ``RUNS`` times (3 unless
``ECG_FAULT_RUNS`` says otherwise), and every ECG's lookup, windows, beats and summary
must equal the undisturbed run's: 0 lost, 0 doubled, 0 differing, no 500, no device or
upload given up.

The moment is drawn from [``AT_FROM``, ``AT_TO``] s after the devices start (they
stream for 15 s); the row of figures of each run ends up in the table printed at the
end: when the fault began (``at_s``), what was compared, the gateway's 5xx answers
(503s are the allowed "retry later"; ``500s`` must be 0) and ``recover_s``, from the
end of the fault until every ECG was done.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from infra.processes import is_running
from schemas import topics
from schemas.codec import Schema, decode
from streams.settings import Settings
from tests.e2e.conftest import Account
from tests.faults.stack import FaultStack
from tests.faults.workload import Comparison, Run, collect, compare, run_workload
from tests.integration.streams.test_dead_letters import first_chunk

RUNS = int(os.environ.get("ECG_FAULT_RUNS", "3"))
AT_FROM, AT_TO = 2.0, 12.0
KAFKA_DOWN_SECONDS = 30.0
POSTGRES_STOPPED_SECONDS = 60.0
POSTGRES_FROZEN_SECONDS = 30.0
SUPERVISOR_DELAY = 1.0  # what infra.supervisor waits before a restart

Inject = Callable[[FaultStack, dict[str, Any]], Awaitable[None]]


async def kill_worker(stack: FaultStack, row: dict[str, Any]) -> None:
    """SIGKILL mid-stream (between two checkpoints of most ECGs' states), then a new
    worker, as the supervisor starts it."""
    await asyncio.to_thread(stack.kill_worker)
    await asyncio.sleep(SUPERVISOR_DELAY)
    await asyncio.to_thread(stack.start_worker)


async def rebalance(stack: FaultStack, row: dict[str, Any]) -> None:
    """A second worker joins the group; once it has its share, the first one leaves
    (SIGTERM): two rebalances."""
    first = stack.workers[0]
    await asyncio.to_thread(stack.start_worker)
    await asyncio.sleep(5.0)
    await asyncio.to_thread(stack.stop_worker, first)


async def kafka_down(stack: FaultStack, row: dict[str, Any]) -> None:
    await asyncio.to_thread(stack.kill_kafka)
    await asyncio.sleep(KAFKA_DOWN_SECONDS)
    await asyncio.to_thread(stack.start_kafka)


async def postgres_stopped(stack: FaultStack, row: dict[str, Any]) -> None:
    await asyncio.to_thread(stack.stop_postgres)
    await asyncio.sleep(POSTGRES_STOPPED_SECONDS)
    await asyncio.to_thread(stack.start_postgres)


async def postgres_frozen(stack: FaultStack, row: dict[str, Any]) -> None:
    frozen = await asyncio.to_thread(stack.freeze_postgres)
    try:
        await asyncio.sleep(POSTGRES_FROZEN_SECONDS)
    finally:
        stack.thaw(frozen)


CASES: dict[str, Inject] = {
    "worker-kill": kill_worker,
    "rebalance": rebalance,
    "kafka-down-30s": kafka_down,
    "postgres-stopped-60s": postgres_stopped,
    "postgres-frozen-30s": postgres_frozen,
}


async def disturbed_run(
    case: str,
    run: int,
    inject: Inject,
    stack: FaultStack,
    gateway_url: str,
    account: Account,
    data_dir: Path,
    reference: dict[str, Any],
    figures: dict[str, Any],
) -> None:
    seed = time.time_ns()
    rng = random.Random(seed)
    at = rng.uniform(AT_FROM, AT_TO)
    figures.update(case=case, run=run, seed=seed, at_s=round(at, 1))
    workload = asyncio.create_task(
        run_workload(gateway_url, account.email, account.password, data_dir, rng)
    )
    await asyncio.sleep(at)
    began = time.monotonic()
    await inject(stack, figures)
    ended = time.monotonic()
    done = await workload
    got = await collect(gateway_url, account.email, account.password, done)
    judge(figures, compare(reference, got), done, began, ended)


def judge(
    figures: dict[str, Any], found: Comparison, done: Run, began: float, ended: float
) -> None:
    """Record a run's figures, then hold it to the suite's bar: nothing lost, doubled or
    differing, no 500, nothing given up."""
    figures.update(
        fault_s=round(ended - began, 1),
        ecgs=found.ecgs,
        windows=found.windows,
        lost=found.lost,
        doubled=found.doubled,
        differing=found.differing,
        **{"5xx": sum(n for status, n in done.statuses.items() if status >= 500)},
        **{"500s": done.statuses[500]},
        recover_s=round(done.done_at - ended, 1),
        statuses=dict(done.statuses),
    )
    print(f"\n{figures['case']} run {figures['run']}: {figures}")
    assert found.identical, found.notes
    assert done.statuses[500] == 0, done.statuses
    assert not done.failures, done.failures


@pytest.mark.timeout(900)
@pytest.mark.parametrize("run", range(1, RUNS + 1))
@pytest.mark.parametrize("case", list(CASES))
async def test_a_fault_loses_doubles_and_changes_nothing(
    case: str,
    run: int,
    stack: FaultStack,
    gateway_url: str,
    account: Account,
    data_dir: Path,
    reference: dict[str, Any],
    figures: dict[str, Any],
) -> None:
    await disturbed_run(
        case, run, CASES[case], stack, gateway_url, account, data_dir, reference, figures
    )


# Poison messages


def poison() -> dict[uuid.UUID, tuple[bytes, str, bool]]:
    """Each poison message by its key: its bytes, what its dead letter's reason says,
    and whether its ECG exists."""
    ids = [uuid.uuid4() for _ in range(8)]
    unknown_schema = b"\xc3\x01" + bytes(8) + first_chunk(ids[1])[10:]
    return {
        ids[0]: (b"\x00 not an Avro message", "not a single-object encoded", True),
        ids[1]: (unknown_schema, "not a single-object encoded", True),
        ids[2]: (first_chunk(ids[2], sample_width=3), "sample_width must be 2 or 4", True),
        ids[3]: (first_chunk(ids[3], leads=[{"name": "MLII"}]), "1 leads", True),
        ids[4]: (first_chunk(ids[4], sampling_rate=math.nan), "sampling_rate must be", True),
        ids[5]: (first_chunk(ids[5], sampling_rate=math.inf), "sampling_rate must be", True),
        ids[6]: (
            first_chunk(ids[6], leads=[{"name": "MLII", "gain": math.inf}, {"name": "V5"}]),
            "gain of lead 0 must be a positive number",
            True,
        ),
        ids[7]: (first_chunk(ids[7]), "is unknown: PostgreSQL has no such ECG", False),
    }


async def dead_letters(
    settings: Settings, start: dict[TopicPartition, int], count: int
) -> dict[str, str]:
    """The reasons of the next ``count`` dead letters after ``start``, by key."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        found: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while len(found) < count:
            assert time.monotonic() < deadline, f"{len(found)} of {count} dead letters: {found}"
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for message in records:
                    assert message.key is not None
                    assert message.value is not None
                    letter = decode(Schema.DEAD_LETTER, message.value)
                    found[message.key.decode()] = letter["reason"]
        return found
    finally:
        await consumer.stop()


async def dlq_ends(settings: Settings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        name = settings.topic(topics.DEAD_LETTERS)
        partitions = [TopicPartition(name, p) for p in range(settings.topic_partitions)]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def inject_poison(settings: Settings) -> dict[uuid.UUID, tuple[bytes, str, bool]]:
    messages = poison()
    db = await asyncpg.connect(settings.database_url)
    try:
        await db.executemany(
            "INSERT INTO ecgs (id, date, sampling_rate, status) VALUES ($1, $2, 360, 'processing')",
            [(key, datetime(2024, 5, 1, tzinfo=UTC)) for key, (_, _, k) in messages.items() if k],
        )
    finally:
        await db.close()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        name = settings.topic(topics.SAMPLES)
        sent = [
            await producer.send(name, key=str(key).encode(), value=value)
            for key, (value, _, _) in messages.items()
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return messages


@pytest.mark.timeout(600)
@pytest.mark.parametrize("run", range(1, RUNS + 1))
async def test_poison_goes_to_the_dead_letters_while_the_workload_goes_on(
    run: int,
    stack: FaultStack,
    gateway_url: str,
    account: Account,
    data_dir: Path,
    reference: dict[str, Any],
    figures: dict[str, Any],
) -> None:
    settings = Settings.from_env()
    start = await dlq_ends(settings)
    workers = list(stack.workers)
    sent: dict[uuid.UUID, tuple[bytes, str, bool]] = {}

    async def inject(stack: FaultStack, row: dict[str, Any]) -> None:
        sent.update(await inject_poison(settings))

    await disturbed_run(
        "poison", run, inject, stack, gateway_url, account, data_dir, reference, figures
    )
    reasons = await dead_letters(settings, start, len(sent))
    for key, (_, reason, _) in sent.items():
        assert reason in reasons[str(key)], (key, reasons[str(key)])
    assert all(is_running(worker) for worker in workers), "a worker died of its input"
    figures["dead_letters"] = len(reasons)
