"""The rhythm events that window results carry, stored by the sink and replaced by a
re-analysis, against the real PostgreSQL that `make test` starts."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from streams.reanalysis import AnalysisStore, Request
from streams.sink import ResultStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ResultStore]:
    result_store = ResultStore(database_url)
    try:
        yield result_store
    finally:
        await result_store.close()


def report(
    number: int,
    kind: str = "af",
    *,
    start: int = 100,
    end: int | None = None,
    decided_at: int = 400,
    beats: int = 33,
) -> dict[str, Any]:
    return {
        "type": kind,
        "number": number,
        "start_sample": start,
        "end_sample": end,
        "beats": beats,
        "heart_rate_bpm": 112.5,
        "longest_rr_ms": 900.0,
        "decided_at": decided_at,
    }


def window(
    ecg_id: uuid.UUID, index: int, *events: dict[str, Any], revision: int = 0
) -> dict[str, Any]:
    return {
        "ecg_id": ecg_id,
        "index": index,
        "start_sample": index * 1000,
        "end_sample": index * 1000 + 1000,
        "sampling_rate": 250.0,
        "leads": [{"name": "I", "number_of_samples": 1000, "zero_crossings": 3}],
        "beats": [],
        "analyser_version": "test",
        "revision": revision,
        "rhythm_verdict": "af",
        "events": list(events),
    }


def summary(ecg_id: uuid.UUID, *, revision: int = 0) -> dict[str, Any]:
    return {
        "ecg_id": ecg_id,
        "date": datetime(2024, 5, 1, 10, tzinfo=UTC),
        "sampling_rate": 250.0,
        "n_windows": 3,
        "leads": [{"name": "I", "number_of_samples": 3000, "zero_crossings": 9}],
        "final": True,
        "revision": revision,
    }


async def stored_events(db: asyncpg.Connection, ecg_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        """
        SELECT number, revision, type, start_sample, end_sample, decided_at, report
        FROM ecg_events WHERE ecg_id = $1 ORDER BY number
        """,
        ecg_id,
    )
    return [dict(row) | {"report": json.loads(row["report"])} for row in rows]


async def test_an_onset_then_its_end_are_one_row_with_the_end(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    onset, ended = report(0), report(0, end=2500, decided_at=2600, beats=80)
    await store.write([window(ecg_id, 0, onset)], [])
    (row,) = await stored_events(db, ecg_id)
    assert (row["type"], row["end_sample"], row["decided_at"]) == ("af", None, 400)
    assert row["report"] == onset | {
        "sampling_rate": 250.0,
        "analyser_version": "test",
        "revision": 0,
    }

    await store.write([window(ecg_id, 2, ended, report(1, "pause", start=2700, end=3300))], [])
    rows = await stored_events(db, ecg_id)
    assert [(r["number"], r["type"], r["end_sample"]) for r in rows] == [
        (0, "af", 2500),
        (1, "pause", 3300),
    ]
    assert rows[0]["report"]["beats"] == 80
    assert "ecg_id" not in rows[0]["report"]

    # The onset redelivered late (a worker restarted) leaves the end report in place.
    await store.write([window(ecg_id, 0, onset)], [])
    assert (await stored_events(db, ecg_id))[0]["end_sample"] == 2500


async def test_in_one_batch_the_end_report_wins_whatever_the_order(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    onset, ended = report(0), report(0, end=2500, decided_at=2600)
    await store.write([window(ecg_id, 2, ended), window(ecg_id, 0, onset)], [])
    (row,) = await stored_events(db, ecg_id)
    assert row["end_sample"] == 2500


async def test_a_report_of_a_lower_revision_never_replaces_one_of_a_higher(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    """A re-analysis (revision 1) stored, then the first analysis's results redelivered
    late (revision 0): the re-analysis's events stay, and an event that only the first
    analysis found is not brought back."""
    ecg_id = uuid.uuid4()
    revised = report(0, "pause", start=500, end=1300, decided_at=1300, beats=2)
    await store.write([window(ecg_id, 1, revised, revision=1)], [summary(ecg_id, revision=1)])
    await store.write(
        [window(ecg_id, 0, report(0), report(1, "tachycardia", start=600, decided_at=900))],
        [summary(ecg_id)],
    )
    (row,) = await stored_events(db, ecg_id)
    assert (row["number"], row["type"], row["revision"]) == (0, "pause", 1)
    assert row["report"]["revision"] == 1

    # A later revision replaces it, in one batch with a lower one whatever the order.
    newer = report(0, "pause", start=510, end=1310, decided_at=1310, beats=2)
    await store.write(
        [window(ecg_id, 1, newer, revision=2), window(ecg_id, 1, revised, revision=1)],
        [summary(ecg_id, revision=2)],
    )
    (row,) = await stored_events(db, ecg_id)
    assert (row["start_sample"], row["revision"]) == (510, 2)


async def test_a_reanalysis_replaces_the_ecgs_events(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id, other = uuid.uuid4(), uuid.uuid4()
    await store.write(
        [
            window(ecg_id, 0, report(0), report(1, "pause", start=300, end=1100)),
            window(other, 0, report(0, "bradycardia")),
        ],
        [],
    )
    analysis = AnalysisStore(db, archive_wait=0.0)
    request = Request(ecg_id, 1)
    async with db.transaction():
        await analysis.clear(request)
        await analysis.insert(
            request,
            [
                window(ecg_id, 0, report(0, start=120, decided_at=410), revision=1),
                window(ecg_id, 1, revision=1),
                window(ecg_id, 2, report(0, start=120, end=2400, decided_at=2450), revision=1),
            ],
        )
    rows = await stored_events(db, ecg_id)
    assert [(r["number"], r["start_sample"], r["end_sample"], r["revision"]) for r in rows] == [
        (0, 120, 2400, 1)
    ]
    assert [r["type"] for r in await stored_events(db, other)] == ["bradycardia"]
