"""The auth endpoints' answers that need no service: missing or bad tokens, and
malformed bodies of a login (which is read before anything is looked up)."""

from __future__ import annotations

import httpx
import pytest

from gateway.problems import PROBLEM_JSON


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/password"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Basic YTpi", "Bearer garbage", "Bearer a.b.c"])
async def test_a_token_is_required(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 400),
        (b"[]", 400),
        (b'{"email": "a@example.org"}', 422),
        (b'{"email": 1, "password": 2}', 422),
        (b'{"email": "a@example.org", "password": "p", "otp": 1}', 422),
    ],
)
async def test_malformed_login_bodies(
    client: httpx.AsyncClient, content: bytes, status: int
) -> None:
    response = await client.post("/api/v1/auth/login", content=content)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_huge_login_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", content=b"x" * (16 * 1024 + 1))
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/refresh"),
        ("GET", "/api/v1/auth/login"),
        ("GET", "/api/v1/auth/logout"),
    ],
)
async def test_wrong_methods_are_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert (await client.request(method, path)).status_code == 405
