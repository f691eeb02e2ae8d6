"""The gateway's stream WebSocket seen from a device: the same two
calls as ``HttpChunks`` (``send``, ``end``) over one connection per stream, so that
``ecg simulate --transport ws`` runs the same device loop.

- The connection opens at the first call and is reused; the handshake carries the
  ingest token. A refused handshake is the HTTP chunk endpoint's problem response and
  is classified as HTTP's (503 -> retry later, 409 stream-ended -> refused, ...).
- One chunk at a time: each ``send`` writes a frame and waits for its answer, so an
  ack's latency means what it means over HTTP (send to ``ack``). ``ack`` -> ``Acked``,
  ``retry`` -> ``RetryLater`` after ``retry_after``, ``error`` -> its problem
  classified as HTTP's (chunk-gap -> ``Gap``, anything else -> ``Refused``).
- A connection that drops (or an answer slower than ``ANSWER_SECONDS``) is a
  ``RetryLater``: the next attempt reconnects and reads ``ready.next_seq``. Above the
  chunk's seq, the lost answer was an ack; below it, an acknowledged chunk is missing
  (a ``Gap``); equal, the chunk is sent again.
- ``end`` sends ``{"type": "end"}`` and waits for ``ended``; the gateway then closes.
  An end whose answer was lost meets a refused handshake (409 stream-ended) on
  reconnecting: that is its ack.

Compression is off: chunk frames are small, and deflate would cost both sides CPU that
the HTTP transport does not spend.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from client.chunks import Chunk
from client.outcomes import (
    Acked,
    Gap,
    Outcome,
    Refused,
    RetryLater,
    classify,
)

ANSWER_SECONDS: Final = 30.0  # as long as the HTTP transport waits for a response
OPEN_SECONDS: Final = 10.0
ENDED_TYPE: Final = "/problems/stream-ended"
Frame = str | bytes


class Connection(Protocol):
    """What of a ``websockets`` client connection the transport uses."""

    async def send(self, message: Frame) -> None: ...

    async def recv(self) -> Frame: ...

    async def close(self) -> None: ...


Dial = Callable[[], Awaitable[Connection]]


class ConnectionLostError(Exception):
    """The connection dropped or went silent: reconnect and resume."""


class RefusalError(Exception):
    """The gateway refused the handshake, or answered out of turn: ``outcome`` says how;
    ``problem_type`` is the refused handshake's problem type."""

    def __init__(self, outcome: Outcome, problem_type: str | None = None) -> None:
        super().__init__(str(outcome))
        self.outcome = outcome
        self.problem_type = problem_type


class SocketChunks:
    """One stream's chunks over ``WS /api/v1/ecg/{id}/ws``, as JSON text frames or, with
    ``binary``, binary frames."""

    def __init__(self, dial: Dial, *, binary: bool = False) -> None:
        self._dial = dial
        self._binary = binary
        self._connection: Connection | None = None
        self._next_seq = 0  # the gateway's ready.next_seq at the last (re)connection
        self._end_sent = False

    async def send(self, chunk: Chunk) -> Outcome:
        seq = chunk.seq
        try:
            fresh = self._connection is None
            connection = await self._connected()
            if fresh and (resumed := resume(self._next_seq, seq)) is not None:
                return resumed
            frame = chunk.binary if self._binary else json_chunk(seq, chunk.signal)
            return classify_answer(await self._ask(connection, frame), "ack", seq)
        except ConnectionLostError as exc:
            return RetryLater(str(exc))
        except RefusalError as exc:
            return exc.outcome

    async def end(self) -> Outcome:
        """End the stream; an end sent before whose answer was lost finds the stream ended
        at the handshake, and is acknowledged by that. (A stream that the pipeline closed
        for silence looks the same here; its lookup then says 'incomplete'.)"""
        try:
            connection = await self._connected()
            self._end_sent = True
            answer = await self._ask(connection, json.dumps({"type": "end"}))
        except ConnectionLostError as exc:
            return RetryLater(str(exc))
        except RefusalError as exc:
            ended = self._end_sent and exc.problem_type == ENDED_TYPE
            return Acked() if ended else exc.outcome
        outcome = classify_answer(answer, "ended", None)
        if isinstance(outcome, Acked):
            await self.close()
        return outcome

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _connected(self) -> Connection:
        """The open connection, or a new one once the gateway said ``ready``."""
        if self._connection is not None:
            return self._connection
        try:
            connection = await self._dial()
        except InvalidStatus as exc:
            status, headers, body = (
                exc.response.status_code,
                exc.response.headers,
                exc.response.body,
            )
            problem = _json(body)
            kind = problem.get("type") if isinstance(problem, dict) else None
            raise RefusalError(classify(status, headers, problem), kind) from exc
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise ConnectionLostError(f"no connection: {exc!r}") from exc
        try:
            self._next_seq = ready_seq(await self._ask(connection, None))
        except RefusalError:
            await connection.close()
            raise
        self._connection = connection
        return connection

    async def _ask(self, connection: Connection, frame: Frame | None) -> dict[str, Any]:
        """The answer to ``frame`` (None: the next message); a connection that drops or
        stays silent is closed and forgotten."""
        try:
            async with asyncio.timeout(ANSWER_SECONDS):
                if frame is not None:
                    await connection.send(frame)
                message = await connection.recv()
        except TimeoutError as exc:
            await self._drop(connection)
            raise ConnectionLostError(f"no answer within {ANSWER_SECONDS:g} s") from exc
        except (ConnectionClosed, OSError) as exc:
            await self._drop(connection)
            raise ConnectionLostError(f"connection lost: {exc!r}") from exc
        answer = _json(message)
        if not isinstance(answer, dict):
            raise RefusalError(
                Refused(f"the gateway answered with something else than JSON: {message!r}")
            )
        return answer

    async def _drop(self, connection: Connection) -> None:
        self._connection = None
        await connection.close()


