"""A worker stopped by SIGTERM (a deploy, ``make down``, a Kubernetes rollout) finishes
what it took: every chunk it consumed is analysed, its results written to PostgreSQL,
its state checkpointed and its offsets committed, within 30 s. Its successor then
repeats nothing: each window result is on the topic once. Real Kafka, real PostgreSQL,
real worker processes, on topics of this test's own."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import numpy as np
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from numpy.typing import NDArray

from schemas import topics
from streams.settings import Settings
from tests.integration.streams.test_worker_restart import (
    RATE,
    assert_done_as_one_shot,
    chunk_messages,
    pipeline,
    publish,
    start_worker,
    wait_for,
)

STOP_SECONDS = 30  # what the issue allows a worker for its graceful stop


async def end_offsets(settings: Settings, names: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic(name), 0) for name in names]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def committed(settings: Settings) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.app_id)
        return {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


async def test_a_worker_stopped_by_sigterm_writes_and_commits_all_it_took(
    kafka_bootstrap: str,
    database_url: str,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    db: asyncpg.Connection,
    signals: NDArray[np.int32],
) -> None:
    settings = await pipeline(kafka_bootstrap, database_url, partitions=1)
    ecg_id = uuid.uuid4()
    part = signals[:, : 90 * int(RATE)]
    messages = chunk_messages(ecg_id, part, size=int(RATE))  # 90 one-second chunks
    count_windows = "SELECT count(*) FROM ecg_windows WHERE ecg_id = $1"

    first = start_worker(settings, tmp_path / "first")
    workers.append(first)
    await publish(settings, ecg_id, messages[:60])
    await wait_for(db, count_windows, ecg_id, at_least=5, seconds=90)
    first.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    assert first.wait(STOP_SECONDS) == 0
    print(f"graceful stop: {time.monotonic() - stopping:.1f} s")

    # Everything consumed is committed (samples), and every window result it sent is
    # written and committed: nothing is left for a successor to repeat. The provisional
    # summary that its last checkpoint sent on the way out is the successor's to write.
    names = [topics.SAMPLES, topics.WINDOWS, topics.SUMMARIES]
    ends, done = await end_offsets(settings, names), await committed(settings)
    samples, windows, summaries = (TopicPartition(settings.topic(name), 0) for name in names)
    assert (done[samples], done[windows]) == (ends[samples], ends[windows]) == (60, 5)
    assert ends[summaries] - done.get(summaries, 0) <= 1
    assert await db.fetchval(count_windows, ecg_id) == ends[windows]

    workers.append(start_worker(settings, tmp_path / "second"))
    await publish(settings, ecg_id, messages[60:])
    await assert_done_as_one_shot(db, ecg_id, part, n_windows=9)
    ends = await end_offsets(settings, [topics.WINDOWS])
    assert ends[windows] == 9  # none twice
