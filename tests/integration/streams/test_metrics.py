"""``/metrics`` of a real worker, scraped while a stream flows through it: the chunk
counts rise with every burst, the consumer lag of the stream's partition rises while
its chunks wait for a checkpoint and falls to zero once the ECG has ended. Real Kafka,
real PostgreSQL, a real worker process, on topics of this test's own."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import numpy as np
from numpy.typing import NDArray
from prometheus_client.parser import text_string_to_metric_families

from infra.apps import worker_url
from infra.net import free_ports
from tests.integration.streams.test_worker_restart import (
    chunk_messages,
    pipeline,
    publish,
    start_worker,
    wait_for,
)

BURSTS = 6
CHUNKS = 20  # one second each: two windows a burst
POLL = 0.1  # seconds between two scrapes


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples called ``name`` in a scrape, with their labels."""
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def value(text: str, name: str, **labels: str) -> float:
    return sum(v for found, v in samples(text, name) if labels.items() <= found.items())


async def until_ready(http: httpx.AsyncClient, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"/readyz did not answer 200 within {seconds} s"
        await asyncio.sleep(POLL)


async def test_chunk_counts_and_lag_move_while_a_stream_flows(
    kafka_bootstrap: str,
    database_url: str,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
    db: asyncpg.Connection,
    signals: NDArray[np.int32],
) -> None:
    settings = await pipeline(kafka_bootstrap, database_url, partitions=2)
    port = free_ports(1)[0]
    workers.append(start_worker(settings, tmp_path, web_port=port))
    ecg_id = uuid.uuid4()
    part = signals[:, : BURSTS * CHUNKS * 360]
    messages = chunk_messages(ecg_id, part, size=360)
    samples_topic = settings.topic("ecg.samples.v1")

    async with httpx.AsyncClient(base_url=worker_url(port), timeout=10) as http:
        await until_ready(http, 90)
        counts, lags = [], []
        for burst in range(BURSTS):
            await publish(settings, ecg_id, messages[burst * CHUNKS : (burst + 1) * CHUNKS])
            deadline = time.monotonic() + 30
            while True:  # until the worker has taken the burst
                text = (await http.get("/metrics")).text
                lag = samples(text, "ecg_worker_consumer_lag")
                assert {labels["topic"] for labels, _ in lag} >= {samples_topic}
                lags.append(max(v for labels, v in lag if labels["topic"] == samples_topic))
                if value(text, "ecg_worker_chunks_total") >= (burst + 1) * CHUNKS:
                    break
                assert time.monotonic() < deadline, "the worker did not take the burst in 30 s"
                await asyncio.sleep(POLL)
            counts.append(value(text, "ecg_worker_chunks_total"))
        assert counts == sorted(set(counts)), f"chunk counts did not rise: {counts}"
        assert max(lags) > 0, "no lag was seen while the stream flowed"

        await wait_for(
            db, "SELECT count(*) FROM ecg_summaries WHERE ecg_id = $1 AND final", ecg_id, 1, 60
        )
        deadline = time.monotonic() + 30
        while True:  # the ECG ended: its chunks are checkpointed and committed
            text = (await http.get("/metrics")).text
            left = [
                v
                for labels, v in samples(text, "ecg_worker_consumer_lag")
                if labels["topic"] == samples_topic
            ]
            if max(left) == 0:
                break
            assert time.monotonic() < deadline, f"the lag stayed at {left}"
            await asyncio.sleep(POLL)

    assert value(text, "ecg_worker_samples_total") >= part.size
    assert value(text, "ecg_worker_chunk_processing_seconds_count") >= len(messages)
    assert value(text, "ecg_worker_windows_emitted_total") >= BURSTS * 2
    assert value(text, "ecg_worker_summaries_emitted_total", kind="final") >= 1
    assert value(text, "ecg_worker_sink_batch_seconds_count") >= 1
    assert value(text, "ecg_worker_state_bytes") > 0
    assert value(text, "ecg_worker_dead_letters_total") == 0
    assert str(ecg_id) not in text
