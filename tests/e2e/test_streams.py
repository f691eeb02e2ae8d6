"""Streams through the public API of the running stack: a user opens a stream, a device
sends its chunks with the stream's ingest token and ends it; the pipeline gives what it
gives for the same signal uploaded whole. And every way of getting a chunk wrong."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.e2e.conftest import Account, NewUser
from tests.e2e.streaming import (
    DATE,
    PROBLEM_JSON,
    device,
    open_stream,
    results,
    send,
    upload_whole,
)
from tests.e2e.test_tokens import sign
from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record


async def test_a_streamed_record_gives_what_its_upload_gives(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, :23_000]  # 63.9 s: six whole windows and a partial one
    scales = [
        {"gain": gain, "baseline": baseline}
        for gain, baseline in zip(record.gains, record.baselines, strict=True)
    ]
    uploaded = await upload_whole(client, signals, record.lead_names, record.sampling_rate, scales)
    # The leads with their gain and baseline: the mV values come out as the upload's.
    leads = [{"name": name} | scale for name, scale in zip(record.lead_names, scales, strict=True)]
    opened = await client.post(
        "/api/v1/ecg/streams",
        json={"date": DATE, "sampling_rate": record.sampling_rate, "leads": leads},
    )
    assert opened.status_code == 201, opened.text
    assert opened.headers["cache-control"] == "no-store"
    stream_id, token = opened.json()["id"], opened.json()["ingest_token"]
    assert opened.json()["expires_in"] == 24 * 3600
    assert opened.headers["location"] == f"/api/v1/ecg/{stream_id}"

    bounds, start = [], 0
    for size in itertools.cycle([1, 360, 1000, 7, 2500, 4096, 123]):
        if start >= signals.shape[1]:
            break
        bounds.append((start, min(start + size, signals.shape[1])))
        start += size
    pieces = [signals[:, a:b].tolist() for a, b in bounds]
    for seq, piece in enumerate(pieces):
        copies = 2 if seq == 3 else 1  # chunk 3 twice at once: both may reach Kafka
        answers = await asyncio.gather(
            *(send(client, stream_id, token, seq, piece) for _ in range(copies))
        )
        for answer in answers:
            assert answer.status_code == 202, answer.text
            assert answer.json() == {"seq": seq}
        if seq == 6:  # the answer to chunk 4 was lost: the device sends it again
            retried = await send(client, stream_id, token, 4, pieces[4])
            assert (retried.status_code, retried.json()) == (202, {"seq": 4})

    receiving = (await client.get(f"/api/v1/ecg/{stream_id}")).json()
    assert receiving["status"] == "receiving"
    assert [lead["number_of_samples"] for lead in receiving["leads"]] == [23_000, 23_000]
    for _ in range(2):  # a repeated end changes nothing
        ended = await client.post(f"/api/v1/ecg/{stream_id}/end", headers=device(token))
        assert (ended.status_code, ended.json()) == (202, {"seq": len(pieces)})

    streamed = await results(client, stream_id)
    assert streamed == await results(client, uploaded)
    assert streamed["status"] == "done"
    assert [(lead["gain"], lead["baseline"]) for lead in streamed["leads"]] == [(200.0, 1024)] * 2
    assert streamed["summary"]["leads"][0]["min_mv"]["value"] is not None
    assert streamed["summary"]["n_windows"] == 7
    assert len(streamed["beats"]["sample_indices"]) == pytest.approx(80, abs=5)  # ~76 bpm


async def test_the_owner_may_send_with_an_access_token(client: httpx.AsyncClient) -> None:
    ecg_id, token = await open_stream(client, sampling_rate=None)
    by_owner = await client.post(
        f"/api/v1/ecg/{ecg_id}/chunks", json={"seq": 0, "signal": [[1, -1, 1], [0, 2, 0]]}
    )
    assert (by_owner.status_code, by_owner.json()) == (202, {"seq": 0})
    by_device = await send(client, ecg_id, token, 1, [[-1], [2]])
    assert by_device.status_code == 202
    assert (await client.post(f"/api/v1/ecg/{ecg_id}/end")).json() == {"seq": 2}
    result = await wait_until_done(client, ecg_id)
    assert [lead["zero_crossings"] for lead in result["leads"]] == [3, 0]
    assert [lead["number_of_samples"] for lead in result["leads"]] == [4, 4]


async def test_a_gap_names_the_chunk_to_send(client: httpx.AsyncClient) -> None:
    ecg_id, token = await open_stream(client)
    assert (await send(client, ecg_id, token, 0, [[1], [2]])).status_code == 202
    gap = await send(client, ecg_id, token, 2, [[1], [2]])
    assert gap.status_code == 409
    assert gap.headers["content-type"] == PROBLEM_JSON
    problem = gap.json()
    assert problem["type"] == "/problems/chunk-gap"
    assert problem["expected_seq"] == 1
    assert "send seq 1 first" in problem["detail"]
    assert (await send(client, ecg_id, token, 1, [[1], [2]])).status_code == 202


async def test_no_chunk_after_the_end(client: httpx.AsyncClient) -> None:
    ecg_id, token = await open_stream(client)
    assert (await send(client, ecg_id, token, 0, [[1], [2]])).status_code == 202
    assert (await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))).is_success
    for seq in (0, 1, 2):
        late = await send(client, ecg_id, token, seq, [[1], [2]])
        assert late.status_code == 409
        assert late.json()["type"] == "/problems/stream-ended"
        assert "has ended" in late.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fields", "message"),
    [
        ({"seq": 0, "signal": [[1, 2]]}, ["signal"], "expected 2 arrays of samples, one per lead"),
        (
            {"seq": 0, "signal": [[1, 2], [3]]},
            ["signal[1]"],
            "has 1 samples but signal[0] (I) has 2",
        ),
        (
            {"seq": 0, "signal": [[1, 2.5], [3, 4]]},
            ["signal[0][1]"],
            "expected an integer, got 2.5",
        ),
        ({"seq": 0, "signal": [[], []]}, ["signal[0]", "signal[1]"], "at least one sample"),
        ({"seq": -1, "signal": [[1], [2]]}, ["seq"], "expected an integer from 0"),
        ({"signal": [[1], [2]], "sek": 0}, ["sek", "seq"], "did you mean 'seq'?"),
        ({"seq": 0, "signal": [[1], [2**31]]}, ["signal[1][0]"], "signed 32-bit range"),
    ],
)
async def test_a_chunk_of_the_wrong_shape_says_what_to_fix(
    client: httpx.AsyncClient, body: dict[str, Any], fields: list[str], message: str
) -> None:
    ecg_id, token = await open_stream(client)
    response = await client.post(f"/api/v1/ecg/{ecg_id}/chunks", json=body, headers=device(token))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == fields
    assert message in response.json()["detail"]


async def test_an_opening_is_checked_like_an_upload(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/ecg/streams", json={"date": "yesterday", "leads": ["I", "V", "i"], "rate": 5}
    )
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [
        "rate", "date", "leads[1]", "leads[2]"
    ]  # fmt: skip
    taken = str(uuid4())
    await open_stream(client, id=taken)
    again = await client.post(
        "/api/v1/ecg/streams", json={"id": taken, "date": DATE, "leads": ["I"]}
    )
    assert again.status_code == 409


async def test_an_ingest_token_is_for_its_own_stream_only(
    client: httpx.AsyncClient, user: Account
) -> None:
    mine, token = await open_stream(client)
    other, _ = await open_stream(client)
    for path in (f"/api/v1/ecg/{other}/chunks", f"/api/v1/ecg/{other}/end"):
        response = await client.post(
            path, json={"seq": 0, "signal": [[1], [2]]}, headers=device(token)
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM_JSON
        assert f"for the stream of ECG {mine}" in response.json()["detail"]
    # ... and for nothing but sending chunks: not as an access token, not to refresh.
    for method, path in [
        ("GET", f"/api/v1/ecg/{mine}"),
        ("GET", f"/api/v1/ecg/{mine}/beats"),
        ("POST", "/api/v1/ecg/streams"),
        ("POST", "/api/v1/ecg/"),
        ("GET", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
    ]:
        response = await client.request(method, path, headers=device(token))
        assert response.status_code == 401, (method, path)
        assert "token_use is 'ingest'" in response.json()["detail"]


async def test_an_expired_ingest_token_says_so(
    client: httpx.AsyncClient, user: Account, jwt_secret: str
) -> None:
    ecg_id, _ = await open_stream(client)
    now = int(time.time())
    expired = sign(
        {"alg": "HS256", "typ": "JWT"},
        {
            "iss": "ecg-pipeline",
            "aud": "ecg-pipeline-api",
            "sub": user.id,
            "iat": now - 1000,
            "exp": now - 100,
            "jti": str(uuid4()),
            "ecg": ecg_id,
            "token_use": "ingest",
        },
        jwt_secret,
    )
    response = await send(client, ecg_id, expired, 0, [[1], [2]])
    assert response.status_code == 401
    assert response.json()["detail"] == "the token has expired"
    assert response.headers["www-authenticate"] == (
        'Bearer realm="ecg-pipeline", error="invalid_token"'
    )


async def test_another_users_stream_is_exactly_an_unknown_id(
    http: httpx.AsyncClient, new_user: NewUser
) -> None:
    owner, stranger = await new_user(), await new_user()
    ecg_id = str(uuid4())
    chunk = {"seq": 0, "signal": [[1], [2]]}
    path = f"/api/v1/ecg/{ecg_id}/chunks"
    before = await http.post(path, json=chunk, headers=stranger.headers())
    assert before.status_code == 404
    opened = await http.post(
        "/api/v1/ecg/streams",
        json={"id": ecg_id, "date": DATE, "leads": ["I", "II"]},
        headers=owner.headers(),
    )
    assert opened.status_code == 201
    after = await http.post(path, json=chunk, headers=stranger.headers())
    assert (after.status_code, after.content) == (before.status_code, before.content)
    assert after.json()["detail"] == f"no ECG with id {ecg_id}"
    end = await http.post(f"/api/v1/ecg/{ecg_id}/end", headers=stranger.headers())
    assert (end.status_code, end.content) == (before.status_code, before.content)


async def test_every_stream_endpoint_needs_a_token_and_admins_get_none(
    http: httpx.AsyncClient, admin: Account, client: httpx.AsyncClient
) -> None:
    ecg_id, _ = await open_stream(client)
    for path in (
        "/api/v1/ecg/streams",
        f"/api/v1/ecg/{ecg_id}/chunks",
        f"/api/v1/ecg/{ecg_id}/end",
    ):
        response = await http.post(path, json={})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="ecg-pipeline"'
        as_admin = await http.post(path, json={}, headers=admin.headers())
        assert as_admin.status_code == 403
        assert "administrators" in as_admin.json()["detail"]


async def test_an_uploaded_ecg_takes_no_chunks(client: httpx.AsyncClient) -> None:
    body = {"date": DATE, "leads": [{"name": "I", "signal": [1, 2]}]}
    ecg_id = (await client.post("/api/v1/ecg/", json=body)).json()["id"]
    response = await client.post(f"/api/v1/ecg/{ecg_id}/chunks", json={"seq": 0, "signal": [[1]]})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/not-a-stream"
