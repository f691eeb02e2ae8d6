"""Which stream a request may write to, and how many bytes a chunk may take: shared by
the HTTP endpoints (``gateway.devices.endpoints``) and the WebSocket
(``gateway.devices.socket``)."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from starlette.requests import Request

from gateway.audit import Trail
from gateway.authentication import FORBIDDEN, Authenticator
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.devices.state import DevicesState
from gateway.errors import EcgNotFoundError, FieldError, ForbiddenError, InvalidInputError, describe
from gateway.fields import parse_uuid
from gateway.tokens import Claims, IngestClaims, Role
from schemas.binary_chunks import HEADER

# A chunk's samples fit in ECG_CHUNK_BYTES at 4 bytes each; as JSON they take at most 12
# bytes each (sign, 10 digits, comma), and the rest leaves room for whitespace.
JSON_BYTES_PER_CHUNK_BYTE: Final = 8


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


def binary_chunk_limit(chunk_bytes: int) -> int:
    """The most bytes a binary chunk can take: its header and ``max_samples`` of every
    lead at 4 bytes, which ``samples_per_chunk`` keeps within ``chunk_bytes`` (1 KiB at
    least, more than 4 bytes for each of the lead names that a stream can have)."""
    return HEADER.size + chunk_bytes
