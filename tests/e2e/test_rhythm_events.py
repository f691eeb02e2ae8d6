"""Rhythm events through the running stack (issue 18): a minute of MIT-BIH record 100
with 2.5 s of flat line inserted has a pause, which ``GET /api/v1/ecg/{id}/events``
serves, the topic ``ecg.events.v1`` carries, and a re-analysis finds again; owner only,
as the beats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import jsonschema_rs
import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer

from schemas import topics
from schemas.codec import Schema, decode
from tests.e2e.conftest import Account, NewUser
from tests.e2e.streaming import device, open_stream, send, upload_whole
from tests.e2e.test_reanalysis import analysed_again, reanalyse
from tests.e2e.test_upload_and_lookup import wait_until_done
from tests.records import read_record

PROBLEM_JSON = "application/problem+json"
RATE = 360
GAP_AT = 30 * RATE  # the flat line starts 30 s in
GAP = round(2.5 * RATE)


async def events_on_the_topic(
    bootstrap: str, ecg_id: str, revision: int, deadline_seconds: float = 60
) -> list[dict[str, Any]]:
    """The ECG's events of ``revision`` on ``ecg.events.v1``, read from the beginning
    until one has come and the topic has no more for a second."""
    consumer = AIOKafkaConsumer(
        topics.EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            records = [r for rs in batch.values() for r in rs]
            found += [
                event
                for record in records
                if record.key == ecg_id.encode()
                and (event := decode(Schema.RHYTHM_EVENT, record.value))["revision"] == revision
            ]
            if found and not records:
                break
    finally:
        await consumer.stop()
    return found


@pytest.fixture
async def paused(client: httpx.AsyncClient, data_dir: Path) -> str:
    """The id of a minute of record 100 with 2.5 s of flat line 30 s in, analysed."""
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 60 * RATE]
    flat = np.repeat(signals[:, GAP_AT : GAP_AT + 1], GAP, axis=1)
    signals = np.concatenate([signals[:, :GAP_AT], flat, signals[:, GAP_AT:]], axis=1)
    ecg_id = await upload_whole(client, signals, record.lead_names, RATE)
    lookup = await wait_until_done(client, ecg_id, deadline_seconds=120)
    assert lookup["status"] == "done"
    return ecg_id


def the_pause(events: list[dict[str, Any]]) -> dict[str, Any]:
    pauses = [event for event in events if event["type"] == "pause"]
    assert len(pauses) == 1, events
    (pause,) = pauses
    # From the last beat before the flat line to the first after it.
    assert pause["start_sample"] < GAP_AT < GAP_AT + GAP < pause["end_sample"]
    assert pause["longest_rr_ms"] >= 2500
    assert pause["beats"] == 2
    assert pause["decided_at"] == pause["end_sample"]
    return pause


async def test_a_pause_is_served_published_and_found_again(
    client: httpx.AsyncClient, paused: str, kafka_bootstrap: str
) -> None:
    response = await client.get(f"/api/v1/ecg/{paused}/events")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["sampling_rate"], body["status"]) == (RATE, "done")
    assert [event["number"] for event in body["events"]] == list(range(len(body["events"])))
    pause = the_pause(body["events"])
    assert (pause["revision"], pause["sampling_rate"]) == (0, RATE)
    document = (await client.get("/api/v1/openapi.json")).json()
    schema = {**document["components"]["schemas"]["Events"], "components": document["components"]}
    jsonschema_rs.validator_for(schema).validate(body)

    # The window whose beat decided it carries the same report; the summary counts it.
    windows = (await client.get(f"/api/v1/ecg/{paused}/windows")).json()["windows"]
    carried = [event for window in windows for event in window["events"]]
    assert {k: v for k, v in pause.items() if k in carried[0]} in carried
    assert {window["rhythm_verdict"] for window in windows} <= {
        "normal",
        "af",
        "bradycardia",
        "tachycardia",
        "unknown",
    }
    summary = (await client.get(f"/api/v1/ecg/{paused}")).json()["summary"]
    assert summary["event_counts"]["pause"] == 1
    assert set(summary["event_counts"]) == {
        "af",
        "pause",
        "ventricular_run",
        "bradycardia",
        "tachycardia",
    }
    assert summary["af_burden_percent"]["value"] is not None

    # On the topic, keyed by the ECG id, as the API serves it.
    published = await events_on_the_topic(kafka_bootstrap, paused, 0)
    on_topic = the_pause(published)
    assert {k: v for k, v in on_topic.items() if k != "ecg_id"} == pause

    # A re-analysis replaces them with its own revision, and publishes them too.
    revision = await reanalyse(client, paused)
    analyses = await analysed_again(client, paused, revision)
    (done,) = [a for a in analyses["analyses"] if a["revision"] == revision]
    assert done["status"] == "done", analyses
    again = (await client.get(f"/api/v1/ecg/{paused}/events")).json()["events"]
    assert len(again) == len(body["events"])
    assert the_pause(again) == pause | {"revision": revision}
    republished = await events_on_the_topic(kafka_bootstrap, paused, revision)
    assert the_pause(republished)["revision"] == revision


async def test_someone_elses_ecg_is_exactly_an_unknown_id(
    http: httpx.AsyncClient, new_user: NewUser
) -> None:
    owner, stranger = await new_user(), await new_user()
    body = {"date": "2024-05-01", "leads": [{"name": "II", "signal": [3, -1, 4]}]}
    ecg_id = (await http.post("/api/v1/ecg/", json=body, headers=owner.headers())).json()["id"]
    mine = await http.get(f"/api/v1/ecg/{ecg_id}/events", headers=owner.headers())
    assert mine.status_code == 200, mine.text
    assert mine.json()["events"] == []
    theirs = await http.get(f"/api/v1/ecg/{ecg_id}/events", headers=stranger.headers())
    unknown = await http.get(f"/api/v1/ecg/{uuid4()}/events", headers=stranger.headers())
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.headers["content-type"] == PROBLEM_JSON
    assert theirs.json()["detail"] == f"no ECG with id {ecg_id}"


async def test_admins_may_not_and_a_token_is_needed(
    http: httpx.AsyncClient, admin: Account, user: Account
) -> None:
    body = {"date": "2024-05-01", "leads": [{"name": "II", "signal": [3, -1, 4]}]}
    ecg_id = (await http.post("/api/v1/ecg/", json=body, headers=user.headers())).json()["id"]
    path = f"/api/v1/ecg/{ecg_id}/events"
    forbidden = await http.get(path, headers=admin.headers())
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == PROBLEM_JSON
    anonymous = await http.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="ecg-pipeline"'
    assert anonymous.headers["content-type"] == PROBLEM_JSON
    malformed = await http.get("/api/v1/ecg/not-a-uuid/events", headers=user.headers())
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM_JSON


async def test_every_read_is_audited(
    client: httpx.AsyncClient, user: Account, db: asyncpg.Connection
) -> None:
    unknown = str(uuid4())
    await client.get(f"/api/v1/ecg/{unknown}/events")
    rows = await db.fetch(
        "SELECT action, object_id, outcome FROM audit_log WHERE actor_id = $1 ORDER BY id",
        user.id,
    )
    assert ("ecg.events", unknown, "not_found") in [tuple(row) for row in rows]


async def test_a_streamed_pause_is_published_with_the_window_that_decided_it(
    client: httpx.AsyncClient, kafka_bootstrap: str, data_dir: Path
) -> None:
    """The ECG streamed in 1-s chunks (five a second, as a device catching up would):
    the pause is on ``ecg.events.v1`` within 2 s of the window result of the window
    whose beat decided it (Kafka's timestamps of both messages), before the stream
    ends."""
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 40 * RATE]
    flat = np.repeat(signals[:, GAP_AT : GAP_AT + 1], GAP, axis=1)
    signals = np.concatenate([signals[:, :GAP_AT], flat, signals[:, GAP_AT:]], axis=1)
    ecg_id, token = await open_stream(client, sampling_rate=RATE, leads=record.lead_names)
    started = time.monotonic()
    for seq, start in enumerate(range(0, signals.shape[1], RATE)):
        answer = await send(client, ecg_id, token, seq, signals[:, start : start + RATE].tolist())
        assert answer.status_code == 202, answer.text
        await asyncio.sleep(max(0.0, started + (seq + 1) / 5 - time.monotonic()))
    pause, published = await first_record(kafka_bootstrap, topics.EVENTS, ecg_id)
    assert pause["type"] == "pause"
    window_index = pause["decided_at"] // (10 * RATE)
    window, window_published = await first_record(
        kafka_bootstrap, topics.WINDOWS, ecg_id, lambda w: w["index"] == window_index
    )
    assert [event["number"] for event in window["events"]] == [pause["number"]]
    assert abs(published - window_published) <= 2000, (published, window_published)
    assert (await client.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token))).is_success


async def first_record(
    bootstrap: str,
    topic: str,
    ecg_id: str,
    wanted: Callable[[dict[str, Any]], bool] = lambda _: True,
    deadline_seconds: float = 60,
) -> tuple[dict[str, Any], int]:
    """The first record of the ECG on ``topic`` that is ``wanted``, and its Kafka
    timestamp (ms), read from the beginning."""
    schema = {topics.EVENTS: Schema.RHYTHM_EVENT, topics.WINDOWS: Schema.WINDOW_RESULT}[topic]
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for record in (r for rs in batch.values() for r in rs):
                if record.key != ecg_id.encode():
                    continue
                value = decode(schema, record.value)
                if wanted(value):
                    return value, record.timestamp
    finally:
        await consumer.stop()
    raise AssertionError(f"no such record of {ecg_id} on {topic}")
