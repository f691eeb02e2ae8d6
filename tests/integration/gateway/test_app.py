"""The whole gateway over real HTTP (uvicorn in-process) with the real broker and
database, and with each of them unreachable."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import uuid4

import httpx
import numpy as np
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from schemas.codec import Schema, decode, decode_samples
from tests.integration.gateway.helpers import Account

Consume = Callable[[str, int], Awaitable[list[Any]]]  # the `consume` fixture
Serve = Callable[[Starlette], AbstractAsyncContextManager[str]]  # the `serve` fixture
PROBLEM_JSON = "application/problem+json"


def small_body(**fields: Any) -> dict[str, Any]:
    return {
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": 500,
        "leads": [{"name": "i", "signal": [12, -3, 0, 7], "gain": 200, "baseline": 1024}],
        **fields,
    }


@pytest.fixture
async def gateway(
    settings: Settings, serve: Serve, account: Account
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, headers=account.headers, timeout=60) as client,
    ):
        yield client


async def test_healthy(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_thirty_minute_record_in_one_request(
    gateway: httpx.AsyncClient, settings: Settings, consume: Consume
) -> None:
    # Like MIT-BIH record 100: 2 leads, 360 Hz, 30 minutes, 11-bit ADC values.
    rng = np.random.default_rng(100)
    signals = [rng.integers(0, 2048, 650_000, dtype=np.int32) for _ in range(2)]
    content = json.dumps(
        {
            "date": "2024-05-01T10:00:00Z",
            "sampling_rate": 360,
            "leads": [
                {"name": name, "signal": signal.tolist(), "gain": 200, "baseline": 1024}
                for name, signal in zip(["MLII", "V5"], signals, strict=True)
            ],
        }
    ).encode()

    started = time.perf_counter()
    response = await gateway.post("/api/v1/ecg/", content=content)
    elapsed = time.perf_counter() - started

    assert response.status_code == 202, response.text
    ecg_id = response.json()["id"]
    assert response.json() == {"id": ecg_id, "status": "processing"}
    assert response.headers["location"] == f"/api/v1/ecg/{ecg_id}"
    assert elapsed < 10, f"1.3 M samples took {elapsed:.2f} s"
    print(f"\n1.3 M samples ({len(content) / 1e6:.1f} MB) answered 202 in {elapsed * 1000:.0f} ms")

    # 64 KiB chunks of 2 int16 leads: 16384 samples each, 40 chunks.
    records = await consume(settings.samples_topic, 40)
    assert len(records) == 40
    values = [decode(Schema.SAMPLE_CHUNK, record.value) for record in records]
    assert [value["seq"] for value in values] == list(range(40))
    assert values[-1]["final"]
    parts = [decode_samples(value["samples"], value["sample_width"]) for value in values]
    for index, signal in enumerate(signals):
        assert np.array_equal(np.concatenate([part[index] for part in parts]), signal)

    found = await gateway.get(response.headers["location"])
    assert found.status_code == 200
    assert found.json() == {
        "id": ecg_id,
        "date": "2024-05-01T10:00:00Z",
        "status": "processing",
        "sampling_rate": 360.0,
        "leads": [
            {
                "name": name,
                "number_of_samples": 650_000,
                "zero_crossings": None,
                "gain": 200.0,
                "baseline": 1024,
            }
            for name in ["MLII", "V5"]
        ],
        "summary": None,
        "windows": {"count": 0, "href": f"/api/v1/ecg/{ecg_id}/windows"},
        "beats": {"href": f"/api/v1/ecg/{ecg_id}/beats"},
    }


async def test_existing_id_is_409(gateway: httpx.AsyncClient) -> None:
    ecg_id = str(uuid4())
    assert (await gateway.post("/api/v1/ecg/", json=small_body(id=ecg_id))).status_code == 202
    response = await gateway.post("/api/v1/ecg/", json=small_body(id=ecg_id))
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert ecg_id in response.json()["detail"]


async def test_unknown_id_is_404(gateway: httpx.AsyncClient) -> None:
    ecg_id = str(uuid4())
    response = await gateway.get(f"/api/v1/ecg/{ecg_id}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["detail"] == f"no ECG with id {ecg_id}"


async def test_unacknowledged_upload_is_503_and_undone(
    settings: Settings, serve: Serve, account: Account
) -> None:
    ecg_id = str(uuid4())
    impatient = dataclasses.replace(settings, publish_timeout_seconds=1e-6)
    async with (
        serve(create_app(impatient)) as url,
        httpx.AsyncClient(base_url=url, headers=account.headers) as client,
    ):
        response = await client.post("/api/v1/ecg/", json=small_body(id=ecg_id))
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["retry-after"] == str(settings.retry_after_seconds)
        assert (await client.get(f"/api/v1/ecg/{ecg_id}")).status_code == 404

    async with (
        serve(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, headers=account.headers) as client,
    ):
        assert (await client.post("/api/v1/ecg/", json=small_body(id=ecg_id))).status_code == 202


async def test_unreachable_broker_is_503_and_writes_nothing(
    settings: Settings, serve: Serve, closed_port: int, account: Account
) -> None:
    ecg_id = str(uuid4())
    no_kafka = dataclasses.replace(settings, kafka_bootstrap=f"127.0.0.1:{closed_port}")
    async with (
        serve(create_app(no_kafka)) as url,
        httpx.AsyncClient(base_url=url, headers=account.headers) as client,
    ):
        health = await client.get("/healthz")
        assert health.status_code == 503
        assert health.headers["content-type"] == PROBLEM_JSON
        assert health.json()["checks"] == {"kafka": "unavailable", "postgresql": "ok"}

        response = await client.post("/api/v1/ecg/", json=small_body(id=ecg_id))
        assert response.status_code == 503
        assert response.headers["content-type"] == PROBLEM_JSON
        assert "retry-after" in response.headers
        assert str(closed_port) not in response.text

        assert (await client.get(f"/api/v1/ecg/{ecg_id}")).status_code == 404
        invalid = await client.post("/api/v1/ecg/", json=small_body(leads=[]))
        assert invalid.status_code == 422  # validation does not need the services


async def test_unreachable_database_is_503(
    settings: Settings, serve: Serve, closed_port: int, account: Account
) -> None:
    no_postgres = dataclasses.replace(
        settings, database_url=f"postgresql://postgres:pw@127.0.0.1:{closed_port}/ecg"
    )
    async with (
        serve(create_app(no_postgres)) as url,
        httpx.AsyncClient(base_url=url, headers=account.headers) as client,
    ):
        health = await client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"] == {"kafka": "ok", "postgresql": "unavailable"}

        for response in [
            await client.post("/api/v1/ecg/", json=small_body()),
            await client.get(f"/api/v1/ecg/{uuid4()}"),
            await client.post(
                "/api/v1/auth/login", json={"email": account.email, "password": account.password}
            ),
        ]:
            assert response.status_code == 503
            assert response.headers["content-type"] == PROBLEM_JSON
            assert "retry-after" in response.headers
