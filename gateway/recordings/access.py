"""Who may read an ECG: the audited frame of every request that reads one, shared by the
lookup (``gateway.recordings.endpoints``) and its windows, beats and events
(``gateway.recordings.analysis``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final
from uuid import UUID

from starlette.requests import Request

from gateway.authentication import Authenticator, authorize
from gateway.errors import FieldError, InvalidInputError, describe
from gateway.fields import parse_uuid
from gateway.recordings.state import RecordingsState

NO_STORE: Final = {"Cache-Control": "no-store"}


@asynccontextmanager
async def reading_ecg(
    authenticator: Authenticator, request: Request[RecordingsState], action: str
) -> AsyncIterator[tuple[UUID, UUID]]:
    """The audited frame of a request that reads the ECG ``{ecg_id}`` of the path: the
    caller must be a user with a live session; yields the ECG id and the caller's id
    (the owner to ask the repository for). The trail records who tried which id, even
    when the id is malformed or the caller is an admin."""
    claims = authenticator.claims(request, "access")
    async with request.state["audit"].trail(request, action) as trail:
        principal = await authenticator.principal(request, claims)
        trail.actor_id = principal.user_id
        text = request.path_params["ecg_id"]
        ecg_id = parse_uuid(text)
        trail.object_id = None if ecg_id is None else str(ecg_id)
        authorize(principal, "user")
        if ecg_id is None:
            raise InvalidInputError(
                [FieldError("ecg_id", f"expected a UUID in the path, got {describe(text)}")]
            )
        yield ecg_id, principal.user_id
