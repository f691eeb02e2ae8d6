"""Kafka stops while a device streams over the WebSocket: the chunk in hand is answered
with a retry message, never an ack, and nothing moves; once the broker is back the device
reconnects, resumes from ``ready.next_seq`` and the results are those of the same signal
uploaded whole. The broker, worker and gateway are the test's own
(``tests.e2e.private_stack``), as in ``tests/e2e/test_kafka_outage.py``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.e2e.private_stack import PrivateStack, private_stack
from tests.e2e.streaming import open_stream, results
from tests.e2e.test_kafka_outage import (
    ANSWER_SLACK,
    PUBLISH_TIMEOUT,
    RECOVERY_SECONDS,
    next_seq,
    reference,
    user_client,
)
from tests.e2e.test_stream_socket import ack, answer, chunk, dial
from tests.records import read_record

SAMPLES = 24 * 360  # 24 s of MIT-BIH record 100: two whole windows and a partial one
CHUNK = 360
SENT_BEFORE = 8  # chunks acknowledged before the broker stops


@pytest.fixture
def stack(tmp_path: Path, database_url: str, jwt_secret: str) -> Iterator[PrivateStack]:
    with private_stack(
        tmp_path,
        database_url,
        jwt_secret,
        ECG_PUBLISH_TIMEOUT_SECONDS=f"{PUBLISH_TIMEOUT:g}",
        ECG_TOPIC_PARTITIONS="1",
    ) as started:
        yield started


async def send_until_acked(socket: ClientConnection, seq: int, frame: str) -> int:
    """Send chunk ``seq`` again after each retry message's ``retry_after``, for at most
    ``RECOVERY_SECONDS``; return how many retries came before its ack."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    retries = 0
    while True:
        await socket.send(frame)
        reply = await answer(socket)
        if reply == ack(seq):
            return retries
        assert (reply["type"], reply["seq"]) == ("retry", seq), reply
        retries += 1
        assert time.monotonic() + reply["retry_after"] < deadline, reply
        await asyncio.sleep(reply["retry_after"])


@pytest.mark.timeout(600)
async def test_a_websocket_stream_gets_retries_and_no_ack_while_kafka_is_down(
    stack: PrivateStack, data_dir: Path, database_url: str
) -> None:
    signals = read_record(data_dir / "mitdb" / "100").signals[:, :SAMPLES]
    frames = [
        chunk(seq, signals[:, a : a + CHUNK]) for seq, a in enumerate(range(0, SAMPLES, CHUNK))
    ]
    async with user_client(stack, database_url) as client:
        whole = await reference(client, stack, signals)
        ecg_id, token = await open_stream(client, sampling_rate=360, leads=["MLII", "V5"])

        async with dial(stack.gateway_url, ecg_id, token) as socket:
            assert await answer(socket) == {"type": "ready", "next_seq": 0}
            for seq in range(SENT_BEFORE):
                await socket.send(frames[seq])
            assert [await answer(socket) for _ in range(SENT_BEFORE)] == [
                ack(seq) for seq in range(SENT_BEFORE)
            ]
            await asyncio.to_thread(stack.stop_kafka)  # the socket keeps answering pings
            started = time.monotonic()
            await socket.send(frames[SENT_BEFORE])
            await socket.send(frames[SENT_BEFORE + 1])  # pipelined behind it
            retry: dict[str, Any] = await answer(socket)
            waited = time.monotonic() - started
            assert (retry["type"], retry["seq"]) == ("retry", SENT_BEFORE), retry
            assert retry["retry_after"] >= 1
            assert "retry later" in retry["detail"]
            assert waited < PUBLISH_TIMEOUT + ANSWER_SLACK, waited
            behind = await answer(socket)
            assert (behind["type"], behind["seq"]) == ("error", SENT_BEFORE + 1), behind
            assert behind["problem"]["expected_seq"] == SENT_BEFORE
            # Nothing refused is counted: the connection counts its chunks in memory and
            # writes them every few seconds (gateway.devices.leases), never beyond the
            # acknowledged ones; at the close it writes them all, which ready says below.
            assert await next_seq(database_url, ecg_id) <= SENT_BEFORE

        stack.start_kafka()  # in this thread: the broker dies with it
        async with dial(stack.gateway_url, ecg_id, token) as socket:
            assert await answer(socket) == {"type": "ready", "next_seq": SENT_BEFORE}
            retries = await send_until_acked(socket, SENT_BEFORE, frames[SENT_BEFORE])
            for seq in range(SENT_BEFORE + 1, len(frames)):
                await socket.send(frames[seq])
            assert [await answer(socket) for _ in range(SENT_BEFORE + 1, len(frames))] == [
                ack(seq) for seq in range(SENT_BEFORE + 1, len(frames))
            ]
            await socket.send(json.dumps({"type": "end"}))
            assert await answer(socket) == {"type": "ended", "seq": len(frames)}
        streamed = await results(client, ecg_id)
    print(f"websocket kafka outage: {retries} retries after the broker came back")
    assert streamed == whole
    assert streamed["summary"]["n_windows"] == 3
