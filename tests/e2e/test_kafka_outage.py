"""Kafka stops in the middle of a device stream: the gateway answers 503 with
``Retry-After`` and acknowledges nothing; once the broker is back the device resumes
and the results are those of the same signal uploaded whole.

The broker, worker and gateway are the test's own (``tests.e2e.private_stack``): the
shared broker must keep serving the other tests. The test talks to the private gateway
through the public API only, as a device would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest
from numpy.typing import NDArray

from tests.e2e.conftest import make_admin, register_user
from tests.e2e.private_stack import PrivateStack, private_stack
from tests.e2e.streaming import PROBLEM_JSON, device, open_stream, results, send, upload_whole
from tests.records import read_record

PUBLISH_TIMEOUT = 2.0  # ECG_PUBLISH_TIMEOUT_SECONDS of the private gateway
SAMPLES = 64 * 360  # 64 s of MIT-BIH record 100
CHUNK = 360  # one second per chunk: 64 chunks
SENT_BEFORE = 20  # chunks acknowledged before the broker stops
OUTAGE_ATTEMPTS = 3  # tries of the next chunk while the broker is down
RECOVERY_SECONDS = 90.0  # the most the device waits for a 202 once the broker is back
# How much longer than the publish timeout a 503 may take (HTTP, PostgreSQL, scheduling
# on a busy two-core machine).
ANSWER_SLACK = 3.0


@pytest.fixture
def stack(tmp_path: Path, database_url: str, jwt_secret: str) -> Iterator[PrivateStack]:
    with private_stack(
        tmp_path,
        database_url,
        jwt_secret,
        ECG_PUBLISH_TIMEOUT_SECONDS=f"{PUBLISH_TIMEOUT:g}",
        ECG_TOPIC_PARTITIONS="1",
        # One pooled connection, waited for at most 1 s: a chunk request that held it
        # while Kafka does not answer (PUBLISH_TIMEOUT) would starve every other request.
        ECG_DATABASE_POOL_SIZE="1",
        ECG_DATABASE_TIMEOUT_SECONDS="1",
    ) as started:
        yield started


@pytest.fixture
def signals(data_dir: Path) -> NDArray[np.int32]:
    record = read_record(data_dir / "mitdb" / "100")
    assert record.lead_names == ["MLII", "V5"]
    return record.signals[:, :SAMPLES]


@asynccontextmanager
async def user_client(stack: PrivateStack, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the private gateway with a new user's access token (the user is
    registered by a new admin, both through that gateway)."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as http:
        user = await register_user(http, await make_admin(http, database_url))
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers=user.headers(), timeout=60
    ) as client:
        yield client


async def reference(
    client: httpx.AsyncClient, stack: PrivateStack, signals: NDArray[np.int32]
) -> dict[str, Any]:
    """The results of ``signals`` uploaded in one request: what the stream must give,
    and proof that the private pipeline works before the fault."""
    whole = await results(client, await upload_whole(client, signals, ["MLII", "V5"], 360))
    assert whole["status"] == "done", stack.logs()
    return whole


async def next_seq(database_url: str, ecg_id: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        value = await connection.fetchval(
            "SELECT next_seq FROM ecg_streams WHERE ecg_id = $1::uuid", ecg_id
        )
    finally:
        await connection.close()
    assert isinstance(value, int)
    return value


def check_unavailable(response: httpx.Response) -> int:
    """A 503 problem that tells the device to come back; its Retry-After in seconds."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "/problems/service-unavailable"
    assert "retry later" in problem["detail"]
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


