"""Accounts and sessions through the public API of the running stack."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.e2e.conftest import Account, NewUser, log_in, new_address, new_email, new_password

PROBLEM_JSON = "application/problem+json"


def assert_401(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith('Bearer realm="ecg-pipeline"')
    body: dict[str, Any] = response.json()
    return body


async def upload(http: httpx.AsyncClient, account: Account, token: str | None = None) -> int:
    body = {"date": "2024-05-01T10:00:00Z", "leads": [{"name": "I", "signal": [1, -1, 2]}]}
    response = await http.post("/api/v1/ecg/", json=body, headers=account.headers(token))
    return response.status_code


async def refresh(http: httpx.AsyncClient, account: Account, token: str) -> httpx.Response:
    return await http.get("/api/v1/auth/refresh", headers=account.headers(token))


async def test_login_answers_a_bearer_pair(http: httpx.AsyncClient, user: Account) -> None:
    response = await log_in(http, user)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert await upload(http, user) == 202


async def test_unknown_email_and_wrong_password_get_the_same_401(
    http: httpx.AsyncClient, user: Account
) -> None:
    wrong = await log_in(http, Account(user.email, "not-the-password", user.address))
    unknown = await log_in(http, Account(new_email(), user.password, user.address))
    assert wrong.content == unknown.content
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert assert_401(wrong)["detail"] == "the email or the password is wrong"


async def test_the_email_ignores_letter_case(http: httpx.AsyncClient, user: Account) -> None:
    shouting = Account(user.email.upper(), user.password, user.address)
    assert (await log_in(http, shouting)).status_code == 200


async def test_repeated_failures_are_throttled_with_retry_after(
    http: httpx.AsyncClient, user: Account
) -> None:
    guesser = Account(user.email, "not-the-password", new_address())
    statuses = []
    for _ in range(8):
        response = await log_in(http, guesser)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429, statuses
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) >= 1
    # The right password from the guesser's address waits too; from the user's, it works.
    right_password = Account(user.email, user.password, guesser.address)
    assert (await log_in(http, right_password)).status_code == 429
    assert (await log_in(http, user)).status_code == 200


async def test_refresh_rotates(http: httpx.AsyncClient, user: Account) -> None:
    first_refresh, first_access = user.refresh_token, user.access_token
    response = await refresh(http, user, first_refresh)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    user.take(response.json())
    assert user.refresh_token != first_refresh
    assert user.access_token != first_access
    assert await upload(http, user) == 202
    rotated_again = await refresh(http, user, user.refresh_token)
    assert rotated_again.status_code == 200


async def test_reusing_a_rotated_refresh_token_ends_its_whole_family(
    http: httpx.AsyncClient, user: Account
) -> None:
    stolen = user.refresh_token
    user.take((await refresh(http, user, stolen)).json())  # the real client rotates
    user.take((await refresh(http, user, user.refresh_token)).json())
    assert_401(await refresh(http, user, stolen))  # the thief replays: caught
    assert_401(await refresh(http, user, user.refresh_token))  # the newest died too
    assert_401(await http.get(f"/api/v1/ecg/{uuid4()}", headers=user.headers()))
    assert (await log_in(http, user)).status_code == 200  # a new login starts afresh


@pytest.mark.parametrize("with_token", ["access", "refresh"])
async def test_logout_ends_the_session(
    http: httpx.AsyncClient, user: Account, with_token: str
) -> None:
    token = user.access_token if with_token == "access" else user.refresh_token
    response = await http.post("/api/v1/auth/logout", headers=user.headers(token))
    assert response.status_code == 204
    assert_401(await refresh(http, user, user.refresh_token))
    assert await upload(http, user) == 401
    again = await http.post("/api/v1/auth/logout", headers=user.headers(token))
    assert again.status_code == 204  # idempotent


async def test_logout_ends_only_that_session(http: httpx.AsyncClient, user: Account) -> None:
    other = Account(user.email, user.password, user.address)
    assert (await log_in(http, other)).status_code == 200
    await http.post("/api/v1/auth/logout", headers=user.headers())
    assert await upload(http, other) == 202


async def test_a_password_change_ends_every_session(http: httpx.AsyncClient, user: Account) -> None:
    laptop = Account(user.email, user.password, new_address())
    assert (await log_in(http, laptop)).status_code == 200
    new = new_password()
    response = await http.post(
        "/api/v1/auth/password",
        json={"current_password": user.password, "new_password": new},
        headers=user.headers(),
    )
    assert response.status_code == 204, response.text
    for session in (user, laptop):
        assert await upload(http, session) == 401
        assert_401(await refresh(http, session, session.refresh_token))
    assert_401(await log_in(http, user))
    user.password = new
    assert (await log_in(http, user)).status_code == 200
    assert await upload(http, user) == 202


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"current_password": "wrong-current-pw"}, "current_password"),
        ({"new_password": "password123"}, "new_password"),
        ({"new_password": "short"}, "new_password"),
    ],
)
async def test_a_refused_password_change_changes_nothing(
    http: httpx.AsyncClient, user: Account, change: dict[str, str], field: str
) -> None:
    body = {"current_password": user.password, "new_password": new_password(), **change}
    response = await http.post("/api/v1/auth/password", json=body, headers=user.headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert await upload(http, user) == 202


async def test_admins_register_users_and_admins(http: httpx.AsyncClient, admin: Account) -> None:
    for role in ("user", "admin"):
        email = "New." + new_email()
        response = await http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": new_password(), "role": role},
            headers=admin.headers(),
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"id", "email", "role"}
        assert (body["email"], body["role"]) == (email, role)


async def test_users_may_not_register_anyone(http: httpx.AsyncClient, user: Account) -> None:
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": new_email(), "password": new_password(), "role": "admin"},
        headers=user.headers(),
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_register_needs_an_access_token(http: httpx.AsyncClient, admin: Account) -> None:
    body = {"email": new_email(), "password": new_password()}
    assert_401(await http.post("/api/v1/auth/register", json=body))
    refresh_token = admin.headers(admin.refresh_token)
    assert_401(await http.post("/api/v1/auth/register", json=body, headers=refresh_token))


@pytest.mark.parametrize("variant", [str.upper, str.lower, str.swapcase])
async def test_an_existing_email_in_any_letter_case_is_409(
    http: httpx.AsyncClient, admin: Account, user: Account, variant: Any
) -> None:
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": variant(user.email), "password": new_password()},
        headers=admin.headers(),
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "kq8zvtmw-long"}, "email"),
        ({"email": "not-an-email", "password": "kq8zvtmw-long"}, "email"),
        ({"email": "x@example.org"}, "password"),
        ({"email": "x@example.org", "password": "short"}, "password"),
        ({"email": "x@example.org", "password": "x@example.org"}, "password"),
        ({"email": "x@example.org", "password": "iloveyou"}, "password"),
        ({"email": "x@example.org", "password": "kq8zvtmw-long", "role": "root"}, "role"),
        ({"email": "x@example.org", "password": "kq8zvtmw-long", "admin": True}, "admin"),
    ],
)
async def test_bad_registrations_are_422(
    http: httpx.AsyncClient, admin: Account, body: dict[str, Any], field: str
) -> None:
    response = await http.post("/api/v1/auth/register", json=body, headers=admin.headers())
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_registered_users_can_log_in(new_user: NewUser) -> None:
    account = await new_user()
    assert account.access_token


@pytest.mark.parametrize(
    "body",
    [
        rb'{"email": "\ud800@example.org", "password": "x"}',
        rb'{"email": "a@example.org", "password": "\udfff-password"}',
        rb'{"\ud800": 1}',
        rb'{"email": "a\u0000b@example.org", "password": "x"}',
        rb'{"email": "a@example.org", "password": "pass\u0000word"}',
    ],
)
async def test_a_lone_surrogate_or_a_nul_at_login_is_a_400_not_a_500(
    http: httpx.AsyncClient, body: bytes
) -> None:
    response = await http.post(
        "/api/v1/auth/login",
        content=body,
        headers={"Content-Type": "application/json", "X-Forwarded-For": new_address()},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    detail = response.json()["detail"]
    assert "surrogate" in detail or "NUL" in detail, detail


async def test_a_lone_surrogate_in_an_upload_key_is_a_400(
    http: httpx.AsyncClient, user: Account
) -> None:
    body = rb'{"date": "2024-05-01", "leads": [{"name": "I", "signal": [1], "\ud800": 1}]}'
    headers = {**user.headers(), "Content-Type": "application/json"}
    response = await http.post("/api/v1/ecg/", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
