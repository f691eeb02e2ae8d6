"""A stream worker killed mid-ECG loses and doubles nothing, also between two
checkpoints of its live states: real Kafka, real PostgreSQL, real worker processes, on
topics of this test's own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from numpy.typing import NDArray

from schemas import topics
from schemas.codec import Schema, encode, encode_samples
from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis
from streams.analysis.zero_crossings import count_zero_crossings
from streams.chunks import StreamState
from streams.records import summary_record, window_record
from streams.settings import Settings
from streams.sink import to_json, window_json
from streams.topics import create_topics

RATE = 360.0
WINDOW = 3600  # 10 s at 360 Hz


@pytest.fixture
async def settings(kafka_bootstrap: str, database_url: str) -> Settings:
    return await pipeline(kafka_bootstrap, database_url, partitions=2)


async def pipeline(kafka_bootstrap: str, database_url: str, *, partitions: int) -> Settings:
    """Settings for a pipeline on topics of its own, which this creates."""
    namespace = f"test-restart-{uuid.uuid4().hex[:10]}."
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        app_id=namespace.rstrip("."),
        topic_namespace=namespace,
        topic_partitions=partitions,
        session_timeout_seconds=6.0,
    )
    await create_topics(settings)
    return settings


def start_worker(
    settings: Settings,
    directory: Path,
    *,
    checkpoint_seconds: float | None = None,
    behind_seconds: float | None = None,
    web_port: int | None = None,
) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "ECG_STREAMS_APP_ID": settings.app_id,
        "ECG_TOPIC_NAMESPACE": settings.topic_namespace,
        "ECG_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "ECG_STREAMS_SESSION_TIMEOUT_SECONDS": str(settings.session_timeout_seconds),
        "ECG_STREAMS_DATA_DIR": str(directory),
    }
    if checkpoint_seconds is not None:
        env["ECG_STREAMS_CHECKPOINT_SECONDS"] = str(checkpoint_seconds)
    if behind_seconds is not None:
        env["ECG_STREAMS_BEHIND_SECONDS"] = str(behind_seconds)
    if web_port is not None:
        env["ECG_WORKER_WEB_PORT"] = str(web_port)
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


async def known_ecg(settings: Settings, ecg_id: uuid.UUID) -> None:
    """Give ``ecg_id`` its row, as the gateway does before it publishes: the worker
    dead-letters the chunks of an ECG that PostgreSQL does not know."""
    db = await asyncpg.connect(settings.database_url)
    try:
        await db.execute(
            "INSERT INTO ecgs (id, date, sampling_rate, status) VALUES ($1, $2, $3, 'processing') "
            "ON CONFLICT (id) DO NOTHING",
            ecg_id,
            datetime(2024, 5, 1, tzinfo=UTC),
            RATE,
        )
    finally:
        await db.close()


async def publish(settings: Settings, ecg_id: uuid.UUID, messages: list[bytes]) -> None:
    """Publish ``messages``, chunks of ``ecg_id``, which gets its row first."""
    await known_ecg(settings, ecg_id)
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

    # Published before the worker starts: it is behind (its window checkpoints, summaries
    # and the sink's writes deferred) when it is killed.
    await publish(settings, ecg_id, messages[:half])
    workers.append(start_worker(settings, tmp_path))
    await wait_for(db, count_windows, ecg_id, at_least=3, seconds=90)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(10)

    await publish(settings, ecg_id, messages[half:])
    workers.append(start_worker(settings, tmp_path))
    await wait_for(db, "SELECT count(*) FROM ecg_summaries WHERE ecg_id = $1", ecg_id, 1, 120)
    await wait_for(db, count_windows, ecg_id, at_least=36, seconds=30)

    await assert_as_one_shot(db, ecg_id, signals, n_windows=36)
    assert sum(len(beats) for beats in await window_beats(db, ecg_id)) > 400  # ~75 bpm


async def test_a_worker_killed_between_two_checkpoints_loses_and_doubles_nothing(
    kafka_bootstrap: str,
    database_url: str,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    db: asyncpg.Connection,
    signals: NDArray[np.int32],
) -> None:
    """The worker keeps its states in memory and writes them at checkpoints (here only
    when a window closes: it never counts as behind, which would defer them); it is
    killed after applying chunks that no checkpoint covers, and after emitting results
    for chunks behind them in the partition. Its successor starts from the checkpoints
    and the committed offsets, and reads the partition again from there, not the ECG's
    missing chunks from Kafka (``streams.backfill``). (A worker killed while behind, its
    checkpoints deferred: ``test_a_killed_worker_loses_and_doubles_nothing``.)"""
    settings = await pipeline(kafka_bootstrap, database_url, partitions=1)
    a, b = uuid.uuid4(), uuid.uuid4()
    a_signals, b_signals = signals[:, : 120 * 360], signals[:, 120 * 360 : 240 * 360]
    a_chunks = chunk_messages(a, a_signals, size=360)  # 1 s each, 10 to a window
    b_chunks = chunk_messages(b, b_signals, size=360)
    count_windows = "SELECT count(*) FROM ecg_windows WHERE ecg_id = $1"

    first = start_worker(settings, tmp_path / "first", checkpoint_seconds=3600, behind_seconds=3600)
    workers.append(first)
    # A's first 42 chunks close its windows 0-3 (window 3 ends with chunk 39 and closes
    # once the detector has seen a little beyond): A's state is written.
    await publish(settings, a, a_chunks[:42])
    await wait_for(db, count_windows, a, at_least=4, seconds=90)
    # Chunks 42-46 close nothing (window 4 ends with chunk 49); B's chunks come after
    # them in the partition, so B's third window in PostgreSQL means they are applied.
    await publish(settings, a, a_chunks[42:47])
    await publish(settings, b, b_chunks[:35])
    await wait_for(db, count_windows, b, at_least=3, seconds=90)
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    # The kill came between two of A's checkpoints: A's last written state does not hold
    # its last chunks, and the group's offset has not passed them.
    a_state = (await written_states(settings))[str(a).encode()]
    assert 40 <= a_state.next_seq <= 42
    committed = await committed_offset(settings)
    assert committed is None or committed <= a_state.next_seq  # A's chunks come first

    await publish(settings, a, a_chunks[47:])
    await publish(settings, b, b_chunks[35:])
    workers.append(start_worker(settings, tmp_path / "second", checkpoint_seconds=3600))
    await assert_done_as_one_shot(db, a, a_signals, n_windows=12)
    await assert_done_as_one_shot(db, b, b_signals, n_windows=12)
    # A's chunks after its checkpoint came back by reading the partition again from the
    # committed offset, not by the backfill reader (which re-reads an ECG's missing chunks
    # from its last applied offset on, when a later one arrives first: what an offset
    # committed past them would have needed). The reader may still fetch a chunk that
    # Faust's consumer skipped around the recovery (streams.backfill).
    log = (tmp_path / "second" / "worker.log").read_text()
    first_unwritten = a_state.last_offset + 1
    assert not [
        line
        for line in log.splitlines()
        if f"re-read {settings.topic(topics.SAMPLES)}[0] {first_unwritten}.." in line
        and str(a) in line
    ]


async def test_workers_hand_partitions_over_in_rebalances_and_lose_nothing(
    kafka_bootstrap: str,
    database_url: str,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    db: asyncpg.Connection,
    signals: NDArray[np.int32],
) -> None:
    """A second worker joins a running one, then the first stops: each rebalance makes a
    worker write its live states and acknowledge what it took before it gives its
    partitions up (Faust waits for that), and the results stay exact."""
    settings = await pipeline(kafka_bootstrap, database_url, partitions=2)
    ecgs = {
        uuid.uuid4(): signals[:, start * 360 : (start + 120) * 360] for start in (0, 80, 160, 240)
    }
    chunks = {ecg_id: chunk_messages(ecg_id, part, size=360) for ecg_id, part in ecgs.items()}
    count_windows = "SELECT count(*) FROM ecg_windows WHERE ecg_id = $1"

    async def publish_all(start: int, stop: int) -> None:
        for ecg_id, messages in chunks.items():
            await publish(settings, ecg_id, messages[start:stop])

    async def wait_for_windows(at_least: int) -> None:
        for ecg_id in ecgs:
            await wait_for(db, count_windows, ecg_id, at_least=at_least, seconds=90)

    first = start_worker(settings, tmp_path / "first")
    workers.append(first)
    await publish_all(0, 35)
    await wait_for_windows(3)
    workers.append(start_worker(settings, tmp_path / "second"))
    await publish_all(35, 75)
    await wait_for_windows(7)
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0  # it gave its partitions up: no rebalance waited for ever

    await publish_all(75, 120)
    for ecg_id, part in ecgs.items():
        await assert_done_as_one_shot(db, ecg_id, part, n_windows=12)
    assert "live states checkpointed" in (tmp_path / "first" / "worker.log").read_text()


async def test_a_paused_stream_is_written_once_its_oldest_chunk_is_old_enough(
    kafka_bootstrap: str,
    database_url: str,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    signals: NDArray[np.int32],
) -> None:
    """Chunks that close no window are written, and their offsets committed, once the
    first of them is ECG_STREAMS_CHECKPOINT_SECONDS old, with no chunk arriving after."""
    settings = await pipeline(kafka_bootstrap, database_url, partitions=1)
    ecg_id = uuid.uuid4()
    workers.append(start_worker(settings, tmp_path, checkpoint_seconds=1.0))
    await publish(settings, ecg_id, chunk_messages(ecg_id, signals[:, : 20 * 360], 360)[:5])

    key = str(ecg_id).encode()
    deadline = time.monotonic() + 90
    while (state := (await written_states(settings)).get(key)) is None or state.next_seq < 5:
        assert time.monotonic() < deadline, f"the paused stream's state was not written: {state}"
        await asyncio.sleep(0.2)
    while (await committed_offset(settings) or 0) < 5:
        assert time.monotonic() < deadline, "the written chunks' offsets were not committed"
        await asyncio.sleep(0.2)


async def written_states(settings: Settings) -> dict[bytes, StreamState]:
    """Each ECG's last state in the worker's state table (its changelog topic)."""
    topic = f"{settings.app_id}-ecg-stream-state-changelog"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        states: dict[bytes, StreamState] = {}
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=5000)).get(tp, []):
                assert record.key is not None
                assert record.value is not None
                states[record.key] = StreamState.from_bytes(record.value)
        return states
    finally:
        await consumer.stop()


async def committed_offset(settings: Settings) -> int | None:
    """The worker group's committed offset of the samples topic's one partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.app_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(
            TopicPartition(settings.topic(topics.SAMPLES), 0)
        )
        return offset
    finally:
        await consumer.stop()


