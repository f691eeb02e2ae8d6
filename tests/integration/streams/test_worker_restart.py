"""A stream worker killed mid-ECG loses and doubles nothing: real Kafka, real
PostgreSQL, real worker processes, on topics of this test's own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer
from numpy.typing import NDArray

from schemas import topics
from schemas.codec import Schema, encode, encode_samples
from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis
from streams.analysis.zero_crossings import count_zero_crossings
from streams.records import summary_record, window_record
from streams.settings import Settings
from streams.sink import to_json, window_json
from streams.topics import create_topics
from tests.records import read_record

RATE = 360.0
WINDOW = 3600  # 10 s at 360 Hz


@pytest.fixture
def signals(data_dir: Path) -> NDArray[np.int32]:
    record = read_record(data_dir / "mitdb" / "100")
    # Six minutes are enough to cut in the middle of many windows.
    return (record.signals[:, : 360 * 360] - 1024).astype(np.int32)


@pytest.fixture
async def settings(kafka_bootstrap: str, database_url: str) -> Settings:
    namespace = f"test-restart-{uuid.uuid4().hex[:10]}."
    pipeline = Settings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        app_id=namespace.rstrip("."),
        topic_namespace=namespace,
        topic_partitions=2,
        session_timeout_seconds=6.0,
    )
    await create_topics(pipeline)
    return pipeline


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)


def start_worker(settings: Settings, directory: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "ECG_STREAMS_APP_ID": settings.app_id,
        "ECG_TOPIC_NAMESPACE": settings.topic_namespace,
        "ECG_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "ECG_STREAMS_SESSION_TIMEOUT_SECONDS": str(settings.session_timeout_seconds),
        "ECG_STREAMS_DATA_DIR": str(directory),
    }
    with (directory / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams", "worker", "-l", "info"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def chunk_messages(ecg_id: uuid.UUID, signals: NDArray[np.int32], size: int) -> list[bytes]:
    n = signals.shape[1]
    starts = list(range(0, n, size))
    messages = []
    for seq, start in enumerate(starts):
        width, samples = encode_samples(list(signals[:, start : start + size]))
        record = {
            "ecg_id": ecg_id,
            "seq": seq,
            "start_sample": start,
            "final": seq == len(starts) - 1,
            "date": datetime(2024, 5, 1, tzinfo=UTC),
            "sampling_rate": RATE,
            "leads": [{"name": "MLII"}, {"name": "V5"}],
            "sample_width": width,
            "samples": samples,
        }
        messages.append(encode(Schema.SAMPLE_CHUNK, record))
    return messages


async def publish(settings: Settings, ecg_id: uuid.UUID, messages: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        sent = [
            await producer.send(settings.topic(topics.SAMPLES), key=str(ecg_id).encode(), value=m)
            for m in messages
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def wait_for(
    db: asyncpg.Connection, query: str, ecg_id: uuid.UUID, at_least: int, seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while (await db.fetchval(query, ecg_id)) < at_least:
        assert time.monotonic() < deadline, f"timed out waiting for {query!r} >= {at_least}"
        await asyncio.sleep(0.05)


async def test_a_killed_worker_loses_and_doubles_nothing(
    settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    db: asyncpg.Connection,
    signals: NDArray[np.int32],
) -> None:
    ecg_id = uuid.uuid4()
    messages = chunk_messages(ecg_id, signals, size=90)  # a quarter of a second each
    half = len(messages) // 2
    count_windows = "SELECT count(*) FROM ecg_windows WHERE ecg_id = $1"

    await publish(settings, ecg_id, messages[:half])
    workers.append(start_worker(settings, tmp_path))
    await wait_for(db, count_windows, ecg_id, at_least=3, seconds=90)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(10)

    await publish(settings, ecg_id, messages[half:])
    workers.append(start_worker(settings, tmp_path))
    await wait_for(db, "SELECT count(*) FROM ecg_summaries WHERE ecg_id = $1", ecg_id, 1, 120)
    await wait_for(db, count_windows, ecg_id, at_least=36, seconds=30)

    # Exactly the windows and the summary of one-shot processing, beats included.
    config = AnalysisConfig(WINDOW, RATE, (None, None), (None, None))
    state, expected = feed(start_analysis(2, config), list(signals))
    last, ecg = finish(state)
    expected += last
    first = {"ecg_id": ecg_id, "sampling_rate": RATE, "date": datetime(2024, 5, 1, tzinfo=UTC)}
    names = ["MLII", "V5"]
    rows = await db.fetch(
        "SELECT index, result, beats FROM ecg_windows WHERE ecg_id = $1 ORDER BY index", ecg_id
    )
    assert [row["index"] for row in rows] == [w.index for w in expected]
    for row, window in zip(rows, expected, strict=True):
        record = window_record(first, names, window)
        assert json.loads(row["result"]) == json.loads(window_json(record))
        assert row["beats"] == record["beats"]
    assert sum(len(row["beats"]) for row in rows) > 400  # 6 minutes at ~75 bpm
    summary = json.loads(
        await db.fetchval("SELECT result FROM ecg_summaries WHERE ecg_id = $1", ecg_id)
    )
    assert summary == json.loads(to_json(summary_record(first, names, ecg)))
    assert [lead["zero_crossings"] for lead in summary["leads"]] == [
        count_zero_crossings(lead) for lead in signals
    ]
    assert summary["n_windows"] == len(expected) == 36
