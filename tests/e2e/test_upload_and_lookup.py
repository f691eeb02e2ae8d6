"""Through the public API of the running stack: a user uploads, the pipeline works,
the user looks up."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from streams.analysis.zero_crossings import count_zero_crossings
from tests.records import read_record

REFERENCE_LEADS = {
    "I": [1, -2, 3, -4, 5, -6, 7, -8, 9, -10],
    "II": [80, 101, -115, -88, 5, 105, 181, -80, -92, 89, -150, 63, -85, 41, 89],
    "III": [-1, -4, -1, -3, -10, -12, -45, -45, -59, -59],
    "aVR": [42, -2, 23, -11, 3, -4, 45, -59, 68, 1, -1],
    "aVL": [1, -2, 3, -4, 5, 6, 7, -8],
    "aVF": [9, 2, -2, -9, -3],
}
REFERENCE_COUNTS = {"I": 9, "II": 8, "III": 0, "aVR": 9, "aVL": 5, "aVF": 1}


async def wait_until_done(
    client: httpx.AsyncClient, ecg_id: str, deadline_seconds: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = await client.get(f"/api/v1/ecg/{ecg_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "processing":
            return body
        assert time.monotonic() < deadline, f"ECG {ecg_id} still processing: {body}"
        await asyncio.sleep(0.2)


async def test_the_reference_example_gives_the_known_counts(client: httpx.AsyncClient) -> None:
    body = {
        "date": "2024-05-01T10:00:00Z",
        "leads": [{"name": name, "signal": signal} for name, signal in REFERENCE_LEADS.items()],
    }
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 202, response.text
    ecg_id = response.json()["id"]

    first = (await client.get(f"/api/v1/ecg/{ecg_id}")).json()
    assert first["status"] in {"processing", "done"}

    result = await wait_until_done(client, ecg_id)
    assert result["status"] == "done"
    assert result["id"] == ecg_id
    assert result["date"] == "2024-05-01T10:00:00Z"
    assert {lead["name"]: lead["zero_crossings"] for lead in result["leads"]} == REFERENCE_COUNTS
    assert [lead["number_of_samples"] for lead in result["leads"]] == [
        len(signal) for signal in REFERENCE_LEADS.values()
    ]


async def test_a_client_chosen_id_is_kept_and_not_reused(client: httpx.AsyncClient) -> None:
    ecg_id = str(uuid.uuid4())
    body = {
        "id": ecg_id,
        "date": "2024-05-01T10:00:00Z",
        "leads": [{"name": "v1", "signal": [1, -1, 0, 2]}],
    }
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == ecg_id
    again = await client.post("/api/v1/ecg/", json=body)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    result = await wait_until_done(client, ecg_id)
    assert result["leads"] == [
        {"name": "V1", "number_of_samples": 4, "zero_crossings": 2, "gain": None, "baseline": None}
    ]


async def test_a_30_minute_record_in_one_request(client: httpx.AsyncClient, data_dir: Path) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals - np.array(record.baselines)[:, None]
    body = {
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": record.sampling_rate,
        "leads": [
            {
                "name": name,
                "number_of_samples": int(signal.size),
                "signal": signal.tolist(),
                "gain": gain,
            }
            for name, signal, gain in zip(record.lead_names, signals, record.gains, strict=True)
        ],
    }
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 202, response.text
    result = await wait_until_done(client, response.json()["id"], deadline_seconds=180)

    assert result["status"] == "done"
    assert result["sampling_rate"] == 360
    expected = [count_zero_crossings(signal) for signal in signals]
    assert [lead["zero_crossings"] for lead in result["leads"]] == expected
    assert [lead["number_of_samples"] for lead in result["leads"]] == [650_000, 650_000]
    # 650,000 samples at 360 Hz: 180 whole 10 s windows and a last partial one.
    assert result["summary"]["n_windows"] == 181


@pytest.mark.parametrize(("ecg_id", "status"), [(str(uuid.uuid4()), 404), ("not-a-uuid", 422)])
async def test_unknown_and_malformed_ids(
    client: httpx.AsyncClient, ecg_id: str, status: int
) -> None:
    response = await client.get(f"/api/v1/ecg/{ecg_id}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


async def test_a_bad_upload_is_refused_with_a_problem_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    body = {"date": "2024-05-01T10:00:00Z", "leads": [{"name": "V", "signal": [1]}]}
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert "leads[0].name" in problem["detail"]
    assert "aVR" in problem["detail"]