def dial_stream(gateway_url: str, ecg_id: str, ingest_token: str) -> Dial:
    """How to open the WebSocket of ECG ``ecg_id`` at the gateway ``gateway_url``."""
    url = socket_url(gateway_url, ecg_id)
    headers = {"Authorization": f"Bearer {ingest_token}"}

    async def dial() -> Connection:
        return await connect(
            url,
            additional_headers=headers,
            compression=None,
            proxy=None,
            open_timeout=OPEN_SECONDS,
        )

    return dial


def socket_url(gateway_url: str, ecg_id: str) -> str:
    """``ws://`` (``wss://`` for https) + the stream's WebSocket path."""
    scheme, sep, rest = gateway_url.rstrip("/").partition("://")
    ws = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme)
    return f"{ws}{sep}{rest}/api/v1/ecg/{ecg_id}/ws"


def json_chunk(seq: int, signal: NDArray[np.int32]) -> str:
    body = {"type": "chunk", "seq": seq, "signal": signal.tolist()}
    return json.dumps(body, separators=(",", ":"))


def resume(next_seq: int, seq: int) -> Outcome | None:
    """What a fresh connection's ``ready.next_seq`` says of chunk ``seq`` before it is
    sent: ``Acked`` (an earlier attempt got through, its ack was lost), ``Gap`` (the
    gateway lacks an earlier chunk) or None (send it)."""
    if next_seq > seq:
        return Acked()
    if next_seq < seq:
        return Gap(next_seq)
    return None


def ready_seq(answer: Mapping[str, Any]) -> int:
    """``next_seq`` of the gateway's first message, ``ready``; RefusalError (with what the
    device does) for any other."""
    outcome = classify_answer(answer, "ready", None)
    next_seq = answer.get("next_seq")
    if isinstance(outcome, Acked) and type(next_seq) is int:
        return next_seq
    if isinstance(outcome, Acked):
        outcome = Refused(f"expected 'ready' with next_seq, got {dict(answer)!r}")
    raise RefusalError(outcome)


def classify_answer(answer: Mapping[str, Any], expected: str, seq: int | None) -> Outcome:
    """What a device does with the gateway's ``answer`` when it waits for ``expected``
    (``ack`` of chunk ``seq``, ``ended``, ``ready``)."""
    kind = answer.get("type")
    if kind == expected and (seq is None or answer.get("seq") == seq):
        return Acked()
    if kind == "retry":
        detail = str(answer.get("detail") or "the gateway asks to retry")
        return RetryLater(f"retry: {detail}", _seconds(answer.get("retry_after")))
    if kind == "error":
        problem = answer.get("problem")
        problem = problem if isinstance(problem, dict) else {}
        status = problem.get("status")
        return classify(status if type(status) is int else 0, {}, problem)
    return Refused(f"expected {expected!r}{_of(seq)}, got {dict(answer)!r}")


def _of(seq: int | None) -> str:
    return "" if seq is None else f" of seq {seq}"


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0.0, float(value))
    return None


def _json(data: str | bytes | bytearray) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
