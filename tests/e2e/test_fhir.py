"""An ECG as a FHIR R4 Observation through the running stack: a 12-lead and a 2-lead
upload, once analysed and archived, validate as R4 Observations (``fhir.resources``'
R4B model and the rules it leaves out) whose samples are those sent; too long an ECG is
refused with the end that fits; only its owner reads it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import numpy as np
from numpy.typing import NDArray

from gateway.recordings.fhir import FHIR_JSON, MAX_FHIR_VALUES
from tests.e2e.conftest import Account, NewUser
from tests.records import Record, read_record
from tests.unit.gateway.recordings.test_fhir import millivolts, validated

PROBLEM_JSON = "application/problem+json"
FRANK = {"vx": "X", "vy": "Y", "vz": "Z"}


async def upload(client: httpx.AsyncClient, record: Record, leads: int, samples: int) -> str:
    """The first ``leads`` leads of ``record`` for ``samples`` samples, with their gains
    and baselines; the ECG's id."""
    body = {
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": record.sampling_rate,
        "leads": [
            {
                "name": FRANK.get(name, name),
                "signal": signal[:samples].tolist(),
                "gain": gain,
                "baseline": baseline,
            }
            for name, signal, gain, baseline in zip(
                record.lead_names[:leads],
                record.signals[:leads],
                record.gains[:leads],
                record.baselines[:leads],
                strict=True,
            )
        ],
    }
    uploaded = await client.post("/api/v1/ecg/", json=body)
    assert uploaded.status_code == 202, uploaded.text
    ecg_id: str = uploaded.json()["id"]
    return ecg_id


