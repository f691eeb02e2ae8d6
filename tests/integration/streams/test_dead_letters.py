"""Poison sample chunks (a chunk the agent cannot use, or one of an ECG that PostgreSQL
does not know) land on the dead-letter topic with their reason, and the windows agent
goes on with the next ECG: real Kafka, a real worker process, on topics of this
test's own."""

from __future__ import annotations

import asyncio
import math
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from numpy.typing import NDArray

from schemas import topics
from schemas.codec import Schema, decode, encode, encode_samples
from streams.settings import Settings
from tests.integration.client.test_tail import finish, start_tail
from tests.integration.streams.test_worker_restart import (
    chunk_messages,
    known_ecg,
    pipeline,
    start_worker,
)
from tests.records import read_record

WAIT_SECONDS = 90


@pytest.fixture
def signals(data_dir: Path) -> NDArray[np.int32]:
    record = read_record(data_dir / "mitdb" / "100")
    return (record.signals[:, : 30 * 360] - 1024).astype(np.int32)


def first_chunk(ecg_id: uuid.UUID, **fields: Any) -> bytes:
    width, samples = encode_samples([np.array([1, 2, 3], dtype=np.int32)] * 2)
    record = {
        "ecg_id": ecg_id,
        "seq": 0,
        "start_sample": 0,
        "final": False,
        "date": datetime(2024, 5, 1, tzinfo=UTC),
        "sampling_rate": 360.0,
        "leads": [{"name": "MLII"}, {"name": "V5"}],
        "sample_width": width,
        "samples": samples,
    } | fields
    return encode(Schema.SAMPLE_CHUNK, record)


async def read_topic(
    settings: Settings,
    name: str,
    count: int,
    until: Callable[[list[tuple[bytes, bytes]]], bool] = lambda found: True,
) -> list[tuple[bytes, bytes]]:
    """The topic's messages (its one partition) from the first, once there are ``count``
    of them and ``until`` holds for them, waiting for more until then."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partition = TopicPartition(settings.topic(name), 0)
        consumer.assign([partition])
        found: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while len(found) < count or not until(found):
            assert time.monotonic() < deadline, f"{len(found)} messages on {name}, not enough"
            batch = await consumer.getmany(partition, timeout_ms=500)
            found += [(m.key or b"", m.value or b"") for m in batch.get(partition, [])]
        return found
    finally:
        await consumer.stop()


async def test_poison_chunks_are_dead_lettered_with_their_reason_and_the_agent_goes_on(
    kafka_bootstrap: str,
    database_url: str,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    signals: NDArray[np.int32],
) -> None:
    settings = await pipeline(kafka_bootstrap, database_url, partitions=1)
    ids = [uuid.uuid4() for _ in range(7)]
    poison = {
        ids[0]: first_chunk(ids[0], sampling_rate=math.nan),
        ids[1]: first_chunk(ids[1], sampling_rate=math.inf),
        ids[2]: first_chunk(ids[2], sampling_rate=-math.inf),
        ids[3]: first_chunk(ids[3], sampling_rate=1e308),
        ids[4]: first_chunk(ids[4], leads=[{"name": "MLII", "gain": math.nan}, {"name": "V5"}]),
        ids[5]: b"\xc3\x01 not an Avro message",
        ids[6]: first_chunk(ids[6]),  # valid, of an ECG that PostgreSQL does not know
    }
    valid = uuid.uuid4()
    for ecg_id in [*ids[:5], valid]:
        await known_ecg(settings, ecg_id)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        samples = settings.topic(topics.SAMPLES)
        # The poison first, then a whole ECG behind it in the one partition.
        messages = [(str(key).encode(), value) for key, value in poison.items()]
        messages += [(str(valid).encode(), m) for m in chunk_messages(valid, signals, 360)]
        sent = [await producer.send(samples, key=key, value=value) for key, value in messages]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()

    worker = start_worker(settings, tmp_path)
    workers.append(worker)
    letters = await read_topic(settings, topics.DEAD_LETTERS, len(poison))
    reasons = {
        uuid.UUID(key.decode()): decode(Schema.DEAD_LETTER, value)["reason"]
        for key, value in letters
    }
    assert set(reasons) == set(poison)
    for key in ids[:4]:
        assert "sampling_rate must be a number of Hz above 0 and at most 100,000" in reasons[key]
    assert "the gain of lead 0 must be a positive number, got nan" in reasons[ids[4]]
    assert "not a single-object encoded sample_chunk message" in reasons[ids[5]]
    assert f"ECG {ids[6]} is unknown: PostgreSQL has no such ECG" in reasons[ids[6]]
    # The ECG behind the poison is analysed to its end: its three windows and the summary.
    windows = await read_topic(settings, topics.WINDOWS, 3)
    assert {key for key, _ in windows} == {str(valid).encode()}
    summaries = await read_topic(
        settings,
        topics.SUMMARIES,
        1,
        lambda found: decode(Schema.ECG_SUMMARY, found[-1][1])["final"],
    )
    assert decode(Schema.ECG_SUMMARY, summaries[-1][1])["n_windows"] == 3
    # `ecg tail --topic dlq` shows each dead letter with its reason.
    tail = await start_tail(
        kafka_bootstrap,
        *("--namespace", settings.topic_namespace, "--topic", "dlq", "--from-beginning"),
        *("--max-messages", str(len(poison)), "--timeout", "30"),
    )
    code, events, err = await finish(tail)
    assert code == 0, err
    assert {event["key"]: event["value"]["reason"] for event in events} == {
        str(key): reason for key, reason in reasons.items()
    }
    assert worker.poll() is None  # no input stopped the worker
    log = (tmp_path / "worker.log").read_text()
    assert "crashed" not in log.lower()
