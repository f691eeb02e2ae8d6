"""The analysis through the public API: MIT-BIH record 100 uploaded by a user, its summary
in the lookup, its windows page by page and its beats; owner only, on record."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import jsonschema_rs
import numpy as np
import pytest

from tests.e2e.conftest import Account, NewUser
from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
async def record_100(client: httpx.AsyncClient, data_dir: Path) -> dict[str, Any]:
    """Record 100 uploaded as recorded (ADC values, gain and baseline from its header),
    analysed to the end: the lookup body."""
    record = read_record(data_dir / "mitdb" / "100")
    body = {
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": record.sampling_rate,
        "leads": [
            {"name": name, "signal": signal.tolist(), "gain": gain, "baseline": baseline}
            for name, signal, gain, baseline in zip(
                record.lead_names, record.signals, record.gains, record.baselines, strict=True
            )
        ],
    }
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 202, response.text
    return await wait_until_done(client, response.json()["id"], deadline_seconds=180)


async def test_record_100_has_its_beats_rate_and_quality(record_100: dict[str, Any]) -> None:
    summary = record_100["summary"]
    assert summary["beat_count"]["value"] == pytest.approx(2273, abs=10)
    assert summary["heart_rate_bpm"]["value"] == pytest.approx(76, abs=2)
    assert summary["rr"]["count"]["value"] == summary["beat_count"]["value"] - 1
    for name in ("sdnn_ms", "rmssd_ms", "pnn50_percent"):
        assert summary["hrv"][name]["value"] > 0
        assert summary["hrv"][name]["reason"] is None
    assert [lead["quality"]["verdict"] for lead in summary["leads"]] == ["good", "good"]
    mlii = summary["leads"][0]
    assert mlii["min_mv"]["value"] == pytest.approx((481 - 1024) / 200)
    assert record_100["windows"] == {
        "count": 181,
        "href": f"/api/v1/ecg/{record_100['id']}/windows",
    }
    assert record_100["beats"] == {"href": f"/api/v1/ecg/{record_100['id']}/beats"}


async def test_the_lookup_windows_and_beats_follow_the_api_document(
    record_100: dict[str, Any], client: httpx.AsyncClient
) -> None:
    """Fuzzed ids find no ECG: an analysed one shows the document's result schemas hold."""
    document = (await client.get("/api/v1/openapi.json")).json()
    ecg_id = record_100["id"]
    for path, name in (
        (f"/api/v1/ecg/{ecg_id}", "Ecg"),
        (f"/api/v1/ecg/{ecg_id}/windows?limit=3", "WindowPage"),
        (f"/api/v1/ecg/{ecg_id}/beats", "Beats"),
    ):
        response = await client.get(path)
        assert response.status_code == 200, response.text
        # The component, with the others beside it for its references to resolve.
        schema = {**document["components"]["schemas"][name], "components": document["components"]}
        jsonschema_rs.validator_for(schema).validate(response.json())


async def test_windows_page_through_and_beats_add_up(
    client: httpx.AsyncClient, record_100: dict[str, Any]
) -> None:
    windows: list[dict[str, Any]] = []
    link: str | None = f"{record_100['windows']['href']}?limit=50"
    pages = 0
    while link is not None:
        response = await client.get(link)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["id"] == record_100["id"]
        windows += page["windows"]
        link = page["next"]
        pages += 1
    assert pages == 4
    assert [w["index"] for w in windows] == list(range(181))
    assert windows[-1]["end_sample"] == 650_000
    assert all(w["start_sample"] <= b < w["end_sample"] for w in windows for b in w["beats"])
    assert (
        sum(w["beat_count"]["value"] for w in windows)
        == record_100["summary"]["beat_count"]["value"]
    )
    assert windows[5]["heart_rate_bpm"]["value"] == pytest.approx(76, abs=10)
    assert windows[5]["leads"][0]["quality"]["verdict"] == "good"

    beats = (await client.get(record_100["beats"]["href"])).json()
    assert beats["sampling_rate"] == 360
    assert beats["status"] == "done"
    indices = beats["sample_indices"]
    assert indices == [b for w in windows for b in w["beats"]]
    assert np.all(np.diff(indices) > 0)
    assert len(indices) == pytest.approx(2273, abs=10)


async def test_an_ecg_without_a_sampling_rate_says_why(client: httpx.AsyncClient) -> None:
    body = {"date": "2024-05-01", "leads": [{"name": "I", "signal": [1, -2, 3, -4, 5]}]}
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 202
    ecg_id = response.json()["id"]
    result = await wait_until_done(client, ecg_id)
    assert result["summary"]["heart_rate_bpm"] == {"value": None, "reason": "no sampling rate"}
    beats = (await client.get(f"/api/v1/ecg/{ecg_id}/beats")).json()
    assert beats == {"sampling_rate": None, "status": "done", "sample_indices": [], "classes": ""}
    page = (await client.get(f"/api/v1/ecg/{ecg_id}/windows")).json()
    assert [w["leads"][0]["number_of_samples"] for w in page["windows"]] == [5]
    assert page["next"] is None


@pytest.mark.parametrize("path", ["windows", "beats"])
async def test_someone_elses_ecg_is_exactly_an_unknown_id(
    http: httpx.AsyncClient, new_user: NewUser, path: str
) -> None:
    owner, stranger = await new_user(), await new_user()
    body = {"date": "2024-05-01", "leads": [{"name": "II", "signal": [3, -1, 4]}]}
    ecg_id = (await http.post("/api/v1/ecg/", json=body, headers=owner.headers())).json()["id"]
    assert (await http.get(f"/api/v1/ecg/{ecg_id}/{path}", headers=owner.headers())).is_success
    theirs = await http.get(f"/api/v1/ecg/{ecg_id}/{path}", headers=stranger.headers())
    unknown_id = str(uuid4())
    unknown = await http.get(f"/api/v1/ecg/{unknown_id}/{path}", headers=stranger.headers())
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.headers["content-type"] == PROBLEM_JSON
    assert theirs.json()["detail"] == f"no ECG with id {ecg_id}"
    assert theirs.json() | {"detail": ""} == unknown.json() | {"detail": ""}
    assert (await http.get(f"/api/v1/ecg/{ecg_id}/{path}")).status_code == 401


async def test_bad_query_parameters_are_problems(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/ecg/{uuid4()}/windows?limit=0&after=x")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [e["field"] for e in response.json()["errors"]] == ["after", "limit"]
    malformed = await client.get("/api/v1/ecg/not-a-uuid/beats")
    assert malformed.status_code == 422


async def test_reads_are_on_record(
    client: httpx.AsyncClient, user: Account, database_url: str
) -> None:
    body = {"date": "2024-05-01", "leads": [{"name": "II", "signal": [3, -1, 4]}]}
    ecg_id = (await client.post("/api/v1/ecg/", json=body)).json()["id"]
    await client.get(f"/api/v1/ecg/{ecg_id}/windows")
    await client.get(f"/api/v1/ecg/{ecg_id}/beats")
    unknown = str(uuid4())
    await client.get(f"/api/v1/ecg/{unknown}/beats")
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT action, object_id, outcome FROM audit_log"
            " WHERE actor_id = $1 AND action IN ('ecg.windows', 'ecg.beats') ORDER BY id",
            user.id,
        )
    finally:
        await connection.close()
    assert [tuple(row) for row in rows] == [
        ("ecg.windows", ecg_id, "success"),
        ("ecg.beats", ecg_id, "success"),
        ("ecg.beats", unknown, "not_found"),
    ]
