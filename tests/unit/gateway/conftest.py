"""Unit tests of the gateway: the real app, built with test settings, but without
its lifespan, so no Kafka producer and no PostgreSQL pool exist. Everything these
tests reach must be answered before the gateway touches either service: routing,
and refusing requests whose token fails before the database is asked."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings

Body = Callable[..., dict[str, Any]]
JWT_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        env="test",
        kafka_bootstrap="127.0.0.1:1",
        database_url="postgresql://gateway:s3cret@127.0.0.1:1/ecg",
        max_body_bytes=64 * 1024,
        jwt_secret=JWT_SECRET,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGI transport does not run the lifespan: the services are absent.
    transport = httpx.ASGITransport(app=create_app(settings), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
