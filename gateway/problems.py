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
    BodyTooLargeError,
    EcgExistsError,
    EcgNotFoundError,
    GatewayError,
    InvalidInputError,
    MalformedBodyError,
    ServiceUnavailableError,
    UnhealthyError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


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
    InvalidInputError: ProblemType(
        422, "/problems/invalid-input", "The request has invalid fields"
    ),
    EcgNotFoundError: ProblemType(404, "/problems/ecg-not-found", "ECG not found"),
    EcgExistsError: ProblemType(409, "/problems/ecg-exists", "The ECG already exists"),
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
    return problem(
        kind.status,
        str(error),
        type=kind.type,
        title=kind.title,
        headers=headers,
        **error.extensions(),
    )


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
