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


def summary(
    ecg_id: uuid.UUID, crossings: int = 2, *, n_windows: int = 2, final: bool = True
) -> dict[str, Any]:
    return {
        "ecg_id": ecg_id,
        "date": datetime(2024, 5, 1, 10, tzinfo=UTC),
        "sampling_rate": 1.0,
        "n_windows": n_windows,
        "leads": [{"name": "I", "number_of_samples": 20, "zero_crossings": crossings}],
        "final": final,
    }


async def stored_summary(db: asyncpg.Connection, ecg_id: uuid.UUID) -> tuple[int, bool, int]:
    """The stored summary's n_windows, final flag and zero crossings of its lead."""
    row = await db.fetchrow(
        "SELECT n_windows, final, result FROM ecg_summaries WHERE ecg_id = $1", ecg_id
    )
    assert row is not None
    result = json.loads(row["result"])
    assert result["final"] == row["final"]
    return row["n_windows"], row["final"], result["leads"][0]["zero_crossings"]


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


async def test_summaries_so_far_are_replaced_by_newer_ones(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    await store.write([], [summary(ecg_id, 1, n_windows=1, final=False)])
    assert await stored_summary(db, ecg_id) == (1, False, 1)
    await store.write([], [summary(ecg_id, 3, n_windows=2, final=False)])
    assert await stored_summary(db, ecg_id) == (2, False, 3)
    await store.write([], [summary(ecg_id, 4, n_windows=3, final=True)])
    assert await stored_summary(db, ecg_id) == (3, True, 4)


async def test_an_older_summary_so_far_never_replaces_a_newer_one(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    await store.write([], [summary(ecg_id, 3, n_windows=2, final=False)])
    await store.write([], [summary(ecg_id, 1, n_windows=1, final=False)])  # redelivered
    assert await stored_summary(db, ecg_id) == (2, False, 3)


async def test_a_summary_so_far_never_replaces_the_final_one(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    await store.write([], [summary(ecg_id, 4, n_windows=3, final=True)])
    # A provisional summary redelivered late, even one counting as many windows (the
    # final chunk closed none) or more (not possible, but never trusted).
    for n_windows in (2, 3, 4):
        await store.write([], [summary(ecg_id, 9, n_windows=n_windows, final=False)])
    assert await stored_summary(db, ecg_id) == (3, True, 4)
    # A redelivered final summary is an upsert like any other record.
    await store.write([], [summary(ecg_id, 4, n_windows=3, final=True)])
    assert await stored_summary(db, ecg_id) == (3, True, 4)


async def test_one_batch_keeps_the_newest_summary_whatever_their_order(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id, other = uuid.uuid4(), uuid.uuid4()
    await store.write(
        [],
        [
            summary(ecg_id, 1, n_windows=1, final=False),
            summary(ecg_id, 4, n_windows=3, final=True),
            summary(other, 3, n_windows=2, final=False),
            summary(ecg_id, 3, n_windows=2, final=False),
            summary(other, 1, n_windows=1, final=False),
        ],
    )
    assert await stored_summary(db, ecg_id) == (3, True, 4)
    assert await stored_summary(db, other) == (2, False, 3)


async def test_a_summary_without_the_flag_is_stored_as_final(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    record = summary(ecg_id, 5)
    del record["final"]  # as a record of an earlier schema version would be
    await store.write([], [summary(ecg_id, 1, n_windows=1, final=False), record])
    final = await db.fetchval("SELECT final FROM ecg_summaries WHERE ecg_id = $1", ecg_id)
    assert final is True


async def test_a_result_of_a_lower_revision_never_replaces_one_of_a_higher(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    """A re-analysis (revision 1) stored, then the first analysis's results redelivered
    late (revision 0): the re-analysis's stay; its own, redelivered, are an upsert."""
    ecg_id = uuid.uuid4()
    revised = {"revision": 1}
    await store.write(
        [window(ecg_id, 0, crossings=5) | revised], [summary(ecg_id, 7, final=True) | revised]
    )
    await store.write([window(ecg_id, 0, crossings=1)], [summary(ecg_id, 2, final=True)])
    await store.write(
        [], [summary(ecg_id, 3, n_windows=9, final=False), summary(ecg_id, 2, final=True)]
    )
    assert await stored_summary(db, ecg_id) == (2, True, 7)
    stored = await db.fetchrow(
        "SELECT revision, result FROM ecg_windows WHERE ecg_id = $1 AND index = 0", ecg_id
    )
    assert stored is not None
    assert stored["revision"] == 1
    assert json.loads(stored["result"])["leads"][0]["zero_crossings"] == 5
    # In one batch too: the highest revision wins whatever the order.
    await store.write(
        [window(ecg_id, 0, crossings=8) | {"revision": 2}, window(ecg_id, 0, crossings=1)],
        [summary(ecg_id, 8, final=True) | {"revision": 2}, summary(ecg_id, 1, final=True)],
    )
    assert await stored_summary(db, ecg_id) == (2, True, 8)
    assert (
        await db.fetchval(
            "SELECT revision FROM ecg_windows WHERE ecg_id = $1 AND index = 0", ecg_id
        )
        == 2
    )
