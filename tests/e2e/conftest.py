"""Accounts for the e2e tests, made the way an operator and an admin make them: the
first admin with the console command's function against ECG_DATABASE_URL, users
through ``POST /api/v1/auth/register``, tokens through ``POST /api/v1/auth/login``.

Every account sends its requests from an address of its own (``X-Forwarded-For``,
which the gateway of ``python -m infra run`` trusts from loopback: ECG_TRUSTED_PROXIES),
so that the throttling counters of one test never reach another.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest

from gateway.admin import create_admin


def new_email() -> str:
    return f"e2e-{uuid4().hex}@example.org"


def new_password() -> str:
    return secrets.token_urlsafe(15)


def new_address() -> str:
    """A documentation address (2001:db8::/32) in a /64 of its own: the throttle counts
    an IPv6 client by its /64."""
    return f"2001:db8:{secrets.randbelow(0xFFFF):x}:{secrets.randbelow(0xFFFF):x}::1"


@dataclass
class Account:
    email: str
    password: str
    address: str = field(default_factory=new_address)
    id: str = ""
    access_token: str = ""
    refresh_token: str = ""

    def headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.address}
        bearer = self.access_token if token is None else token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return headers

    def take(self, pair: dict[str, Any]) -> None:
        self.access_token, self.refresh_token = pair["access_token"], pair["refresh_token"]


async def log_in(http: httpx.AsyncClient, account: Account) -> httpx.Response:
    response = await http.post(
        "/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"X-Forwarded-For": account.address},
    )
    if response.status_code == 200:
        account.take(response.json())
    return response


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        yield client


async def make_admin(http: httpx.AsyncClient, database_url: str) -> Account:
    """A new admin, created as an operator would, and logged in."""
    account = Account(new_email(), new_password())
    user, created = await create_admin(database_url, account.email, account.password)
    assert created
    account.id = str(user.id)
    response = await log_in(http, account)
    assert response.status_code == 200, response.text
    return account


@pytest.fixture(scope="session")
async def admin(gateway_url: str, database_url: str) -> Account:
    """One admin for the session (tests must not log it out or change its password)."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        return await make_admin(http, database_url)


NewUser = Callable[[], Awaitable[Account]]


@pytest.fixture
def new_user(http: httpx.AsyncClient, admin: Account) -> NewUser:
    """Register a user (as the admin) and log it in."""

    async def make() -> Account:
        return await register_user(http, admin)

    return make


async def register_user(http: httpx.AsyncClient, admin: Account) -> Account:
    """A new user, registered by ``admin`` and logged in."""
    account = Account(new_email(), new_password())
    response = await http.post(
        "/api/v1/auth/register",
        json={"email": account.email, "password": account.password},
        headers=admin.headers(),
    )
    assert response.status_code == 201, response.text
    account.id = response.json()["id"]
    response = await log_in(http, account)
    assert response.status_code == 200, response.text
    return account


@pytest.fixture
async def user(new_user: NewUser) -> Account:
    return await new_user()


@pytest.fixture
async def client(gateway_url: str, user: Account) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends the user's access token."""
    async with httpx.AsyncClient(base_url=gateway_url, headers=user.headers(), timeout=60) as http:
        yield http
