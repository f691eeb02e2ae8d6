"""A simulated device on the stream WebSocket: what it does with each answer, how it
resumes after a dropped connection, and what its frames look like to the gateway. The
connection is a scripted stand-in; the e2e tests dial the real one."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.http11 import Response

from client.chunks import Chunk
from client.outcomes import Acked, Gap, Outcome, Refused, RetryLater
from client.websocket import (
    Connection,
    RefusalError,
    SocketChunks,
    classify_answer,
    json_chunk,
    ready_seq,
    resume,
    socket_url,
)
from gateway.devices.frames import ChunkFrame, decode_frame, read_chunk

GAP = {"type": "/problems/chunk-gap", "status": 409, "expected_seq": 4, "detail": "send 4"}
Script = dict[str, Any] | Exception


def block(rows: list[list[int]]) -> NDArray[np.int32]:
    return np.array(rows, dtype=np.int32)


def error(problem: dict[str, Any], seq: int | None = 5) -> dict[str, Any]:
    return {"type": "error", "seq": seq, "problem": problem}


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"type": "ack", "seq": 5}, Acked()),
        (
            {"type": "retry", "seq": 5, "retry_after": 2, "detail": "Kafka"},
            RetryLater("retry: Kafka", 2.0),
        ),
        ({"type": "retry", "seq": 5}, RetryLater("retry: the gateway asks to retry", None)),
        (error(GAP), Gap(4)),
        (error({"status": 422, "detail": "signal: too long"}), Refused("422 signal: too long")),
        (
            error({"status": 409, "type": "/problems/stream-ended", "detail": "ended"}),
            Refused("409 ended"),
        ),
        (
            error({"status": 401, "detail": "the token has expired"}, None),
            Refused("401 the token has expired"),
        ),
    ],
)
def test_a_chunks_answer_is_what_the_http_transport_would_make_of_it(
    answer: dict[str, Any], outcome: Outcome
) -> None:
    assert classify_answer(answer, "ack", 5) == outcome


def test_an_answer_out_of_turn_is_refused_with_what_came() -> None:
    other_ack = classify_answer({"type": "ack", "seq": 4}, "ack", 5)
    assert isinstance(other_ack, Refused)
    assert "expected 'ack' of seq 5" in other_ack.reason
    assert classify_answer({"type": "ended", "seq": 9}, "ended", None) == Acked()
    assert isinstance(classify_answer({"type": "ended", "seq": 9}, "ack", 9), Refused)


def test_ready_gives_the_seq_to_send_next() -> None:
    assert ready_seq({"type": "ready", "next_seq": 7}) == 7
    with pytest.raises(RefusalError) as without_seq:
        ready_seq({"type": "ready"})
    assert isinstance(without_seq.value.outcome, Refused)
    with pytest.raises(RefusalError) as refused:
        ready_seq(error({"status": 403, "detail": "not yours"}, None))
    assert refused.value.outcome == Refused("403 not yours")


def test_after_a_reconnection_ready_says_whether_the_chunk_got_through() -> None:
    assert resume(next_seq=6, seq=5) == Acked()  # its ack was lost with the connection
    assert resume(next_seq=5, seq=5) is None  # send it
    assert resume(next_seq=3, seq=5) == Gap(3)  # an acknowledged chunk is missing


def test_the_socket_url_follows_the_gateways_scheme() -> None:
    assert socket_url("http://127.0.0.1:8000", "e1") == "ws://127.0.0.1:8000/api/v1/ecg/e1/ws"
    assert socket_url("https://ecg.example/", "e1") == "wss://ecg.example/api/v1/ecg/e1/ws"


def test_a_json_frame_is_read_by_the_gateway_as_the_chunk_sent() -> None:
    frame = decode_frame(json_chunk(3, block([[1, -2], [300, 4]])))
    assert isinstance(frame, ChunkFrame)
    chunk = read_chunk(frame, ["I", "II"], 100)
    assert chunk.seq == 3
    assert [lead.tolist() for lead in chunk.signals] == [[1, -2], [300, 4]]


class ScriptedConnection:
    """Answers from a script: a dict is a JSON text message, an exception is raised."""

    def __init__(self, *script: Script) -> None:
        self.script = list(script)
        self.sent: list[str | bytes] = []
        self.closed = False

    async def send(self, message: str | bytes) -> None:
        self.sent.append(message)

    async def recv(self) -> str | bytes:
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return json.dumps(step)

    async def close(self) -> None:
        self.closed = True


class Dialer:
    """Each dial gives the next connection, or raises the next exception."""

    def __init__(self, *results: ScriptedConnection | Exception) -> None:
        self.results = list(results)
        self.dials = 0

    async def __call__(self) -> Connection:
        self.dials += 1
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def ready(next_seq: int) -> dict[str, Any]:
    return {"type": "ready", "next_seq": next_seq}


def ack(seq: int) -> dict[str, Any]:
    return {"type": "ack", "seq": seq}


def dropped() -> ConnectionClosedError:
    return ConnectionClosedError(None, None)


def refused_handshake(
    status: int, problem: dict[str, Any], headers: dict[str, str] | None = None
) -> InvalidStatus:
    body = json.dumps(problem).encode()
    return InvalidStatus(Response(status, "refused", Headers(headers or {}), body))


async def test_one_connection_carries_every_chunk_and_the_end() -> None:
    connection = ScriptedConnection(ready(0), ack(0), ack(1), {"type": "ended", "seq": 2})
    dial = Dialer(connection)
    chunks = SocketChunks(dial)
    assert await chunks.send(Chunk(0, block([[1, 2], [3, 4]]))) == Acked()
    assert await chunks.send(Chunk(1, block([[5], [6]]))) == Acked()
    assert await chunks.end() == Acked()
    assert dial.dials == 1
    assert [json.loads(m) for m in connection.sent] == [
        {"type": "chunk", "seq": 0, "signal": [[1, 2], [3, 4]]},
        {"type": "chunk", "seq": 1, "signal": [[5], [6]]},
        {"type": "end"},
    ]
    assert connection.closed


async def test_binary_frames_carry_the_same_chunk() -> None:
    connection = ScriptedConnection(ready(0), ack(0))
    assert (
        await SocketChunks(Dialer(connection), binary=True).send(Chunk(0, block([[1, 2], [3, 4]])))
        == Acked()
    )
    frame = decode_frame(connection.sent[0])
    assert isinstance(frame, ChunkFrame)
    assert [lead.tolist() for lead in read_chunk(frame, ["I", "II"], 10).signals] == [
        [1, 2],
        [3, 4],
    ]


async def test_a_dropped_connection_is_retried_and_ready_tells_if_the_chunk_arrived() -> None:
    first = ScriptedConnection(ready(0), ack(0), dropped())
    resent = ScriptedConnection(ready(1), ack(1), dropped())  # chunk 1 had not arrived
    acked = ScriptedConnection(ready(3))  # chunk 2 had arrived, its ack was lost
    dial = Dialer(first, resent, OSError("connection refused"), acked)
    chunks = SocketChunks(dial)
    assert await chunks.send(Chunk(0, block([[0]]))) == Acked()
    lost = await chunks.send(Chunk(1, block([[1]])))
    assert isinstance(lost, RetryLater)
    assert lost.seconds is None  # the device's own backoff
    assert first.closed
    assert await chunks.send(Chunk(1, block([[1]]))) == Acked()
    assert [json.loads(m)["seq"] for m in resent.sent] == [1]
    assert isinstance(await chunks.send(Chunk(2, block([[2]]))), RetryLater)
    no_connection = await chunks.send(Chunk(2, block([[2]])))
    assert isinstance(no_connection, RetryLater)
    assert "connection refused" in no_connection.reason
    assert await chunks.send(Chunk(2, block([[2]]))) == Acked()
    assert acked.sent == []  # not sent twice
    assert dial.dials == 4


async def test_a_reconnection_that_finds_an_earlier_chunk_missing_is_a_gap() -> None:
    dial = Dialer(ScriptedConnection(ready(0), ack(0), dropped()), ScriptedConnection(ready(0)))
    chunks = SocketChunks(dial)
    assert await chunks.send(Chunk(0, block([[0]]))) == Acked()
    assert isinstance(await chunks.send(Chunk(1, block([[1]]))), RetryLater)
    assert await chunks.send(Chunk(1, block([[1]]))) == Gap(0)


async def test_a_refused_handshake_is_classified_as_the_http_response_it_is() -> None:
    unavailable = refused_handshake(503, {"status": 503, "detail": "Kafka"}, {"Retry-After": "3"})
    forbidden = refused_handshake(403, {"status": 403, "detail": "not your stream"})
    chunks = SocketChunks(Dialer(unavailable, forbidden))
    assert await chunks.send(Chunk(0, block([[0]]))) == RetryLater("503 Kafka", 3.0)
    assert await chunks.send(Chunk(0, block([[0]]))) == Refused("403 not your stream")


async def test_the_gateway_asking_to_retry_keeps_the_connection() -> None:
    retry = {"type": "retry", "seq": 0, "retry_after": 1, "detail": "Kafka is unavailable"}
    connection = ScriptedConnection(ready(0), retry, ack(0))
    dial = Dialer(connection)
    chunks = SocketChunks(dial)
    assert await chunks.send(Chunk(0, block([[0]]))) == RetryLater(
        "retry: Kafka is unavailable", 1.0
    )
    assert await chunks.send(Chunk(0, block([[0]]))) == Acked()
    assert (dial.dials, connection.closed) == (1, False)


async def test_an_end_whose_answer_was_lost_finds_the_stream_ended() -> None:
    ended = refused_handshake(409, {"status": 409, "type": "/problems/stream-ended"})
    chunks = SocketChunks(Dialer(ScriptedConnection(ready(0), dropped()), ended))
    assert isinstance(await chunks.end(), RetryLater)
    assert await chunks.end() == Acked()


async def test_a_stream_found_ended_before_any_end_was_sent_is_refused() -> None:
    ended = refused_handshake(409, {"status": 409, "type": "/problems/stream-ended"})
    assert isinstance(await SocketChunks(Dialer(ended)).end(), Refused)
