"""The worker's endpoints, on the Starlette app alone (readiness given)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from streams.web import PROBLEM_JSON, create_web_app

READY = {"kafka": "ok", "postgresql": "ok", "worker": "ok", "partitions": "ok", "recovery": "ok"}


@asynccontextmanager
async def client(
    checks: dict[str, str], registry: CollectorRegistry | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    async def outcomes() -> dict[str, str]:
        return checks

    app = create_web_app(outcomes, registry or CollectorRegistry())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as http:
        yield http


async def test_livez_answers() -> None:
    async with client(READY) as http:
        response = await http.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_every_check_is_ok() -> None:
    async with client(READY) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": READY}


@pytest.mark.parametrize(
    ("failing", "detail"),
    [
        ({"postgresql": "unavailable"}, "not ready: postgresql unavailable"),
        (
            {"kafka": "unavailable", "partitions": "rebalancing"},
            "not ready: kafka unavailable, partitions rebalancing",
        ),
    ],
)
async def test_readyz_is_a_503_problem_naming_what_is_not_ready(
    failing: dict[str, str], detail: str
) -> None:
    checks = READY | failing
    async with client(checks) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert (body["status"], body["detail"], body["checks"]) == (503, detail, checks)
    assert body["type"] == "/problems/not-ready"


async def test_metrics_serves_the_registry_in_the_text_format() -> None:
    registry = CollectorRegistry()
    Counter("ecg_worker_things", "Things", registry=registry).inc(2)
    async with client(READY, registry) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "ecg_worker_things_total 2.0" in response.text


async def test_only_get_is_served() -> None:
    async with client(READY) as http:
        assert (await http.post("/readyz")).status_code == 405
        assert (await http.get("/table/ecg-stream-state")).status_code == 404
