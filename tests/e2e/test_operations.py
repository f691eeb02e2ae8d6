"""The gateway as an operator sees it: ``/livez``, ``/readyz``, ``/metrics`` moving while
a stream flows (with no ECG id, email or token in it), request ids echoed, sent to Kafka
with the samples and written on JSON log lines."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.topics import REQUEST_ID_HEADER, SAMPLES
from tests.e2e.conftest import Account
from tests.e2e.streaming import device, open_stream, send
from tests.e2e.test_stream_socket import answer, chunk, dial

SIGNAL = [[1, 2, 3, 4], [5, 6, 7, 8]]
# Label values hold braces of their own (route="/api/v1/ecg/{ecg_id}"): the last } ends them.
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")


def samples(text: str) -> dict[tuple[str, str], float]:
    """Prometheus text as {(name, labels): value}."""
    found: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            found[(match["name"], match["labels"] or "")] = float(match["value"])
    return found


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


CHUNKS = 'method="POST",route="/api/v1/ecg/{ecg_id}/chunks",status="202"'


async def test_live_and_ready(http: httpx.AsyncClient) -> None:
    assert (await http.get("/livez")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).json() == {"status": "ok"}


async def test_metrics_move_while_a_stream_flows_and_name_no_one(
    http: httpx.AsyncClient, client: httpx.AsyncClient, gateway_url: str, user: Account
) -> None:
    before = await scrape(http)
    ecg_id, token = await open_stream(client)
    for seq in range(3):
        assert (await send(http, ecg_id, token, seq, SIGNAL)).status_code == 202
    async with dial(gateway_url, ecg_id, token) as socket:
        assert (await answer(socket))["type"] == "ready"
        during = await scrape(http)
        await socket.send(chunk(3, SIGNAL))
        assert (await answer(socket))["type"] == "ack"
    after = await scrape(http)

    key = ("ecg_gateway_requests_total", CHUNKS)
    assert after[key] - before.get(key, 0) == 3
    count = (
        "ecg_gateway_request_seconds_count",
        'method="POST",route="/api/v1/ecg/{ecg_id}/chunks"',
    )
    assert after[count] - before.get(count, 0) == 3
    published = ("ecg_gateway_kafka_publish_seconds_count", "")
    assert after[published] - before[published] >= 4  # three over HTTP, one over the socket
    assert during[("ecg_gateway_websockets_open", "")] >= 1
    assert ("ecg_gateway_kafka_pending_bytes", "") in after
    text = (await http.get("/metrics")).text
    for secret in (ecg_id, user.email, user.access_token, token, user.id):
        assert secret not in text


async def test_request_ids_are_echoed_sent_to_kafka_and_logged(
    http: httpx.AsyncClient, client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ecg_id, token = await open_stream(client)
    given = "trace-4711.a:b"
    async with SamplesTopic(kafka_bootstrap) as topic:
        sent = await http.post(
            f"/api/v1/ecg/{ecg_id}/chunks",
            json={"seq": 0, "signal": SIGNAL},
            headers={**device(token), "X-Request-ID": given},
        )
        assert sent.status_code == 202, sent.text
        assert sent.headers["x-request-id"] == given
        assert await topic.headers_of(ecg_id) == [{REQUEST_ID_HEADER: given.encode()}]
    forged = await http.get("/livez", headers={"X-Request-ID": "no spaces, please; nor {braces}"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])

    log = Path(os.environ["ECG_RUN_DIR"]) / "gateway.log"
    lines = [json.loads(line) for line in log.read_text().splitlines() if given in line]
    access = [line for line in lines if line.get("logger") == "gateway.access"]
    assert access, lines
    assert access[-1]["request_id"] == given
    assert access[-1]["route"] == "/api/v1/ecg/{ecg_id}/chunks"
    assert access[-1]["status"] == 202


class SamplesTopic:
    """The samples topic from its ends at entry: what was published meanwhile."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> SamplesTopic:
        await self._consumer.start()
        # The cluster's metadata, as the gateway's health check asks for it.
        cluster = await self._consumer._client.fetch_all_metadata()
        partitions = cluster.partitions_for_topic(SAMPLES) or set()
        assert partitions, f"no partitions of {SAMPLES}: {cluster.topics()}"
        self._partitions = [TopicPartition(SAMPLES, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_end(*self._partitions)
        for partition in self._partitions:
            await self._consumer.position(partition)  # fixed now, before anything is sent
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def headers_of(self, ecg_id: str) -> list[dict[str, bytes]]:
        ends = await self._consumer.end_offsets(self._partitions)
        found: list[dict[str, bytes]] = []
        while [tp for tp, end in ends.items() if await self._consumer.position(tp) < end]:
            batch = await self._consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                found += [dict(r.headers) for r in records if r.key == ecg_id.encode()]
        return found


async def test_the_worker_logs_an_ecgs_end_with_the_request_id_that_ended_it(
    http: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    ecg_id, token = await open_stream(client)
    assert (await send(http, ecg_id, token, 0, SIGNAL)).status_code == 202
    ended = await http.post(
        f"/api/v1/ecg/{ecg_id}/end", headers={**device(token), "X-Request-ID": f"end-{ecg_id}"}
    )
    assert ended.status_code == 202, ended.text
    log = Path(os.environ["ECG_RUN_DIR"]) / "worker.log"
    deadline = time.monotonic() + 30
    while True:
        lines = [line for line in log.read_text().splitlines() if f"end-{ecg_id}" in line]
        if lines:
            break
        assert time.monotonic() < deadline, "the worker logged no line with the request id"
        await asyncio.sleep(0.2)
    entry = json.loads(lines[0])
    assert entry["request_id"] == f"end-{ecg_id}"
    assert entry["message"] == f"ECG {ecg_id} analysed: 1 window(s)"
    assert entry["level"] == "INFO"
