from __future__ import annotations

import json
from uuid import uuid4

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Route

from gateway.app import create_app
from gateway.errors import (
    AccountExistsError,
    BodyTooLargeError,
    DatabaseUnavailableError,
    EcgExistsError,
    EcgNotFoundError,
    FieldError,
    ForbiddenError,
    GatewayError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidTokenError,
    KafkaUnavailableError,
    MalformedBodyError,
    MissingTokenError,
    RevokedTokenError,
    TooManyAttemptsError,
    UnhealthyError,
)
from gateway.problems import PROBLEM_JSON, problem_for, problem_type_of
from gateway.settings import Settings


def all_subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


@pytest.mark.parametrize("error_type", all_subclasses(GatewayError))
def test_every_error_type_has_a_problem_type(error_type: type[GatewayError]) -> None:
    kind = problem_type_of(error_type.__new__(error_type))
    assert 400 <= kind.status < 600
    assert kind.type.startswith("/problems/")


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (MalformedBodyError("bad"), 400, None),
        (BodyTooLargeError(10), 413, None),
        (InvalidInputError([FieldError("date", "is required")]), 422, None),
        (EcgNotFoundError("x"), 404, None),
        (EcgExistsError("x"), 409, None),
        (KafkaUnavailableError("the message broker is not connected yet"), 503, "7"),
        (DatabaseUnavailableError("the database is unavailable"), 503, "7"),
        (UnhealthyError({"kafka": "unavailable", "postgresql": "ok"}), 503, "7"),
        (MissingTokenError(), 401, None),
        (InvalidTokenError("the token has expired"), 401, None),
        (InvalidCredentialsError(), 401, None),
        (ForbiddenError("only administrators may do this"), 403, None),
        (TooManyAttemptsError(42), 429, "42"),
        (AccountExistsError(), 409, None),
    ],
)
def test_errors_become_problem_responses(
    error: GatewayError, status: int, retry_after: str | None
) -> None:
    response = problem_for(error, retry_after_seconds=7)
    assert response.status_code == status
    assert response.media_type == PROBLEM_JSON
    assert response.headers.get("retry-after") == retry_after
    body = json.loads(bytes(response.body))
    assert body["status"] == status
    assert body["detail"] == str(error)
    assert ("errors" in body) is isinstance(error, InvalidInputError)
    assert ("checks" in body) is isinstance(error, UnhealthyError)


@pytest.mark.parametrize(
    ("error", "challenge"),
    [
        (MissingTokenError(), 'Bearer realm="ecg-pipeline"'),
        (InvalidCredentialsError(), 'Bearer realm="ecg-pipeline"'),
        (
            InvalidTokenError("the token is not valid"),
            'Bearer realm="ecg-pipeline", error="invalid_token"',
        ),
        (RevokedTokenError(uuid4()), 'Bearer realm="ecg-pipeline", error="invalid_token"'),
    ],
)
def test_every_401_challenges_for_a_bearer_token(error: GatewayError, challenge: str) -> None:
    response = problem_for(error, retry_after_seconds=7)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge


def test_only_401_challenges() -> None:
    for error in [ForbiddenError("no"), TooManyAttemptsError(1), AccountExistsError()]:
        assert "www-authenticate" not in problem_for(error, retry_after_seconds=7).headers


async def test_unknown_route_is_problem_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "nothing is served at /api/v2/nothing",
    }


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/healthz", "GET"),
        ("PUT", "/api/v1/ecg/", "POST"),
        ("POST", "/api/v1/ecg/x", "GET"),
    ],
)
async def test_wrong_method_is_problem_405(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert allowed in response.headers["allow"]
    assert method in response.json()["detail"]


async def test_unexpected_exception_is_500_without_internals(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: Request) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(settings)
    app.router.routes.append(Route("/broken", broken))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/broken")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Internal Server Error"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "secret internals" in caplog.text  # logged for the operators
