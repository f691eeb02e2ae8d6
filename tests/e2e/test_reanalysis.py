"""Re-analysis through the running stack: ``POST /api/v1/ecg/{id}/analyses`` has a worker
replay the stored samples (``streams.reanalysis``) and replace the results in one
transaction, with the revision and the analyser's version on every result."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from streams.analysis.version import ANALYSER_VERSION
from tests.e2e.conftest import Account, NewUser
from tests.e2e.streaming import open_stream, results, upload_whole
from tests.records import read_record

SECONDS = 65  # six windows and a short one


def without_revision(found: dict[str, Any]) -> dict[str, Any]:
    """Results with neither their revision nor their analyser's version."""
    drop = ("revision", "analyser_version")
    return {
        **found,
        "summary": {k: v for k, v in found["summary"].items() if k not in drop},
        "windows": [{k: v for k, v in w.items() if k not in drop} for w in found["windows"]],
    }


async def analysed_again(
    client: httpx.AsyncClient, ecg_id: str, revision: int, deadline_seconds: float = 90
) -> dict[str, Any]:
    """The ECG's analyses once re-analysis ``revision`` is no longer requested."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = await client.get(f"/api/v1/ecg/{ecg_id}/analyses")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        (asked,) = [a for a in body["analyses"] if a["revision"] == revision]
        if asked["status"] != "requested":
            return body
        assert time.monotonic() < deadline, f"re-analysis {revision} of {ecg_id}: {body}"
        await asyncio.sleep(0.2)


async def reanalyse(client: httpx.AsyncClient, ecg_id: str) -> int:
    response = await client.post(f"/api/v1/ecg/{ecg_id}/analyses")
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/ecg/{ecg_id}/analyses"
    revision: int = response.json()["revision"]
    return revision


async def test_a_reanalysis_replaces_the_results_at_once(
    client: httpx.AsyncClient, data_dir: Path, db: asyncpg.Connection
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * SECONDS]
    ecg_id = await upload_whole(client, signals, record.lead_names, record.sampling_rate)
    first = await results(client, ecg_id)
    assert (first["summary"]["revision"], first["summary"]["analyser_version"]) == (
        0,
        ANALYSER_VERSION,
    )
    before = await client.get(f"/api/v1/ecg/{ecg_id}/analyses")
    assert before.json() == {
        "id": ecg_id,
        "current": {"revision": 0, "analyser_version": ANALYSER_VERSION, "final": True},
        "analyses": [],
    }

    # As an older detector would have left them: fewer beats, another heart rate.
    await db.execute(
        """
        UPDATE ecg_windows SET beats = beats[1:2],
               result = jsonb_set(result, '{heart_rate_bpm,value}', '1')
        WHERE ecg_id = $1
        """,
        ecg_id,
    )
    assert (await results(client, ecg_id))["beats"] != first["beats"]

    revision = await reanalyse(client, ecg_id)
    assert revision == 1
    analyses = await analysed_again(client, ecg_id, revision)
    (done,) = analyses["analyses"]
    assert (done["status"], done["analyser_version"], done["error"]) == (
        "done",
        ANALYSER_VERSION,
        None,
    )
    assert analyses["current"]["revision"] == 1

    again = await results(client, ecg_id)
    assert again["summary"]["revision"] == 1
    assert {w["revision"] for w in again["windows"]} == {1}
    assert without_revision(again) == without_revision(first)

    # Asked twice: the later revision is the one in force.
    second, third = await reanalyse(client, ecg_id), await reanalyse(client, ecg_id)
    assert (second, third) == (2, 3)
    analyses = await analysed_again(client, ecg_id, third)
    assert analyses["current"]["revision"] == 3
    assert without_revision(await results(client, ecg_id)) == without_revision(first)


async def test_an_ecg_is_analysed_again_only_once_done_and_only_by_its_owner(
    client: httpx.AsyncClient, http: httpx.AsyncClient, admin: Account, new_user: NewUser
) -> None:
    other = await new_user()
    ecg_id, _ = await open_stream(client, sampling_rate=360, leads=["MLII"])
    refused = await client.post(f"/api/v1/ecg/{ecg_id}/analyses")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/problems/not-analysed-yet")
    assert "once its analysis is done" in refused.json()["detail"]

    stranger = await http.post(f"/api/v1/ecg/{ecg_id}/analyses", headers=other.headers())
    assert stranger.status_code == 404, stranger.text
    listing = await http.get(f"/api/v1/ecg/{ecg_id}/analyses", headers=other.headers())
    assert listing.status_code == 404, listing.text
    by_admin = await http.post(f"/api/v1/ecg/{ecg_id}/analyses", headers=admin.headers())
    assert by_admin.status_code == 403, by_admin.text
