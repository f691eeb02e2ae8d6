"""Beat classes through the running stack (issue 18): MIT-BIH record 106 (30 min, 520
ventricular ectopic beats in its reference annotations) uploaded whole; ``GET …/beats``
serves one AAMI class per beat, aligned with the beats, the windows carry the same
letters and the summary counts them. Beats stored before the classes read as Q."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jsonschema_rs
import pytest

from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record

CLASSES = "NSVFQ"


@pytest.fixture
async def record_106(client: httpx.AsyncClient, data_dir: Path) -> dict[str, Any]:
    """Record 106 uploaded as recorded (ADC values, gain and baseline from its header),
    analysed to the end: the lookup body."""
    record = read_record(data_dir / "mitdb" / "106")
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
    lookup = await wait_until_done(client, response.json()["id"], deadline_seconds=300)
    assert lookup["status"] == "done", lookup
    return lookup


async def all_windows(client: httpx.AsyncClient, ecg_id: str) -> list[dict[str, Any]]:
    windows: list[dict[str, Any]] = []
    path: str | None = f"/api/v1/ecg/{ecg_id}/windows?limit=200"
    while path is not None:
        response = await client.get(path)
        assert response.status_code == 200, response.text
        windows += response.json()["windows"]
        path = response.json()["next"]
    return windows


async def test_record_106_has_a_class_per_beat_and_its_ventricular_beats(
    client: httpx.AsyncClient, record_106: dict[str, Any], db: asyncpg.Connection
) -> None:
    ecg_id = record_106["id"]
    response = await client.get(f"/api/v1/ecg/{ecg_id}/beats")
    assert response.status_code == 200, response.text
    body = response.json()
    indices, classes = body["sample_indices"], body["classes"]
    assert len(classes) == len(indices) > 1900
    assert set(classes) <= set(CLASSES)
    counted = Counter(classes)
    assert 300 <= counted["V"] <= 700, counted  # 520 V beats in the reference annotations
    assert counted["N"] > 1000, counted
    document = (await client.get("/api/v1/openapi.json")).json()
    schema = {**document["components"]["schemas"]["Beats"], "components": document["components"]}
    jsonschema_rs.validator_for(schema).validate(body)

    # Each window has the letters of its beats; together, those of /beats.
    windows = await all_windows(client, ecg_id)
    assert all(len(w["beat_classes"]) == len(w["beats"]) for w in windows)
    assert [b for w in windows for b in w["beats"]] == indices
    assert "".join(w["beat_classes"] for w in windows) == classes

    # The summary counts them, adding up to its beat count.
    summary = record_106["summary"]
    counts = summary["beat_class_counts"]
    assert counts == {letter.lower(): counted[letter] for letter in CLASSES}
    assert sum(counts.values()) == summary["beat_count"]["value"] == len(indices)

    # A window stored before beats were classified: its beats read as Q, the rest keep
    # their letters, still one per beat.
    first = windows[0]
    await db.execute(
        "UPDATE ecg_windows SET beat_classes = NULL WHERE ecg_id = $1 AND index = 0", ecg_id
    )
    again = (await client.get(f"/api/v1/ecg/{ecg_id}/beats")).json()
    assert again["sample_indices"] == indices
    n_first = len(first["beats"])
    assert n_first > 0
    assert again["classes"] == "Q" * n_first + classes[n_first:]
    page = (await client.get(f"/api/v1/ecg/{ecg_id}/windows?limit=1")).json()
    assert page["windows"][0]["beat_classes"] == "Q" * n_first


async def test_an_ecg_without_beat_detection_has_no_classes(client: httpx.AsyncClient) -> None:
    body = {"date": "2024-05-01", "leads": [{"name": "II", "signal": [3, -1, 4, 1, -5, 9]}]}
    response = await client.post("/api/v1/ecg/", json=body)
    assert response.status_code == 202, response.text
    lookup = await wait_until_done(client, response.json()["id"])
    beats = (await client.get(f"/api/v1/ecg/{lookup['id']}/beats")).json()
    assert (beats["sample_indices"], beats["classes"]) == ([], "")
    assert lookup["summary"]["beat_class_counts"] == dict.fromkeys("nsvfq", 0)
