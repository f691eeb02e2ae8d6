"""Every error the gateway answers, as ``application/problem+json`` (RFC 9457).

The one place where the typed errors of ``gateway.errors`` (and Starlette's own
404/405) become HTTP responses. Problem ``type`` URIs are relative references
under ``/problems/``; plain HTTP errors use ``about:blank`` as the RFC advises.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from gateway.errors import (
    AccountDisabledError,
    AccountExistsError,
    BodyTooLargeError,
    ChunkGapError,
    EcgExistsError,
    EcgNotFoundError,
    ForbiddenError,
    GatewayError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidTokenError,
    MalformedBodyError,
    MissingTokenError,
    NotAcceptableError,
    NotAnalysedYetError,
    NotAStreamError,
    OwnAccountError,
    ServiceUnavailableError,
    StreamConflictError,
    StreamEndedError,
    TooManyAttemptsError,
    UnauthenticatedError,
    UnhealthyError,
    UnsupportedMediaTypeError,
    UserNotFoundError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REALM = "ecg-pipeline"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


@dataclass(frozen=True)
class ProblemType:
    status: int
    type: str
    title: str


PROBLEM_TYPES: dict[type[GatewayError], ProblemType] = {
    MalformedBodyError: ProblemType(
        400, "/problems/malformed-body", "The body is not a JSON object"
    ),
    BodyTooLargeError: ProblemType(413, "/problems/body-too-large", "The body is too large"),
    UnsupportedMediaTypeError: ProblemType(
        415, "/problems/unsupported-media-type", "The body's media type is not accepted"
    ),
    InvalidInputError: ProblemType(
        422, "/problems/invalid-input", "The request has invalid fields"
    ),
    NotAcceptableError: ProblemType(406, "/problems/not-acceptable", "No acceptable media type"),
    EcgNotFoundError: ProblemType(404, "/problems/ecg-not-found", "ECG not found"),
    EcgExistsError: ProblemType(409, "/problems/ecg-exists", "The ECG already exists"),
    NotAnalysedYetError: ProblemType(
        409, "/problems/not-analysed-yet", "The ECG's analysis has not ended yet"
    ),
    StreamConflictError: ProblemType(
        409, "/problems/stream-conflict", "The stream cannot take this request"
    ),
    ChunkGapError: ProblemType(409, "/problems/chunk-gap", "Earlier chunks are missing"),
    StreamEndedError: ProblemType(409, "/problems/stream-ended", "The stream has ended"),
    NotAStreamError: ProblemType(409, "/problems/not-a-stream", "The ECG is not a stream"),
    UnauthenticatedError: ProblemType(401, "/problems/unauthenticated", "Not authenticated"),
    MissingTokenError: ProblemType(401, "/problems/missing-token", "A token is required"),
    InvalidTokenError: ProblemType(401, "/problems/invalid-token", "The token is not accepted"),
    InvalidCredentialsError: ProblemType(
        401, "/problems/invalid-credentials", "The credentials are wrong"
    ),
    ForbiddenError: ProblemType(403, "/problems/forbidden", "Not allowed for this account"),
    AccountDisabledError: ProblemType(403, "/problems/account-disabled", "The account is disabled"),
    UserNotFoundError: ProblemType(404, "/problems/user-not-found", "Account not found"),
    OwnAccountError: ProblemType(409, "/problems/own-account", "Not on your own account"),
    TooManyAttemptsError: ProblemType(
        429, "/problems/too-many-attempts", "Too many failed attempts"
    ),
    AccountExistsError: ProblemType(409, "/problems/account-exists", "The account already exists"),
    ServiceUnavailableError: ProblemType(
        503, "/problems/service-unavailable", "A backing service is unavailable"
    ),
}


def problem(
    status: int,
    detail: str,
    *,
    type: str = "about:blank",
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def problem_type_of(error: GatewayError) -> ProblemType:
    for cls in type(error).__mro__:
        found = PROBLEM_TYPES.get(cls)
        if found is not None:
            return found
    raise LookupError(f"no problem type for {type(error).__name__}")


def problem_for(error: GatewayError, retry_after_seconds: int) -> ProblemResponse:
    kind = problem_type_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, ServiceUnavailableError):
        headers["Retry-After"] = str(retry_after_seconds)
    elif isinstance(error, TooManyAttemptsError):
        headers["Retry-After"] = str(error.retry_after_seconds)
    elif isinstance(error, UnauthenticatedError):
        headers["WWW-Authenticate"] = www_authenticate(error)
    elif isinstance(error, UnsupportedMediaTypeError):
        headers["Accept-Post"] = ", ".join(error.accepted)  # RFC 9110 section 15.5.16
    return problem(
        kind.status,
        str(error),
        type=kind.type,
        title=kind.title,
        headers=headers,
        **error.extensions(),
    )


def www_authenticate(error: UnauthenticatedError) -> str:
    """RFC 6750 section 3: ``invalid_token`` when a token was presented and refused."""
    if isinstance(error, InvalidTokenError):
        return f'Bearer realm="{REALM}", error="invalid_token"'
    return f'Bearer realm="{REALM}"'


def exception_handlers(retry_after_seconds: int) -> dict[Any, ExceptionHandler]:
    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        if isinstance(exc, ServiceUnavailableError) and not isinstance(exc, UnhealthyError):
            log.warning(
                "%s %s: 503, %s (cause: %r)", request.method, request.url.path, exc, exc.__cause__
            )
        return problem_for(exc, retry_after_seconds)

    return {
        GatewayError: gateway_error,
        HTTPException: http_error,
        Exception: internal_error,
    }


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"nothing is served at {request.url.path}"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    return problem(exc.status_code, detail, headers=exc.headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem(500, "the gateway failed to handle this request; it has been logged")
