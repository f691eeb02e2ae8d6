"""After the samples topic's retention has passed, an ECG's signal is still served, its
overview drawn, its analysis redone and the viewer draws it, from the worker's archive in
PostgreSQL.

A pipeline of the test's own (``tests.e2e.private_stack``) whose ``ecg.samples.v1``
keeps its messages ``RETENTION`` seconds (``ECG_SAMPLES_RETENTION_HOURS``, which also
sets the topic's segments no longer than that, ``streams.topics``) on one partition. An
ECG is uploaded and analysed; once the retention has passed, a second upload makes the
partition start a new segment (Kafka starts one only when a message arrives), and the
broker, checking every second (``infra.kafka``), deletes the first: the test waits until
the partition's first offset is past every message of the first ECG."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import topics
from tests.e2e.browser import find_chromium, open_tab
from tests.e2e.conftest import make_admin, register_user
from tests.e2e.private_stack import PrivateStack, private_stack
from tests.e2e.streaming import results, upload_whole
from tests.e2e.test_reanalysis import analysed_again, reanalyse, without_revision
from tests.e2e.test_signal import as_array, read_back
from tests.e2e.test_viewer import (
    HEIGHT,
    WIDTH,
    assert_beats_marked_where_they_are,
    assert_traces_in_every_strip,
    in_view,
    log_in,
    shot,
)
from tests.records import read_record

RETENTION = 2.0  # seconds
DELETED_WITHIN = 60.0  # seconds for the broker to delete the old segment


@pytest.fixture
def stack(tmp_path: Path, database_url: str, jwt_secret: str) -> Iterator[PrivateStack]:
    with private_stack(
        tmp_path,
        database_url,
        jwt_secret,
        ECG_TOPIC_PARTITIONS="1",
        ECG_SAMPLES_RETENTION_HOURS=f"{RETENTION / 3600:.9f}",
    ) as started:
        yield started


async def offsets(bootstrap: str) -> tuple[int, int]:
    """The first and next offsets of the samples topic's partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partition = TopicPartition(topics.SAMPLES, 0)
        first = (await consumer.beginning_offsets([partition]))[partition]
        end = (await consumer.end_offsets([partition]))[partition]
    finally:
        await consumer.stop()
    return first, end


@pytest.mark.timeout(400)
async def test_the_signal_outlives_the_topics_retention(
    stack: PrivateStack, database_url: str, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * 65]
    bootstrap = stack.env["ECG_KAFKA_BOOTSTRAP"]
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as http:
        user = await register_user(http, await make_admin(http, database_url))
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers=user.headers(), timeout=60
    ) as client:
        ecg_id = await upload_whole(client, signals, record.lead_names, record.sampling_rate)
        acknowledged = time.monotonic()  # Kafka has every message of the ECG by then
        first = await results(client, ecg_id)
        assert first["status"] == "done", stack.logs()
        await read_back(client, ecg_id, signals.shape[1])
        _, after_first = await offsets(bootstrap)

        # The retention, and a second more, past the first ECG's last message: the
        # analysis and the read-back above took part of it.
        await asyncio.sleep(max(0.0, acknowledged + RETENTION + 1 - time.monotonic()))
        other = await upload_whole(client, signals[:, :3600], record.lead_names, 360)
        await results(client, other)
        deadline = time.monotonic() + DELETED_WITHIN
        while (found := await offsets(bootstrap))[0] < after_first:
            assert time.monotonic() < deadline, f"Kafka still has offsets {found}"
            await asyncio.sleep(0.5)

        # Kafka no longer has a sample of the ECG; PostgreSQL has them all.
        body = await read_back(client, ecg_id, signals.shape[1], deadline_seconds=5)
        assert np.array_equal(as_array(body), signals)
        overview = await client.get(f"/api/v1/ecg/{ecg_id}/overview", params={"buckets": 65})
        assert overview.status_code == 200, overview.text
        lead = overview.json()["leads"][0]
        seconds = signals[0].reshape(65, 360)
        assert lead["min"] == seconds.min(axis=1).tolist()
        assert lead["max"] == seconds.max(axis=1).tolist()

        beats = (await client.get(f"/api/v1/ecg/{ecg_id}/beats")).json()["sample_indices"]
        async with open_tab(find_chromium(), WIDTH, HEIGHT) as tab:
            page = await log_in(tab, stack.gateway_url, ecg_id, user)
            assert page["source"] == "signal"
            pixels, _ = await shot(tab)
        assert_traces_in_every_strip(pixels, page)
        assert_beats_marked_where_they_are(pixels, page, in_view(beats, page))

        revision = await reanalyse(client, ecg_id)
        analyses = await analysed_again(client, ecg_id, revision)
        assert analyses["analyses"][0]["status"] == "done", analyses
        again = await results(client, ecg_id)
        assert again["summary"]["revision"] == revision
        assert without_revision(again) == without_revision(first)
