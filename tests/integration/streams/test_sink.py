"""The result sink against the real PostgreSQL that `make test` starts."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from streams.sink import ResultStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ResultStore]:
    result_store = ResultStore(database_url)
    try:
        yield result_store
    finally:
        await result_store.close()


def window(ecg_id: uuid.UUID, index: int, crossings: int = 1) -> dict[str, Any]:
    return {
        "ecg_id": ecg_id,
        "index": index,
        "start_sample": index * 10,
        "end_sample": index * 10 + 10,
        "sampling_rate": 1.0,
        "leads": [{"name": "I", "number_of_samples": 10, "zero_crossings": crossings}],
        "beats": [index * 10 + 2, index * 10 + 7][: index + crossings - 1],
    }


def summary(ecg_id: uuid.UUID, crossings: int = 2) -> dict[str, Any]:
    return {
        "ecg_id": ecg_id,
        "date": datetime(2024, 5, 1, 10, tzinfo=UTC),
        "sampling_rate": 1.0,
        "n_windows": 2,
        "leads": [{"name": "I", "number_of_samples": 20, "zero_crossings": crossings}],
    }


async def test_results_land(db: asyncpg.Connection, store: ResultStore) -> None:
    ecg_id = uuid.uuid4()
    await store.write([window(ecg_id, 0), window(ecg_id, 1)], [summary(ecg_id)])

    stored = await db.fetchrow("SELECT * FROM ecg_summaries WHERE ecg_id = $1", ecg_id)
    assert stored is not None
    assert stored["n_windows"] == 2
    assert json.loads(stored["result"])["leads"][0]["zero_crossings"] == 2
    rows = await db.fetch(
        "SELECT index, end_sample, result FROM ecg_windows WHERE ecg_id = $1 ORDER BY index",
        ecg_id,
    )
    assert [(r["index"], r["end_sample"]) for r in rows] == [(0, 10), (1, 20)]
    assert json.loads(rows[0]["result"])["leads"][0]["zero_crossings"] == 1


async def test_beats_go_to_their_own_column(db: asyncpg.Connection, store: ResultStore) -> None:
    ecg_id = uuid.uuid4()
    await store.write([window(ecg_id, 0), window(ecg_id, 1), window(ecg_id, 2)], [])
    rows = await db.fetch(
        "SELECT beats, result FROM ecg_windows WHERE ecg_id = $1 ORDER BY index", ecg_id
    )
    assert [row["beats"] for row in rows] == [[], [12], [22, 27]]
    assert all("beats" not in json.loads(row["result"]) for row in rows)


async def test_redelivery_is_an_upsert(db: asyncpg.Connection, store: ResultStore) -> None:
    ecg_id = uuid.uuid4()
    batch = [window(ecg_id, 0), window(ecg_id, 0, crossings=5)]
    await store.write(batch, [summary(ecg_id), summary(ecg_id, crossings=3)])
    await store.write(batch, [summary(ecg_id, crossings=3)])

    assert await db.fetchval("SELECT count(*) FROM ecg_windows WHERE ecg_id = $1", ecg_id) == 1
    assert (
        await db.fetchval(
            "SELECT result->'leads'->0->>'zero_crossings' FROM ecg_windows WHERE ecg_id = $1",
            ecg_id,
        )
        == "5"
    )
    assert (
        await db.fetchval(
            "SELECT result->'leads'->0->>'zero_crossings' FROM ecg_summaries WHERE ecg_id = $1",
            ecg_id,
        )
        == "3"
    )
    assert await db.fetchval("SELECT count(*) FROM ecg_summaries WHERE ecg_id = $1", ecg_id) == 1


async def test_a_record_the_database_refuses_raises(store: ResultStore) -> None:
    bad = window(uuid.uuid4(), -1)
    with pytest.raises(asyncpg.CheckViolationError):
        await store.write([bad], [])
