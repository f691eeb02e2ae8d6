"""``POST /api/v1/ecg/streams``, ``POST /api/v1/ecg/{ecg_id}/chunks`` and
``POST /api/v1/ecg/{ecg_id}/end``: an ECG sent as it is recorded.

A user opens a stream and gets an ingest token for it (``gateway.tokens``): the device
that records sends the chunks and the end with that token, which works for this stream
only, or the owner sends them with an access token. Another user's stream is the same
404 as an unknown id, as for the lookup; admins get 403, as everywhere on ECGs.

The opening and the end leave an audit row whatever their outcome (the end's is written
after Kafka has the final chunk, so a lost row does not turn the 202 into a 503); single
chunks do not: one row per chunk would make the log grow with the samples, not with the
accesses. The rules of the chunks and the end are in ``gateway.devices.service``.

A chunk comes as JSON or, for small devices, as bytes (``application/octet-stream``, the
format of ``gateway.devices.bodies``), told apart by its ``Content-Type``; a request
without one is read as JSON, as before binary chunks existed, so that existing clients
keep working. Any other media type is a 415, checked after the token and before the body
is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.authentication import FORBIDDEN, Authenticator, bearer_token
from gateway.body import decode_json, read_body
from gateway.chunks import samples_per_chunk
from gateway.devices.access import (
    JSON_BYTES_PER_CHUNK_BYTE,
    binary_chunk_limit,
    owned_stream,
    stream_writer,
)
from gateway.devices.bodies import (
    StreamChunk,
    parse_binary_chunk,
    validate_chunk,
    validate_opening,
)
from gateway.devices.service import accept_chunk, end_stream
from gateway.devices.state import DevicesState
from gateway.errors import ForbiddenError, UnsupportedMediaTypeError
from gateway.settings import Settings
from gateway.tokens import Tokens

MAX_OPENING_BYTES: Final = 16 * 1024
JSON: Final = "application/json"
BINARY: Final = "application/octet-stream"
CHUNK_MEDIA_TYPES: Final = (JSON, BINARY)
NO_STORE: Final = {"Cache-Control": "no-store"}


class StreamEndpoints:
    def __init__(self, settings: Settings, authenticator: Authenticator, tokens: Tokens) -> None:
        self._settings = settings
        self._authenticator = authenticator
        self._tokens = tokens

    @property
    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/ecg/streams", self.open, methods=["POST"], name="stream_open"),
            Route("/api/v1/ecg/{ecg_id}/chunks", self.chunk, methods=["POST"], name="chunks"),
            Route("/api/v1/ecg/{ecg_id}/end", self.end, methods=["POST"], name="stream_end"),
        ]

    async def open(self, request: Request[DevicesState]) -> Response:
        claims = self._authenticator.claims(request, "access")
        async with request.state["audit"].trail(request, "ecg.stream_open") as trail:
            principal = await self._authenticator.principal(request, claims)
            trail.actor_id = principal.user_id
            if principal.role != "user":
                raise ForbiddenError(FORBIDDEN[principal.role])
            opening = validate_opening(decode_json(await read_body(request, MAX_OPENING_BYTES)))
            trail.object_id = str(opening.id)
            await request.state["streams"].open(opening, principal.user_id)
        issued = self._tokens.issue_ingest(principal.user_id, opening.id)
        body = {
            "id": str(opening.id),
            "ingest_token": issued.token,
            "expires_in": issued.claims.expires_at - issued.claims.issued_at,
        }
        location = request.app.url_path_for("ecg", ecg_id=str(opening.id))
        return JSONResponse(body, status_code=201, headers={"Location": str(location), **NO_STORE})

    async def chunk(self, request: Request[DevicesState]) -> Response:
        claims = self._authenticator.verify_stream(bearer_token(request))
        ecg_id, owner = await stream_writer(self._authenticator, request, claims)
        read = await self._chunk_reader(request)
        stream = await owned_stream(request.state["streams"], ecg_id, owner, claims)
        max_samples = samples_per_chunk(len(stream.leads), 4, self._settings.chunk_bytes)
        chunk = read(stream.leads, max_samples)
        state = request.state
        await accept_chunk(stream, chunk, state["streams"], state["publisher"], state["leases"])
        return JSONResponse({"seq": chunk.seq}, status_code=202)

    async def _chunk_reader(
        self, request: Request[DevicesState]
    ) -> Callable[[Sequence[str], int], StreamChunk]:
        """Read the body by its media type; what it gives still needs the stream's leads
        and chunk size, which are looked up after the body has been read."""
        chunk_bytes = self._settings.chunk_bytes
        if chunk_media_type(request.headers.get("content-type")) == BINARY:
            body = await read_body(request, binary_chunk_limit(chunk_bytes))
            return partial(parse_binary_chunk, body)
        body = await read_body(request, JSON_BYTES_PER_CHUNK_BYTE * chunk_bytes)
        return partial(validate_chunk, decode_json(body))

    async def end(self, request: Request[DevicesState]) -> Response:
        claims = self._authenticator.verify_stream(bearer_token(request))
        audit = request.state["audit"]
        async with audit.trail(request, "ecg.stream_end", fail_open=True) as trail:
            ecg_id, owner = await stream_writer(self._authenticator, request, claims, trail)
            state = request.state
            stream = await owned_stream(state["streams"], ecg_id, owner, claims)
            seq = await end_stream(stream, state["streams"], state["publisher"], state["leases"])
        return JSONResponse({"seq": seq}, status_code=202)


def chunk_media_type(content_type: str | None) -> str:
    """``application/json`` or ``application/octet-stream`` from a ``Content-Type``
    (parameters such as ``charset`` ignored); none at all means JSON."""
    media_type = (content_type or JSON).partition(";")[0].strip().lower()
    if media_type not in CHUNK_MEDIA_TYPES:
        raise UnsupportedMediaTypeError(media_type, CHUNK_MEDIA_TYPES)
    return media_type
