"""What the stream tests share: opening a stream, sending a chunk as a device does, the
same signal uploaded whole as the reference, and everything the API says about an ECG
once it is done (lookup, windows, beats), to compare a stream with its upload."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import numpy as np
from numpy.typing import NDArray

from tests.e2e.test_upload_and_lookup import wait_until_done

PROBLEM_JSON = "application/problem+json"
DATE = "2024-05-01T10:00:00Z"


def device(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def open_stream(client: httpx.AsyncClient, **fields: Any) -> tuple[str, str]:
    """A new stream of leads I and II at 500 Hz (unless ``fields`` say otherwise): its id
    and its ingest token."""
    body = {"date": DATE, "sampling_rate": 500, "leads": ["I", "ii"], **fields}
    response = await client.post("/api/v1/ecg/streams", json=body)
    assert response.status_code == 201, response.text
    opened = response.json()
    return opened["id"], opened["ingest_token"]


async def send(
    http: httpx.AsyncClient, ecg_id: str, token: str, seq: int, signal: list[list[int]]
) -> httpx.Response:
    body = {"seq": seq, "signal": signal}
    return await http.post(f"/api/v1/ecg/{ecg_id}/chunks", json=body, headers=device(token))


async def upload_whole(
    client: httpx.AsyncClient,
    signals: NDArray[np.integer[Any]],
    names: Sequence[str],
    sampling_rate: float,
    scales: Sequence[dict[str, Any]] | None = None,
) -> str:
    """Upload ``signals`` (one row per lead) in one request, with each lead's ``scales``
    (its gain and baseline) when given; the ECG's id."""
    extra: Sequence[dict[str, Any]] = scales or [{} for _ in names]
    body = {
        "date": DATE,
        "sampling_rate": sampling_rate,
        "leads": [
            {"name": name, "signal": signal.tolist(), **more}
            for name, signal, more in zip(names, signals, extra, strict=True)
        ],
    }
    uploaded = await client.post("/api/v1/ecg/", json=body)
    assert uploaded.status_code == 202, uploaded.text
    ecg_id: str = uploaded.json()["id"]
    return ecg_id


async def all_windows(client: httpx.AsyncClient, ecg_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/ecg/{ecg_id}/windows?limit=200")
    assert response.status_code == 200, response.text
    assert response.json()["next"] is None
    return [{k: v for k, v in w.items() if k != "ecg_id"} for w in response.json()["windows"]]


async def results(
    client: httpx.AsyncClient, ecg_id: str, deadline_seconds: float = 120
) -> dict[str, Any]:
    """What the lookup, the windows and the beats say about ``ecg_id`` once it is done."""
    lookup = await wait_until_done(client, ecg_id, deadline_seconds=deadline_seconds)
    beats = await client.get(f"/api/v1/ecg/{ecg_id}/beats")
    assert beats.status_code == 200, beats.text
    return {
        "status": lookup["status"],
        "summary": lookup["summary"],
        "leads": lookup["leads"],
        "windows": await all_windows(client, ecg_id),
        "beats": beats.json(),
    }


async def poll_lookup(
    client: httpx.AsyncClient,
    ecg_id: str,
    until: Callable[[dict[str, Any]], bool],
    what: str,
    deadline_seconds: float = 90,
) -> dict[str, Any]:
    """The lookup of ``ecg_id`` once ``until`` holds for it; fails, saying ``what`` was
    awaited, after ``deadline_seconds``."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = await client.get(f"/api/v1/ecg/{ecg_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if until(body):
            return body
        assert time.monotonic() < deadline, f"ECG {ecg_id}: {what} did not come: {body}"
        await asyncio.sleep(0.2)


def has_final_summary(lookup: dict[str, Any]) -> bool:
    """Whether the ECG's final summary and all the windows it counts are stored."""
    summary = lookup["summary"]
    return (
        summary is not None
        and summary["final"]
        and lookup["windows"]["count"] == summary["n_windows"]
    )
