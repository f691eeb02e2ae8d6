"""Unit tests of the gateway: the real app, built with test settings, but without
its lifespan, so no Kafka producer and no PostgreSQL pool exist. Everything these
tests reach must be answered before the gateway touches either service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings

Body = Callable[..., dict[str, Any]]


@pytest.fixture
def settings() -> Settings:
    return Settings(
        env="test",
        kafka_bootstrap="127.0.0.1:1",
        database_url="postgresql://gateway:s3cret@127.0.0.1:1/ecg",
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # httpx's ASGI transport does not run the lifespan: the services are absent.
    transport = httpx.ASGITransport(app=create_app(settings), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
def body() -> Body:
    """A valid upload body; keyword arguments replace or add top-level fields."""

    def make(**fields: Any) -> dict[str, Any]:
        document: dict[str, Any] = {
            "date": "2024-05-01T10:00:00Z",
            "sampling_rate": 500,
            "leads": [
                {"name": "I", "number_of_samples": 4, "signal": [12, -3, 0, 7], "gain": 200},
                {"name": "II", "signal": [1, 2, 3], "baseline": 1024},
            ],
        }
        document.update(fields)
        return document

    return make