async def window_beats(db: asyncpg.Connection, ecg_id: uuid.UUID) -> list[list[int]]:
    rows = await db.fetch("SELECT beats FROM ecg_windows WHERE ecg_id = $1", ecg_id)
    return [row["beats"] for row in rows]


async def assert_done_as_one_shot(
    db: asyncpg.Connection, ecg_id: uuid.UUID, signals: NDArray[np.int32], *, n_windows: int
) -> None:
    """Once the ECG's final summary and windows are stored, they are one-shot processing's."""
    final = "SELECT count(*) FROM ecg_summaries WHERE ecg_id = $1 AND final"
    await wait_for(db, final, ecg_id, at_least=1, seconds=120)
    windows = "SELECT count(*) FROM ecg_windows WHERE ecg_id = $1"
    await wait_for(db, windows, ecg_id, at_least=n_windows, seconds=30)
    await assert_as_one_shot(db, ecg_id, signals, n_windows=n_windows)


async def assert_as_one_shot(
    db: asyncpg.Connection, ecg_id: uuid.UUID, signals: NDArray[np.int32], *, n_windows: int
) -> None:
    """The ECG's windows and summary in PostgreSQL are exactly those of one-shot
    processing, beats included: none lost, none extra."""
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
    summary = json.loads(
        await db.fetchval("SELECT result FROM ecg_summaries WHERE ecg_id = $1", ecg_id)
    )
    assert summary == json.loads(to_json(summary_record(first, names, ecg)))
    assert [lead["zero_crossings"] for lead in summary["leads"]] == [
        count_zero_crossings(lead) for lead in signals
    ]
    assert summary["n_windows"] == len(expected) == n_windows
