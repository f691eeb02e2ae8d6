"""``WS /api/v1/ecg/{ecg_id}/ws``: a stream's chunks over one WebSocket, one answer each.

The same chunks, rules and effects as ``POST /chunks`` and ``POST /end``
(``gateway.devices.endpoints``, ``gateway.devices.service``), without a request per chunk.

- Handshake: ``Authorization: Bearer <the stream's ingest token or the owner's access
  token>``. A refusal comes before the upgrade, as the problem+json response and status
  that ``POST /chunks`` would give (401, 403, 404, 409 not-a-stream or stream-ended, 503
  with ``Retry-After``), by the ASGI WebSocket denial response. A server without that
  extension gets the connection accepted, the ``error`` message below and a close with
  code 4000 + the HTTP status and the problem's title as reason.
- Accepted: the gateway sends ``{"type": "ready", "next_seq": N}``, the seq to send next;
  after a reconnect the device resumes there.
- The device sends chunks as text frames ``{"type": "chunk", "seq": ..., "signal":
  [[...], ...]}`` or as binary frames in the format of ``gateway.devices.bodies``, and
  may send several before their answers (pipelining). Frames are handled one at a time,
  in order, and each gets exactly one answer, in that order:
  ``{"type": "ack", "seq": N}`` once Kafka acknowledged the chunk (a chunk below the
  stream's position is acknowledged again, not published again);
  ``{"type": "error", "seq": N or null, "problem": {...}}`` with the problem+json body
  of the HTTP endpoint (409 chunk-gap with ``expected_seq``, 422 with ``errors``, 400
  for a frame that is not a JSON object, 409 stream-ended); the connection stays open;
  ``{"type": "retry", "seq": N, "retry_after": seconds, "detail": ...}`` when Kafka or
  PostgreSQL cannot take the chunk now, or another request holds the stream: nothing was
  counted; resend from N after that many seconds. Chunks pipelined behind it are then
  answered with chunk-gap errors naming N, which the device may ignore.
  ``seq`` is the one the frame claims, null when it has none that can be read.
- ``{"type": "end"}`` ends the stream as ``POST /end`` does (and leaves the same audit
  row) and is answered ``{"type": "ended", "seq": N}``; the gateway then closes with 1000.
  An end that cannot be done now is answered with a retry whose seq is null.
- A frame larger than the HTTP body of its kind may be (``gateway.devices.access``: 8 x
  ``ECG_CHUNK_BYTES`` for JSON, counted in characters; the 12-byte header +
  ``ECG_CHUNK_BYTES`` for binary) is answered with a 413 error and the connection closed
  with 1009. (uvicorn closes with 1009 by itself above its ``--ws-max-size``, 16 MiB.)
- The connection holds its stream while it is open and counts its chunks in memory,
  writing the position in batches (``gateway.devices.leases``). A newer connection to
  the same stream takes it over: this one's next chunk is a 409 stream-conflict error
  and it closes with 4409.
- Each frame is authorised as an HTTP request would be: an access token's session must
  still live. When the token expires (its ``exp``, with the leeway of
  ``gateway.tokens``), or its session ends, the next frame, or the expiry itself while
  the device is silent, gets a 401 error and the gateway closes with 4401 (4403 for a
  403): the device reconnects with a new token and resumes from ``ready.next_seq``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from starlette.requests import Request
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.authentication import Authenticator, bearer_token
from gateway.chunks import samples_per_chunk
from gateway.devices.access import (
    JSON_BYTES_PER_CHUNK_BYTE,
    OwnerChecks,
    binary_chunk_limit,
    owned_stream,
    stream_writer,
)
from gateway.devices.frames import (
    ChunkFrame,
    EndFrame,
    ack_text,
    as_text,
    decode_frame,
    ended,
    frame_limit,
    read_chunk,
    ready,
    refusal,
    retry,
)
from gateway.devices.leases import Persistence, StreamLease
from gateway.devices.service import end_stream
from gateway.devices.state import DevicesState
from gateway.errors import (
    BodyTooLargeError,
    ForbiddenError,
    GatewayError,
    InvalidTokenError,
    ServiceUnavailableError,
    StreamEndedError,
    StreamTakenOverError,
    UnauthenticatedError,
)
from gateway.problems import problem_for, problem_type_of
from gateway.settings import Settings
from gateway.tokens import LEEWAY_SECONDS, Claims, IngestClaims

log = logging.getLogger(__name__)

DENIAL: Final = "websocket.http.response"  # the ASGI extension of denial responses
NORMAL, MESSAGE_TOO_BIG = 1000, 1009
Close = tuple[int, str]


@dataclass(frozen=True)
class Device:
    """One connection: who it is, and the stream it writes to, found at the handshake."""

    request: Request[DevicesState]
    claims: Claims | IngestClaims
    lease: StreamLease
    max_samples: int


class StreamSocket:
    def __init__(
        self,
        settings: Settings,
        authenticator: Authenticator,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._authenticator = authenticator
        self._clock = clock
        self._persistence = Persistence.from_settings(settings)
        self._owners = OwnerChecks()
        self._text_limit = JSON_BYTES_PER_CHUNK_BYTE * settings.chunk_bytes
        self._binary_limit = binary_chunk_limit(settings.chunk_bytes)

    @property
    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute("/api/v1/ecg/{ecg_id}/ws", self.connect, name="stream_socket")]

    async def connect(self, websocket: WebSocket[DevicesState]) -> None:
        request = as_request(websocket)
        try:
            device = await self._device(request)
            leases = request.state["leases"]
            next_seq = await leases.take(device.lease)
        except GatewayError as error:
            await self._refuse(websocket, error)
            return
        try:
            await websocket.accept()
            await websocket.send_json(ready(next_seq))
            while (frame := await self._receive(websocket, device)) is not None:
                answer, close = await self._answer(device, frame)
                await websocket.send_text(answer if isinstance(answer, str) else as_text(answer))
                if close is not None:
                    await websocket.close(*close)
                    return
        except WebSocketDisconnect:
            pass  # gone: what Kafka acknowledged is counted in, and ready.next_seq says so
        finally:
            await leases.close(device.lease)

    async def _device(self, request: Request[DevicesState]) -> Device:
        claims = self._authenticator.verify_stream(bearer_token(request))
        ecg_id, owner = await stream_writer(self._authenticator, request, claims)
        stream = await owned_stream(request.state["streams"], ecg_id, owner, claims)
        if stream.ended:
            raise StreamEndedError(ecg_id, timed_out=stream.timed_out)
        max_samples = samples_per_chunk(len(stream.leads), 4, self._settings.chunk_bytes)
        state = request.state
        lease = StreamLease(stream, state["streams"], state["leases"], self._persistence)
        return Device(request, claims, lease, max_samples)

    async def _refuse(self, websocket: WebSocket[DevicesState], error: GatewayError) -> None:
        self._log_unavailable(websocket, error)
        response = problem_for(error, self._settings.retry_after_seconds)
        if DENIAL in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(response)
            return
        await websocket.accept()
        await websocket.send_json(refusal(None, error))
        await websocket.close(*close_for(error))

    async def _receive(
        self, websocket: WebSocket[DevicesState], device: Device
    ) -> str | bytes | None:
        """The next frame; None once the device closed, or the token expired first.
        While it waits, the position is written when it is due."""
        while True:
            expires_in = self._seconds_left(device.claims)
            flush_in = device.lease.flush_in()
            flushing = flush_in is not None and flush_in < expires_in
            wait = flush_in if flush_in is not None and flushing else expires_in
            try:
                async with asyncio.timeout(max(0.0, wait)):
                    message = await websocket.receive()
                break
            except TimeoutError:
                if flushing:
                    await device.lease.flush()
                    continue
                expired = InvalidTokenError("the token has expired")
                await websocket.send_json(refusal(None, expired))
                await websocket.close(*close_for(expired))
                return None
        if message["type"] == "websocket.disconnect":
            return None
        text: str | None = message.get("text")
        return text if text is not None else cast(bytes, message.get("bytes") or b"")

    async def _answer(
        self, device: Device, frame: str | bytes
    ) -> tuple[dict[str, Any] | str, Close | None]:
        """The one answer to ``frame`` (an ack as its JSON text), and how to close the
        connection after it, if so."""
        limit = frame_limit(frame, self._text_limit, self._binary_limit)
        if limit is not None:
            return refusal(None, BodyTooLargeError(limit)), (MESSAGE_TOO_BIG, "message too big")
        seq: int | None = None
        try:
            if self._seconds_left(device.claims) <= 0:
                raise InvalidTokenError("the token has expired")
            decoded = decode_frame(frame)
            if isinstance(decoded, EndFrame):
                return ended(await self._end(device)), (NORMAL, "the stream has ended")
            seq = decoded.seq
            return ack_text(await self._chunk(device, decoded)), None
        except ServiceUnavailableError as error:
            self._log_unavailable(device.request, error)
            return retry(seq, self._settings.retry_after_seconds, error), None
        except (UnauthenticatedError, ForbiddenError, StreamTakenOverError) as error:
            return refusal(seq, error), close_for(error)
        except GatewayError as error:
            return refusal(seq, error), None

    async def _chunk(self, device: Device, frame: ChunkFrame) -> int:
        """Count the chunk in once Kafka has it (or had it already); return its seq."""
        if isinstance(device.claims, IngestClaims):
            # Its owner may be disabled, or change their password, while it streams.
            await self._owners.check(device.request.state["streams"], device.claims)
        else:
            # An access token's session may end while the device streams.
            await stream_writer(self._authenticator, device.request, device.claims)
        chunk = read_chunk(frame, device.lease.stream.leads, device.max_samples)
        await device.lease.accept(chunk, device.request.state["publisher"])
        return chunk.seq

    async def _end(self, device: Device) -> int:
        state = device.request.state
        async with state["audit"].trail(device.request, "ecg.stream_end", fail_open=True) as trail:
            await stream_writer(self._authenticator, device.request, device.claims, trail)
            await device.lease.release()
            return await end_stream(
                device.lease.stream, state["streams"], state["publisher"], state["leases"]
            )

    def _seconds_left(self, claims: Claims | IngestClaims) -> float:
        return claims.expires_at + LEEWAY_SECONDS - self._clock()

    @staticmethod
    def _log_unavailable(
        connection: WebSocket[DevicesState] | Request[DevicesState], error: Exception
    ) -> None:
        if isinstance(error, ServiceUnavailableError):
            log.warning("WS %s: retry, %s (cause: %r)", connection.url.path, error, error.__cause__)


def close_for(error: GatewayError) -> Close:
    """4000 + the HTTP status, and the problem's title (at most 123 bytes, as RFC 6455
    allows a reason)."""
    kind = problem_type_of(error)
    return 4000 + kind.status, kind.title.encode()[:123].decode(errors="ignore")


def as_request(websocket: WebSocket[DevicesState]) -> Request[DevicesState]:
    """The WebSocket as the helpers shared with the HTTP endpoints take it.

    ``bearer_token``, ``stream_writer`` (``Authenticator.principal``) and
    ``AuditLog.trail`` are typed for a ``Request`` but read only what every
    ``HTTPConnection`` has (headers, path parameters, client, state); this cast goes
    once their parameters say ``HTTPConnection``.
    """
    return cast("Request[DevicesState]", websocket)
