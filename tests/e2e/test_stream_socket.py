"""The stream WebSocket (``WS /api/v1/ecg/{id}/ws``) through the running stack, with a
real WebSocket client (``websockets``): a device that pipelines, repeats a chunk, loses
its connection, resumes from ``ready.next_seq`` and mixes in HTTP gets what the same
signal uploaded whole gets; every refusal of the handshake is the HTTP chunk endpoint's
problem response; a chunk's error leaves the connection open."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway.settings import Settings
from tests.binary_chunks import binary_chunk
from tests.e2e.conftest import Account, NewUser
from tests.e2e.streaming import (
    DATE,
    PROBLEM_JSON,
    device,
    open_stream,
    results,
    send,
    upload_whole,
)
from tests.e2e.test_tokens import sign
from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record

# The stack runs with the default ECG_CHUNK_BYTES: a text frame takes 8 bytes per byte.
TEXT_LIMIT = 8 * Settings.chunk_bytes
SIZES = [1, 360, 1000, 7, 2500, 4096, 123, 1900, 50, 3000]  # samples per chunk, cycled


def socket_url(gateway_url: str, ecg_id: str) -> str:
    return gateway_url.replace("http://", "ws://", 1) + f"/api/v1/ecg/{ecg_id}/ws"


def dial(gateway_url: str, ecg_id: str, token: str | None) -> connect:
    headers = {} if token is None else device(token)
    return connect(socket_url(gateway_url, ecg_id), additional_headers=headers, proxy=None)


def chunk(seq: int, signal: NDArray[np.int32] | list[list[int]]) -> str:
    rows = signal.tolist() if isinstance(signal, np.ndarray) else signal
    return json.dumps({"type": "chunk", "seq": seq, "signal": rows})


async def answer(socket: ClientConnection) -> dict[str, Any]:
    message = await socket.recv()
    assert isinstance(message, str), message
    document: dict[str, Any] = json.loads(message)
    return document


def ack(seq: int) -> dict[str, Any]:
    return {"type": "ack", "seq": seq}


async def refused(gateway_url: str, ecg_id: str, token: str | None) -> httpx.Response:
    """The HTTP response that refused the WebSocket handshake, as httpx would show it."""
    with pytest.raises(InvalidStatus) as error:
        async with dial(gateway_url, ecg_id, token):
            pass
    response = error.value.response
    return httpx.Response(
        response.status_code,
        headers=list(response.headers.raw_items()),
        content=bytes(response.body),
    )


async def test_a_record_streamed_over_a_websocket_gives_what_its_upload_gives(
    client: httpx.AsyncClient, gateway_url: str, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, :23_000]  # 63.9 s: six whole windows and a partial one
    uploaded = await upload_whole(client, signals, record.lead_names, record.sampling_rate)
    ecg_id, token = await open_stream(
        client, sampling_rate=record.sampling_rate, leads=record.lead_names
    )
    ends = itertools.takewhile(
        lambda end: end < 23_000, itertools.accumulate(itertools.cycle(SIZES))
    )
    cuts = [0, *ends, 23_000]
    pieces = [signals[:, a:b] for a, b in itertools.pairwise(cuts)]
    frames: list[str | bytes] = [chunk(seq, piece) for seq, piece in enumerate(pieces)]
    frames[5] = binary_chunk(5, pieces[5], width=2)  # a binary frame among the text ones
    assert len(pieces) == 18

    first = await dial(gateway_url, ecg_id, token)
    assert await answer(first) == {"type": "ready", "next_seq": 0}
    for seq in range(3):  # pipelined: three chunks, then their three answers
        await first.send(frames[seq])
    assert [await answer(first) for _ in range(3)] == [ack(0), ack(1), ack(2)]
    await first.send(frames[1])  # its ack was lost: sent again, acknowledged again
    assert await answer(first) == ack(1)
    for seq in (3, 4, 5):
        await first.send(frames[seq])
        assert await answer(first) == ack(seq)
    for seq in (6, 7, 8):  # sent, and the connection drops before any answer is read
        await first.send(frames[seq])
    first.transport.abort()

    retried = await send(client, ecg_id, token, 4, pieces[4].tolist())  # a retry over HTTP
    assert (retried.status_code, retried.json()) == (202, {"seq": 4})

    async with dial(gateway_url, ecg_id, token) as second:
        ready = await answer(second)
        assert ready["type"] == "ready"
        resume = ready["next_seq"]
        assert 6 <= resume <= 9, ready  # what Kafka had when the first connection dropped
        by_http = await send(client, ecg_id, token, resume, pieces[resume].tolist())
        assert (by_http.status_code, by_http.json()) == (202, {"seq": resume})
        rest = range(resume + 1, len(pieces))
        for seq in rest:
            await second.send(frames[seq])
        assert [await answer(second) for _ in rest] == [ack(seq) for seq in rest]
        await second.send(json.dumps({"type": "end"}))
        assert await answer(second) == {"type": "ended", "seq": len(pieces)}
        with pytest.raises(ConnectionClosed):
            await second.recv()
        assert second.close_code == 1000

    streamed_results = await results(client, ecg_id)
    assert streamed_results == await results(client, uploaded)
    assert streamed_results["status"] == "done"
    streamed = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()
    assert [lead["number_of_samples"] for lead in streamed["leads"]] == [23_000, 23_000]
    assert streamed["summary"]["n_windows"] == 7
    beats = (await client.get(f"/api/v1/ecg/{ecg_id}/beats")).json()
    assert len(beats["sample_indices"]) == pytest.approx(80, abs=5)  # ~76 bpm for 64 s


async def test_the_owner_streams_with_an_access_token_in_json_and_binary(
    client: httpx.AsyncClient, gateway_url: str, user: Account
) -> None:
    ecg_id, _ = await open_stream(client, sampling_rate=None)
    async with dial(gateway_url, ecg_id, user.access_token) as socket:
        assert await answer(socket) == {"type": "ready", "next_seq": 0}
        await socket.send(chunk(0, [[1, -1, 1], [0, 2, 0]]))
        await socket.send(binary_chunk(1, [[-1], [2]], width=2))
        await socket.send(binary_chunk(2, [[70_000, -70_000], [0, 1]], width=4))
        assert [await answer(socket) for _ in range(3)] == [ack(0), ack(1), ack(2)]
        await socket.send(json.dumps({"type": "end"}))
        assert await answer(socket) == {"type": "ended", "seq": 3}
    result = await wait_until_done(client, ecg_id)
    assert [lead["zero_crossings"] for lead in result["leads"]] == [5, 0]
    assert [lead["number_of_samples"] for lead in result["leads"]] == [6, 6]


async def test_a_gap_is_an_error_that_names_the_chunk_to_send_and_keeps_the_connection(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    ecg_id, token = await open_stream(client)
    async with dial(gateway_url, ecg_id, token) as socket:
        await answer(socket)
        await socket.send(chunk(0, [[1], [2]]))
        await socket.send(chunk(2, [[1], [2]]))
        assert await answer(socket) == ack(0)
        gap = await answer(socket)
        assert (gap["type"], gap["seq"]) == ("error", 2)
        assert gap["problem"]["type"] == "/problems/chunk-gap"
        assert gap["problem"]["status"] == 409
        assert gap["problem"]["expected_seq"] == 1
        assert "send seq 1 first" in gap["problem"]["detail"]
        await socket.send(chunk(1, [[1], [2]]))
        assert await answer(socket) == ack(1)


@pytest.mark.parametrize(
    ("frame", "seq", "status", "fields", "message"),
    [
        (
            json.dumps({"type": "chunk", "seq": 0, "signal": [[1, 2]]}),
            0,
            422,
            ["signal"],
            "expected 2 arrays of samples, one per lead",
        ),
        (
            json.dumps({"type": "chunk", "seq": 0, "signal": [[1], [2]], "sek": 1}),
            0,
            422,
            ["sek"],
            "unknown field",
        ),
        (chunk(-1, [[1], [2]]), None, 422, ["seq"], "expected an integer from 0"),
        (json.dumps({"seq": 0, "signal": [[1], [2]]}), None, 422, ["type"], "is required"),
        (json.dumps({"type": "stop"}), None, 422, ["type"], "'chunk' (with seq and signal)"),
        ('{"type": "chunk", "seq": 0,', None, 400, None, "not valid JSON"),
        (binary_chunk(0, [[1], [2]], magic=b"XX"), None, 422, ["header.magic"], "'EC'"),
        (binary_chunk(3, [[1], [2]]) + b"\x00", 3, 422, ["samples"], "whole number"),
    ],
)
async def test_a_frame_of_the_wrong_shape_is_an_error_that_says_what_to_fix(
    client: httpx.AsyncClient,
    gateway_url: str,
    frame: str | bytes,
    seq: int | None,
    status: int,
    fields: list[str] | None,
    message: str,
) -> None:
    ecg_id, token = await open_stream(client)
    async with dial(gateway_url, ecg_id, token) as socket:
        await answer(socket)
        await socket.send(frame)
        error = await answer(socket)
        assert (error["type"], error["seq"], error["problem"]["status"]) == ("error", seq, status)
        if fields is not None:
            assert [e["field"] for e in error["problem"]["errors"]] == fields
        assert message in error["problem"]["detail"]
        await socket.send(chunk(0, [[1], [2]]))  # the connection stays open
        assert await answer(socket) == ack(0)


async def test_a_frame_larger_than_a_chunk_body_closes_the_connection(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    ecg_id, token = await open_stream(client)
    async with dial(gateway_url, ecg_id, token) as socket:
        await answer(socket)
        await socket.send(chunk(0, [[1], [2]]).ljust(TEXT_LIMIT + 1))
        error = await answer(socket)
        assert (error["type"], error["seq"], error["problem"]["status"]) == ("error", None, 413)
        assert f"limit of {TEXT_LIMIT} bytes" in error["problem"]["detail"]
        with pytest.raises(ConnectionClosed):
            await socket.recv()
        assert socket.close_code == 1009


async def test_every_refusal_is_the_http_chunk_endpoints_problem_before_the_upgrade(
    client: httpx.AsyncClient,
    http: httpx.AsyncClient,
    gateway_url: str,
    user: Account,
    admin: Account,
    new_user: NewUser,
) -> None:
    mine, token = await open_stream(client)
    other, _ = await open_stream(client)

    no_token = await refused(gateway_url, mine, None)
    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == PROBLEM_JSON
    assert no_token.headers["www-authenticate"] == 'Bearer realm="ecg-pipeline"'
    assert no_token.json()["type"] == "/problems/missing-token"

    wrong_stream = await refused(gateway_url, other, token)
    assert wrong_stream.status_code == 403
    assert f"for the stream of ECG {mine}" in wrong_stream.json()["detail"]
    over_http = await send(http, other, token, 0, [[1], [2]])
    assert (wrong_stream.status_code, wrong_stream.json()) == (403, over_http.json())

    as_admin = await refused(gateway_url, mine, admin.access_token)
    assert as_admin.status_code == 403
    assert "administrators" in as_admin.json()["detail"]

    stranger = await new_user()
    unknown_id = str(uuid4())
    theirs = await refused(gateway_url, mine, stranger.access_token)
    unknown = await refused(gateway_url, unknown_id, stranger.access_token)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["detail"] == f"no ECG with id {mine}"
    assert theirs.json() == {**unknown.json(), "detail": f"no ECG with id {mine}"}

    ended = await client.post(f"/api/v1/ecg/{other}/end")
    assert ended.status_code == 202
    after_end = await refused(gateway_url, other, user.access_token)
    assert after_end.status_code == 409
    assert after_end.json()["type"] == "/problems/stream-ended"

    body = {"date": DATE, "leads": [{"name": "I", "signal": [1, 2]}]}
    whole = (await client.post("/api/v1/ecg/", json=body)).json()["id"]
    not_a_stream = await refused(gateway_url, whole, user.access_token)
    assert not_a_stream.status_code == 409
    assert not_a_stream.json()["type"] == "/problems/not-a-stream"


async def test_the_connection_closes_with_4401_when_its_token_expires(
    client: httpx.AsyncClient, gateway_url: str, user: Account, jwt_secret: str
) -> None:
    ecg_id, _ = await open_stream(client)
    now = int(time.time())
    claims = {
        "iss": "ecg-pipeline",
        "aud": "ecg-pipeline-api",
        "sub": user.id,
        "iat": now,
        "exp": now + 2,  # accepted until exp + the 5 s leeway of gateway.tokens
        "jti": str(uuid4()),
        "ecg": ecg_id,
        "token_use": "ingest",
    }
    short_lived = sign({"alg": "HS256", "typ": "JWT"}, claims, jwt_secret)
    async with dial(gateway_url, ecg_id, short_lived) as socket:
        assert await answer(socket) == {"type": "ready", "next_seq": 0}
        await socket.send(chunk(0, [[1], [2]]))
        assert await answer(socket) == ack(0)
        expired = await answer(socket)  # unasked: the token ran out while the device idled
        assert (expired["type"], expired["seq"]) == ("error", None)
        assert expired["problem"]["detail"] == "the token has expired"
        with pytest.raises(ConnectionClosed):
            await socket.recv()
        assert socket.close_code == 4401
        assert time.time() > now + 2 + 5 - 0.1  # not before exp + leeway (event-loop timer)
