"""Beat classes stored by the sink beside the beats, replaced by a re-analysis, and read
back aligned with the beats by the gateway's repository (``GET …/beats``, ``…/windows``),
against the real PostgreSQL that `make test` starts."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np
import pytest

from gateway.accounts.users import Users
from gateway.database import Database
from gateway.recordings.repository import EcgRepository
from gateway.uploads import Lead, Upload
from schemas.codec import Schema, decode, encode
from streams.reanalysis import AnalysisStore, Request
from streams.sink import ResultStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ResultStore]:
    result_store = ResultStore(database_url)
    try:
        yield result_store
    finally:
        await result_store.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = Database(database_url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def owned_ecg(database: Database) -> tuple[EcgRepository, uuid.UUID, uuid.UUID]:
    """A repository, and an ECG id with its owner, as after an upload."""
    user = await Users(database).create(f"{uuid.uuid4().hex}@example.org", "unused", "user")
    upload = Upload(
        id=uuid.uuid4(),
        date=datetime(2024, 5, 1, 10, tzinfo=UTC),
        sampling_rate=250.0,
        leads=(Lead("I", np.zeros(4000, dtype=np.int32)),),
    )
    repository = EcgRepository(database)
    await repository.add(upload, user.id)
    return repository, upload.id, user.id


def window(
    ecg_id: uuid.UUID, index: int, beats: list[int], classes: str | None, *, revision: int = 0
) -> dict[str, Any]:
    """A window result with ``beats`` (offsets into the window) and their ``classes``
    (None: a record without the field)."""
    record = {
        "ecg_id": ecg_id,
        "index": index,
        "start_sample": index * 1000,
        "end_sample": index * 1000 + 1000,
        "sampling_rate": 250.0,
        "leads": [{"name": "I", "number_of_samples": 1000, "zero_crossings": 3}],
        "beats": [index * 1000 + beat for beat in beats],
        "analyser_version": "test",
        "revision": revision,
    }
    return record if classes is None else record | {"beat_classes": classes}


async def stored_windows(db: asyncpg.Connection, ecg_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT index, beats, beat_classes, revision, result FROM ecg_windows"
        " WHERE ecg_id = $1 ORDER BY index",
        ecg_id,
    )


async def test_classes_are_stored_beside_the_beats_and_served_aligned(
    db: asyncpg.Connection,
    store: ResultStore,
    owned_ecg: tuple[EcgRepository, uuid.UUID, uuid.UUID],
) -> None:
    repository, ecg_id, owner = owned_ecg
    # Out of order, over two batches, one window without beats.
    await store.write([window(ecg_id, 2, [50, 900], "NN"), window(ecg_id, 0, [10], "N")], [])
    await store.write([window(ecg_id, 1, [100, 400, 700], "VNS"), window(ecg_id, 3, [], "")], [])

    rows = await stored_windows(db, ecg_id)
    assert [(row["beats"], row["beat_classes"]) for row in rows] == [
        ([10], "N"),
        ([1100, 1400, 1700], "VNS"),
        ([2050, 2900], "NN"),
        ([], ""),
    ]
    assert all({"beats", "beat_classes"}.isdisjoint(json.loads(r["result"])) for r in rows)

    beats = await repository.beats(ecg_id, owner)
    assert beats is not None
    assert beats.sample_indices == [10, 1100, 1400, 1700, 2050, 2900]
    assert beats.classes == "NVNSNN"
    page = await repository.windows(ecg_id, owner, after=-1, limit=10)
    assert page is not None
    assert [(w["beats"], w["beat_classes"]) for w in page.windows] == [
        (row["beats"], row["beat_classes"]) for row in rows
    ]


async def test_beats_stored_without_classes_are_served_as_unclassifiable(
    db: asyncpg.Connection,
    store: ResultStore,
    owned_ecg: tuple[EcgRepository, uuid.UUID, uuid.UUID],
) -> None:
    """A window without classes (a message of the schema before them decodes with
    ``""``) or one whose letters do not fit its beats: stored NULL, and each of its
    beats served as Q, the windows around it keeping theirs."""
    repository, ecg_id, owner = owned_ecg
    old = decode(
        Schema.WINDOW_RESULT, encode(Schema.WINDOW_RESULT, window(ecg_id, 1, [5, 9], None))
    )
    assert old["beat_classes"] == ""
    await store.write(
        [
            window(ecg_id, 0, [10, 20], "NV"),
            old,
            window(ecg_id, 2, [30, 40], "N"),  # one letter short
            window(ecg_id, 3, [50], "S"),
        ],
        [],
    )
    rows = await stored_windows(db, ecg_id)
    assert [row["beat_classes"] for row in rows] == ["NV", None, None, "S"]

    beats = await repository.beats(ecg_id, owner)
    assert beats is not None
    assert len(beats.classes) == len(beats.sample_indices) == 7
    assert beats.classes == "NVQQQQS"
    page = await repository.windows(ecg_id, owner, after=0, limit=2)
    assert page is not None
    assert [w["beat_classes"] for w in page.windows] == ["QQ", "QQ"]


async def test_classes_follow_the_revision_rule_of_the_beats(
    db: asyncpg.Connection, store: ResultStore
) -> None:
    ecg_id = uuid.uuid4()
    await store.write([window(ecg_id, 0, [10, 20], "NN")], [])
    # The same revision again (a redelivery, or a newer result): it replaces.
    await store.write([window(ecg_id, 0, [10, 20, 30], "NVN")], [])
    # A re-analysis's (revision 1), then the first analysis redelivered late.
    await store.write([window(ecg_id, 0, [11, 21], "SV", revision=1)], [])
    await store.write([window(ecg_id, 0, [10, 20, 30], "NVN")], [])
    (row,) = await stored_windows(db, ecg_id)
    assert (row["beats"], row["beat_classes"], row["revision"]) == ([11, 21], "SV", 1)

    # In one batch, the highest revision wins whatever the order.
    await store.write(
        [window(ecg_id, 0, [12], "V", revision=2), window(ecg_id, 0, [10], "N", revision=1)],
        [],
    )
    (row,) = await stored_windows(db, ecg_id)
    assert (row["beats"], row["beat_classes"], row["revision"]) == ([12], "V", 2)


async def test_a_reanalysis_replaces_the_classes_with_the_beats(
    db: asyncpg.Connection,
    store: ResultStore,
    owned_ecg: tuple[EcgRepository, uuid.UUID, uuid.UUID],
) -> None:
    repository, ecg_id, owner = owned_ecg
    # Stored before the classes existed: unknown.
    await store.write([window(ecg_id, 0, [10, 20], ""), window(ecg_id, 1, [30], "")], [])
    analysis = AnalysisStore(db, archive_wait=0.0)
    request = Request(ecg_id, 1)
    async with db.transaction():
        await analysis.clear(request)
        await analysis.insert(
            request,
            [
                window(ecg_id, 0, [10, 20, 25], "NNV", revision=1),
                window(ecg_id, 1, [30], "N", revision=1),
                window(ecg_id, 2, [], "", revision=1),
            ],
        )
    rows = await stored_windows(db, ecg_id)
    assert [(r["beat_classes"], r["revision"]) for r in rows] == [("NNV", 1), ("N", 1), ("", 1)]
    beats = await repository.beats(ecg_id, owner)
    assert beats is not None
    assert (beats.sample_indices, beats.classes) == ([10, 20, 25, 1030], "NNVN")
