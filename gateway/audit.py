"""The audit log: one append-only row per access and per auth event.

Rows hold who (``actor_id``, ``actor_email``), what (``action``, ``object_id``), how it
ended (``outcome``), from where (``client_address``) and when (``at``, UTC), plus a
small ``detail``. Never a password, a token or a sample: events are built from
typed fields, and no request body ever reaches them.

``actor_email`` of a failed login whose email matches no account is the email as
typed: a burst of guesses over many addresses is the trace of credential stuffing.
It is kept only when it has the shape of an email address, because people do type
their password into the email field.

Writing fails closed: when the row cannot be written, the request fails (503), so
no ECG is shown without a trace. ``trail`` is the exception: an upload whose data
Kafka has already acknowledged is answered 202 and its event goes to the error log.
Token rejections that name nobody (bad signature, garbage) are logged, not
recorded: they would let anyone write into the table at will.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from starlette.requests import Request

from gateway.database import Database
from gateway.errors import (
    AccountExistsError,
    BodyTooLargeError,
    DatabaseUnavailableError,
    EcgExistsError,
    EcgNotFoundError,
    ForbiddenError,
    GatewayError,
    InvalidCredentialsError,
    InvalidInputError,
    MalformedBodyError,
    NotAcceptableError,
    RevokedTokenError,
    ServiceUnavailableError,
    StreamConflictError,
    TooManyAttemptsError,
    UnauthenticatedError,
)

log = logging.getLogger(__name__)

OUTCOMES: tuple[tuple[type[GatewayError], str], ...] = (
    (EcgNotFoundError, "not_found"),
    (ForbiddenError, "forbidden"),
    (RevokedTokenError, "revoked"),
    (InvalidCredentialsError, "failure"),
    (UnauthenticatedError, "unauthenticated"),
    (TooManyAttemptsError, "throttled"),
    (AccountExistsError, "conflict"),
    (InvalidInputError, "invalid"),
    (NotAcceptableError, "invalid"),
    (MalformedBodyError, "invalid"),
    (BodyTooLargeError, "invalid"),
    (EcgExistsError, "conflict"),
    (StreamConflictError, "conflict"),
    (ServiceUnavailableError, "unavailable"),
)


@dataclass(frozen=True)
class AuditEvent:
    action: str
    outcome: str
    actor_id: UUID | None = None
    actor_email: str | None = None
    object_id: str | None = None
    client_address: str | None = None
    detail: dict[str, Any] | None = None


@dataclass
class Trail:
    """An event being put together while a request runs; ``AuditLog.trail`` writes it."""

    action: str
    client_address: str | None
    actor_id: UUID | None = None
    object_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def client_address(request: Request[Any]) -> str | None:
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return "success"
    for kind, outcome in OUTCOMES:
        if isinstance(error, kind):
            return outcome
    return "error"


class AuditLog:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(self, event: AuditEvent) -> None:
        async with self._database.connection() as connection:
            await connection.execute(
                """
                INSERT INTO audit_log
                    (actor_id, actor_email, action, object_id, outcome, client_address, detail)
                VALUES ($1, $2, $3, $4, $5, $6::inet, $7)
                """,
                event.actor_id,
                event.actor_email,
                event.action,
                event.object_id,
                event.outcome,
                event.client_address,
                event.detail or None,
            )

    @asynccontextmanager
    async def trail(
        self, request: Request[Any], action: str, *, fail_open: bool = False
    ) -> AsyncIterator[Trail]:
        """Record ``action`` with the outcome of the block it wraps. ``fail_open``: a
        successful block stands even if its row cannot be written (it is logged)."""
        trail = Trail(action, client_address(request))
        try:
            yield trail
        except Exception as error:
            await self._write(trail, error)
            raise
        await self._write(trail, None, fail_open=fail_open)

    async def _write(
        self, trail: Trail, error: Exception | None, *, fail_open: bool = False
    ) -> None:
        actor = trail.actor_id
        if actor is None and isinstance(error, RevokedTokenError):
            actor = error.user_id
        if actor is None:
            log.info("%s refused: %s (from %s)", trail.action, error, trail.client_address)
            return
        event = AuditEvent(
            action=trail.action,
            outcome=outcome_of(error),
            actor_id=actor,
            object_id=trail.object_id,
            client_address=trail.client_address,
            detail=trail.detail,
        )
        try:
            await self.record(event)
        except DatabaseUnavailableError:
            log.error("audit event not written: %s", event)
            if error is None and not fail_open:
                raise
