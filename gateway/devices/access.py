"""Which stream a request may write to, and how many bytes a chunk may take: shared by
the HTTP endpoints (``gateway.devices.endpoints``) and the WebSocket
(``gateway.devices.socket``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from uuid import UUID

from starlette.requests import Request

from gateway.audit import Trail
from gateway.authentication import FORBIDDEN, Authenticator
from gateway.devices.repository import StoredStream, StreamRepository
from gateway.devices.state import DevicesState
from gateway.errors import (
    EcgNotFoundError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    InvalidTokenError,
    describe,
)
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


async def owned_stream(
    streams: StreamRepository,
    ecg_id: UUID,
    owner: UUID,
    claims: Claims | IngestClaims | None = None,
) -> StoredStream:
    """The stream of ``ecg_id`` if ``owner`` owns it; another user's is an unknown id.
    With an ingest token's ``claims``: refused once its owner's account was disabled or
    its password changed after the token was issued (checked by the same query)."""
    stream = await streams.get(ecg_id, owner)
    if stream is None:
        raise EcgNotFoundError(ecg_id)
    if isinstance(claims, IngestClaims):
        changed = stream.owner_password_changed_at
        if stream.owner_disabled or (
            changed is not None and changed.timestamp() >= claims.issued_at + 1
        ):
            raise revoked_ingest_token()
    return stream


def revoked_ingest_token() -> InvalidTokenError:
    return InvalidTokenError(
        "this ingest token was revoked: its owner's account was disabled or its password "
        "changed; the owner may send the rest with an access token, or open a new stream"
    )


class OwnerChecks:
    """Whether the owners of ingest tokens held by open WebSockets still stand, asked
    of PostgreSQL at most once per ``seconds`` per owner and token age in this process:
    a disabled account or a password change stops its devices within that time, for a
    query per owner per second however many chunks its devices send."""

    def __init__(self, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._checked: dict[tuple[UUID, int], tuple[float, bool]] = {}

    async def check(self, streams: StreamRepository, claims: IngestClaims) -> None:
        now = self._clock()
        key = (claims.owner_id, claims.issued_at)
        checked = self._checked.get(key)
        if checked is None or now - checked[0] >= self._seconds:
            if len(self._checked) > MAX_OWNER_CHECKS:
                self._checked = {
                    k: v for k, v in self._checked.items() if now - v[0] < self._seconds
                }
            revoked = await streams.owner_revoked(claims.owner_id, claims.issued_at)
            checked = (now, revoked)
            self._checked[key] = checked
        if checked[1]:
            raise revoked_ingest_token()


MAX_OWNER_CHECKS: Final = 10_000


def binary_chunk_limit(chunk_bytes: int) -> int:
    """The most bytes a binary chunk can take: its header and ``max_samples`` of every
    lead at 4 bytes, which ``samples_per_chunk`` keeps within ``chunk_bytes`` (1 KiB at
    least, more than 4 bytes for each of the lead names that a stream can have)."""
    return HEADER.size + chunk_bytes