async def send_until_accepted(
    client: httpx.AsyncClient, ecg_id: str, token: str, seq: int, piece: list[list[int]]
) -> tuple[httpx.Response, int]:
    """Send chunk ``seq`` again after each 503's Retry-After, for at most
    ``RECOVERY_SECONDS``; the first other answer and how many 503s came before it."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    refused = 0
    while True:
        answer = await send(client, ecg_id, token, seq, piece)
        if answer.status_code != 503:
            return answer, refused
        refused += 1
        wait = check_unavailable(answer)
        assert time.monotonic() + wait < deadline, (
            f"chunk {seq} still refused {RECOVERY_SECONDS:g} s after the broker came back"
        )
        await asyncio.sleep(wait)


@pytest.mark.timeout(600)
async def test_a_stream_survives_a_kafka_outage(
    stack: PrivateStack,
    signals: NDArray[np.int32],
    database_url: str,
    record_property: Callable[[str, object], None],
) -> None:
    pieces = [signals[:, start : start + CHUNK].tolist() for start in range(0, SAMPLES, CHUNK)]
    async with user_client(stack, database_url) as client:
        whole = await reference(client, stack, signals)

        ecg_id, token = await open_stream(client, sampling_rate=360, leads=["MLII", "V5"])
        for seq in range(SENT_BEFORE):
            answer = await send(client, ecg_id, token, seq, pieces[seq])
            assert answer.status_code == 202, answer.text
        others = [
            await open_stream(client, sampling_rate=360, leads=["MLII", "V5"]) for _ in range(4)
        ]

        stop_seconds = stack.stop_kafka()
        # The first chunks after the broker stopped wait out the publish timeout, holding
        # no pooled connection: with the gateway's one, a lookup and the health check are
        # answered from PostgreSQL meanwhile.
        waiting = [
            asyncio.create_task(send(client, other, other_token, 0, pieces[0]))
            for other, other_token in others
        ]
        await asyncio.sleep(PUBLISH_TIMEOUT / 4)
        lookup, health = await client.get(f"/api/v1/ecg/{ecg_id}"), await client.get("/healthz")
        assert not any(task.done() for task in waiting), "answered only once a chunk gave up"
        assert [answer.status_code for answer in await asyncio.gather(*waiting)] == [503] * 4
        assert lookup.status_code == 200, lookup.text
        assert health.json()["checks"]["postgresql"] == "ok", health.text
        outage_answers = []
        for _ in range(OUTAGE_ATTEMPTS):
            started = time.monotonic()
            refused = await send(client, ecg_id, token, SENT_BEFORE, pieces[SENT_BEFORE])
            outage_answers.append(time.monotonic() - started)
            await asyncio.sleep(check_unavailable(refused))  # as a device would
        assert max(outage_answers) < PUBLISH_TIMEOUT + ANSWER_SLACK, outage_answers
        health = await client.get("/healthz")
        assert health.status_code == 503, health.text
        assert health.json()["checks"]["kafka"] == "unavailable"
        assert "retry-after" in health.headers
        assert await next_seq(database_url, ecg_id) == SENT_BEFORE

        restart_seconds = stack.start_kafka()  # in this thread: the broker dies with it
        back = time.monotonic()
        accepted, refused_after = await send_until_accepted(
            client, ecg_id, token, SENT_BEFORE, pieces[SENT_BEFORE]
        )
        first_202 = time.monotonic() - back
        assert accepted.status_code == 202, f"{accepted.text}\n{stack.logs()}"
        assert accepted.json() == {"seq": SENT_BEFORE}
        assert (await client.get("/healthz")).status_code == 200
        for seq in range(SENT_BEFORE + 1, len(pieces)):
            answer = await send(client, ecg_id, token, seq, pieces[seq])
            assert answer.status_code == 202, answer.text
        ended = await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))
        assert (ended.status_code, ended.json()) == (202, {"seq": len(pieces)})

        streamed = await results(client, ecg_id)
    measured = {
        "kafka_stop_seconds": round(stop_seconds, 2),
        "outage_503_seconds": [round(s, 2) for s in outage_answers],
        "kafka_restart_seconds": round(restart_seconds, 2),
        "first_202_after_restart_seconds": round(first_202, 2),
        "503s_after_restart": refused_after,
    }
    for name, value in measured.items():
        record_property(name, value)
    print(f"kafka outage: {measured}")
    assert streamed == whole
    assert streamed["status"] == "done"
    assert streamed["summary"]["n_windows"] == 7
    assert [lead["number_of_samples"] for lead in streamed["leads"]] == [SAMPLES, SAMPLES]
