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
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.audit import Trail
from gateway.authentication import FORBIDDEN, Authenticator, bearer_token
from gateway.body import decode_json, read_body
from gateway.chunks import samples_per_chunk
from gateway.devices.bodies import (
    BINARY_HEADER,
    StreamChunk,
    parse_binary_chunk,
    validate_chunk,
    validate_opening,
)
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.devices.service import accept_chunk, end_stream
from gateway.devices.state import DevicesState
from gateway.errors import (
    EcgNotFoundError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    UnsupportedMediaTypeError,
    describe,
)
from gateway.fields import parse_uuid
from gateway.settings import Settings
from gateway.tokens import Claims, IngestClaims, Role, Tokens

MAX_OPENING_BYTES: Final = 16 * 1024
# A chunk's samples fit in ECG_CHUNK_BYTES at 4 bytes each; as JSON they take at most 12
# bytes each (sign, 10 digits, comma), and the rest leaves room for whitespace.
JSON_BYTES_PER_CHUNK_BYTE: Final = 8
JSON: Final = "application/json"
BINARY: Final = "application/octet-stream"
CHUNK_MEDIA_TYPES: Final = (JSON, BINARY)
NO_STORE: Final = {"Cache-Control": "no-store"}


class IngestEndpoints:
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
        stream = await owned_stream(request.state["streams"], ecg_id, owner)
        max_samples = samples_per_chunk(len(stream.leads), 4, self._settings.chunk_bytes)
        chunk = read(stream.leads, max_samples)
        await accept_chunk(stream, chunk, request.state["streams"], request.state["publisher"])
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
            stream = await owned_stream(request.state["streams"], ecg_id, owner)
            seq = await end_stream(stream, request.state["streams"], request.state["publisher"])
        return JSONResponse({"seq": seq}, status_code=202)


async def stream_writer(
    authenticator: Authenticator,
    request: Request[DevicesState],
    claims: Claims | IngestClaims,
    trail: Trail | None = None,
) -> tuple[UUID, UUID]:
    """The ECG id of the path and its owner, for a caller who may write to its
    stream: the stream's own ingest token, or a user's live access token."""
    role: Role = "user"
    if isinstance(claims, IngestClaims):
        owner = claims.owner_id
    else:
        principal = await authenticator.principal(request, claims)
        owner, role = principal.user_id, principal.role
    text = request.path_params["ecg_id"]
    ecg_id = parse_uuid(text)
    if trail is not None:
        trail.actor_id = owner
        trail.object_id = None if ecg_id is None else str(ecg_id)
    if role != "user":
        raise ForbiddenError(FORBIDDEN[role])
    if ecg_id is None:
        raise InvalidInputError(
            [FieldError("ecg_id", f"expected a UUID in the path, got {describe(text)}")]
        )
    if isinstance(claims, IngestClaims) and claims.ecg_id != ecg_id:
        raise ForbiddenError(
            f"this ingest token is for the stream of ECG {claims.ecg_id}; "
            f"it cannot send to ECG {ecg_id}"
        )
    return ecg_id, owner


async def owned_stream(streams: StreamRepository, ecg_id: UUID, owner: UUID) -> StoredStream:
    """The stream of ``ecg_id`` if ``owner`` owns it; another user's is an unknown id."""
    stream = await streams.get(ecg_id, owner)
    if stream is None:
        raise EcgNotFoundError(ecg_id)
    return stream


def chunk_media_type(content_type: str | None) -> str:
    """``application/json`` or ``application/octet-stream`` from a ``Content-Type``
    (parameters such as ``charset`` ignored); none at all means JSON."""
    media_type = (content_type or JSON).partition(";")[0].strip().lower()
    if media_type not in CHUNK_MEDIA_TYPES:
        raise UnsupportedMediaTypeError(media_type, CHUNK_MEDIA_TYPES)
    return media_type


def binary_chunk_limit(chunk_bytes: int) -> int:
    """The most bytes a binary chunk can take: its header and ``max_samples`` of every
    lead at 4 bytes, which ``samples_per_chunk`` keeps within ``chunk_bytes`` (1 KiB at
    least, more than 4 bytes for each of the lead names that a stream can have)."""
    return BINARY_HEADER.size + chunk_bytes
