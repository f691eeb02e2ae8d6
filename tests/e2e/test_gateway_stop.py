"""A gateway process stopped by SIGTERM (a deploy, ``make down``, a Kubernetes rollout)
stops taking connections, answers the request in flight, and closes its WebSockets with
1012 (service restart) after writing their streams' positions: a device resumes on
another gateway process at once, from its last ack, with nothing lost.

The stopped gateway is a process of this test's own, beside the shared stack's (same
PostgreSQL, Kafka and signing key); the device resumes on the shared one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from infra.net import free_ports, http_ok
from tests.e2e.conftest import Account
from tests.e2e.streaming import open_stream, results
from tests.e2e.test_stream_socket import ack, answer, chunk, dial
from tests.records import read_record

STOP_SECONDS = 30.0
UVICORN = (
    *(sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app"),
    *("--timeout-graceful-shutdown", "20"),  # as infra.apps and the Dockerfile run it
)
RATE = 360


class Gateway:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "gateway.log").open("ab") as log:
        process = subprocess.Popen(
            [*UVICORN, "--host", "127.0.0.1", "--port", str(port)],
            env=os.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not http_ok(url + "/healthz"):
            assert process.poll() is None, (tmp_path / "gateway.log").read_text()
            assert time.monotonic() < deadline, "the test's gateway did not start"
            time.sleep(0.2)
        yield Gateway(process, url)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def slow_body(first: bytes, rest: bytes, pause: float) -> AsyncIterator[bytes]:
    yield first
    await asyncio.sleep(pause)
    yield rest


@pytest.mark.timeout(180)
async def test_a_stopped_gateway_answers_what_it_took_and_its_devices_resume_elsewhere(
    gateway: Gateway,
    client: httpx.AsyncClient,
    user: Account,
    data_dir: Path,
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 30 * RATE]
    pieces = [signals[:, start : start + RATE] for start in range(0, 30 * RATE, RATE)]
    ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
    upload = {
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": RATE,
        "leads": [
            {"name": name, "signal": lead.tolist()}
            for name, lead in zip(record.lead_names, signals, strict=True)
        ],
    }
    body = json.dumps(upload).encode()

    async with (
        dial(gateway.url, ecg_id, token) as socket,
        httpx.AsyncClient(base_url=gateway.url, headers=user.headers(), timeout=60) as stopped,
    ):
        assert await answer(socket) == {"type": "ready", "next_seq": 0}
        for seq in range(10):
            await socket.send(chunk(seq, pieces[seq]))
            assert await answer(socket) == ack(seq)
        # An upload in flight: its headers and half its body are in when SIGTERM comes.
        half = len(body) // 2
        in_flight = asyncio.create_task(
            stopped.post(
                "/api/v1/ecg/",
                content=slow_body(body[:half], body[half:], pause=1.5),
                headers={"Content-Type": "application/json"},
            )
        )
        await asyncio.sleep(0.5)
        gateway.process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()

        with pytest.raises(Exception) as closed:  # noqa: PT011 -- websockets' ConnectionClosed*
            await socket.recv()
        assert socket.close_code == 1012, closed.value  # service restart: come back
        uploaded = await in_flight
        assert uploaded.status_code == 202, uploaded.text
        # uvicorn stops gracefully, then ends by the signal it caught (its exit status).
        assert gateway.process.wait(STOP_SECONDS) == -signal.SIGTERM
        print(f"gateway stop: {time.monotonic() - stopping:.1f} s")
    with pytest.raises(httpx.ConnectError):
        await client.get(gateway.url + "/healthz")

    # The device resumes on the shared gateway at once: the position was written at the
    # close and the lease given up, so no 503 while a lease runs out.
    async with dial(str(client.base_url).rstrip("/"), ecg_id, token) as resumed:
        assert await answer(resumed) == {"type": "ready", "next_seq": 10}
        for seq in range(10, len(pieces)):
            await resumed.send(chunk(seq, pieces[seq]))
            assert await answer(resumed) == ack(seq)
        await resumed.send(json.dumps({"type": "end"}))
        assert await answer(resumed) == {"type": "ended", "seq": len(pieces)}

    # The stream's results are those of the same signal uploaded whole (the upload that
    # was in flight when the gateway stopped).
    streamed = await results(client, ecg_id)
    assert streamed == await results(client, uploaded.json()["id"])
    assert streamed["status"] == "done"
