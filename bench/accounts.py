"""A throwaway admin and user for the benchmarks, in the running stack: the admin made
with ``ecg create-admin``'s function (ECG_DATABASE_URL), the user registered by it."""

from __future__ import annotations

import secrets
from uuid import uuid4

import httpx

from gateway.admin import create_admin


def new_credentials() -> tuple[str, str]:
    return f"bench-{uuid4().hex}@example.org", secrets.token_urlsafe(15)


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def bench_user(client: httpx.AsyncClient, database_url: str) -> tuple[str, str]:
    """The email and password of a new user."""
    admin_email, admin_password = new_credentials()
    await create_admin(database_url, admin_email, admin_password)
    admin = await log_in(client, admin_email, admin_password)
    email, password = new_credentials()
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password}, headers=admin
    )
    response.raise_for_status()
    return email, password
