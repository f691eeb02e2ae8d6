from __future__ import annotations

from uuid import uuid4

import pytest
from starlette.requests import Request

from gateway.audit import client_address, outcome_of
from gateway.errors import (
    AccountExistsError,
    DatabaseUnavailableError,
    EcgNotFoundError,
    FieldError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidTokenError,
    RevokedTokenError,
    TooManyAttemptsError,
)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "success"),
        (EcgNotFoundError("x"), "not_found"),
        (ForbiddenError("no"), "forbidden"),
        (RevokedTokenError(uuid4()), "revoked"),
        (InvalidTokenError("bad"), "unauthenticated"),
        (InvalidCredentialsError(), "failure"),
        (InvalidInputError([FieldError("a", "b")]), "invalid"),
        (TooManyAttemptsError(3), "throttled"),
        (AccountExistsError(), "conflict"),
        (DatabaseUnavailableError("down"), "unavailable"),
        (RuntimeError("bug"), "error"),
    ],
)
def test_outcomes(error: BaseException | None, outcome: str) -> None:
    assert outcome_of(error) == outcome


@pytest.mark.parametrize(
    ("client", "address"),
    [
        (("192.0.2.1", 5000), "192.0.2.1"),
        (("2001:DB8::1", 5000), "2001:db8::1"),
        (("testclient", 50000), None),
        (None, None),
    ],
)
def test_client_address(client: tuple[str, int] | None, address: str | None) -> None:
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "client": client}
    )
    assert client_address(request) == address