async def wait_until_final(
    client: httpx.AsyncClient, ecg_id: str, deadline_seconds: float = 120
) -> None:
    """Until the ECG is done and archived: its (one-sample) Observation is final."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        response = await client.get(f"/api/v1/ecg/{ecg_id}/fhir", params={"end": 1})
        assert response.status_code == 200, response.text
        if response.json()["status"] == "final":
            return
        assert time.monotonic() < deadline, f"ECG {ecg_id} is not final: {response.text}"
        await asyncio.sleep(0.2)


async def observation(client: httpx.AsyncClient, ecg_id: str, **params: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/ecg/{ecg_id}/fhir", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    assert response.headers["cache-control"] == "no-store"
    return validated(response.content)


def assert_samples(
    components: Sequence[dict[str, Any]],
    signals: NDArray[np.int32],
    gains: Sequence[float],
    baselines: Sequence[int],
) -> None:
    """Each lead's data are the samples sent, and FHIR's reading of them their mV."""
    assert len(components) == len(signals)
    for component, signal, gain, baseline in zip(
        components, signals, gains, baselines, strict=True
    ):
        data = np.array(component["valueSampledData"]["data"].split(), dtype=np.int64)
        assert np.array_equal(data, signal)
        assert np.allclose(millivolts(component), (signal - baseline) / gain, rtol=0, atol=1e-9)


async def test_a_12_lead_ecg_is_an_r4_observation_of_its_samples(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "ptbdb" / "s0010_re")
    samples = record.signals.shape[1]  # 38.4 s at 1,000 Hz: 460,800 values
    ecg_id = await upload(client, record, 12, samples)
    await wait_until_final(client, ecg_id)
    body = await observation(client, ecg_id)
    assert body["status"] == "final"
    assert body["identifier"][0]["value"] == f"urn:uuid:{ecg_id}"
    assert body["effectivePeriod"] == {
        "start": "2024-05-01T10:00:00.000Z",
        "end": "2024-05-01T10:00:38.400Z",
    }
    *leads, heart_rate = body["component"]
    assert [lead["code"]["coding"][0]["code"] for lead in leads] == [
        "131329", "131330", "131389", "131390", "131391", "131392",
        "131331", "131332", "131333", "131334", "131335", "131336",
    ]  # fmt: skip
    assert_samples(leads, record.signals[:12], record.gains[:12], record.baselines[:12])
    assert heart_rate["code"]["coding"][0]["code"] == "8867-4"
    assert heart_rate["valueQuantity"]["code"] == "/min"
    assert 40 < heart_rate["valueQuantity"]["value"] < 150

    as_json = await client.get(
        f"/api/v1/ecg/{ecg_id}/fhir",
        params={"leads": "v6,ii", "start": 1000, "end": 2000},
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    page = validated(as_json.content)
    assert [lead["code"]["text"] for lead in page["component"][:2]] == ["V6", "II"]
    assert_samples(page["component"][:2], record.signals[[11, 1], 1000:2000], [2000.0] * 2, [0, 0])


async def test_a_2_lead_ecg_is_an_r4_observation_of_its_samples(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    samples = 360 * 120  # two minutes: several upload chunks
    ecg_id = await upload(client, record, 2, samples)
    await wait_until_final(client, ecg_id)
    body = await observation(client, ecg_id)
    mlii, v5, _ = body["component"]
    assert mlii["code"] == {"text": "MLII"}
    assert v5["code"]["coding"][0]["code"] == "131335"
    assert_samples([mlii, v5], record.signals[:, :samples], record.gains, record.baselines)
    assert body["note"][0]["text"].startswith(f"samples 0 to {samples} (exclusive) of {samples}")

    page = await observation(client, ecg_id, start=36_000, end=40_000)
    assert page["effectivePeriod"] == {
        "start": "2024-05-01T10:01:40.000Z",
        "end": "2024-05-01T10:01:51.111Z",
    }
    assert_samples(
        page["component"][:2], record.signals[:, 36_000:40_000], record.gains, record.baselines
    )


async def test_too_long_an_ecg_is_refused_with_the_end_that_fits(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "ptbdb" / "s0010_re")
    samples = record.signals.shape[1]  # 15 leads with Frank's X, Y, Z: 576,000 values
    ecg_id = await upload(client, record, 15, samples)
    await wait_until_final(client, ecg_id)
    refused = await client.get(f"/api/v1/ecg/{ecg_id}/fhir")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM_JSON
    fit = MAX_FHIR_VALUES // 15
    assert refused.json()["errors"] == [
        {
            "field": "end",
            "message": f"samples 0 to {samples} of 15 leads are {15 * samples:,} values, and "
            f"an answer holds at most {MAX_FHIR_VALUES:,}: ask for a smaller range, at most "
            f"{fit:,} samples per lead (end={fit}), or fewer leads",
        }
    ]
    first = await observation(client, ecg_id, end=fit)
    assert first["note"][0]["text"].endswith(f"the next page from start={fit}")
    assert [lead["code"]["coding"][0]["code"] for lead in first["component"][12:15]] == [
        "131344", "131345", "131346",
    ]  # fmt: skip
    rest = await observation(client, ecg_id, start=fit)
    assert_samples(rest["component"][:15], record.signals[:, fit:], record.gains, record.baselines)


async def test_only_its_owner_reads_it(
    http: httpx.AsyncClient, new_user: NewUser, admin: Account
) -> None:
    owner, stranger = await new_user(), await new_user()
    body = {"date": "2024-05-01T10:00:00Z", "sampling_rate": 250, "leads": [
        {"name": "II", "signal": [3, -1, 4, -1, 5]}
    ]}  # fmt: skip
    uploaded = await http.post("/api/v1/ecg/", json=body, headers=owner.headers())
    assert uploaded.status_code == 202, uploaded.text
    path = f"/api/v1/ecg/{uploaded.json()['id']}/fhir"
    assert (await http.get(path, headers=owner.headers())).status_code == 200
    unknown = await http.get(f"/api/v1/ecg/{uuid4()}/fhir", headers=stranger.headers())
    theirs = await http.get(path, headers=stranger.headers())
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    assert theirs.headers["content-type"] == PROBLEM_JSON
    assert (await http.get(path, headers=admin.headers())).status_code == 403
    assert (await http.get(path)).status_code == 401
    xml = await http.get(path, headers={**owner.headers(), "Accept": "application/fhir+xml"})
    assert xml.status_code == 406
    assert "application/fhir+json or application/json" in xml.json()["detail"]


async def test_an_ecg_without_a_sampling_rate_is_refused(client: httpx.AsyncClient) -> None:
    body = {"date": "2024-05-01T10:00:00Z", "leads": [{"name": "I", "signal": [1, 2, 3]}]}
    uploaded = await client.post("/api/v1/ecg/", json=body)
    assert uploaded.status_code == 202, uploaded.text
    refused = await client.get(f"/api/v1/ecg/{uploaded.json()['id']}/fhir")
    assert refused.status_code == 422
    assert "no sampling rate" in refused.json()["detail"]
