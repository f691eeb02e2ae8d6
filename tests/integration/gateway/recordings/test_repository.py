"""The repository against the real PostgreSQL, with the schema that migrations made."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import numpy as np
import pytest

from gateway.accounts.users import Users
from gateway.database import Database
from gateway.errors import DatabaseUnavailableError, EcgExistsError
from gateway.recordings.repository import EcgRepository, StoredLead
from gateway.uploads import Lead, Upload


def make_upload(sampling_rate: float | None = 360.0) -> Upload:
    return Upload(
        id=uuid4(),
        date=datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC),
        sampling_rate=sampling_rate,
        leads=(
            Lead("MLII", np.arange(5, dtype=np.int32), gain=200.0, baseline=1024),
            Lead("V5", np.arange(3, dtype=np.int32)),
            Lead("aVR", np.arange(7, dtype=np.int32), gain=0.5, baseline=-(2**31)),
        ),
    )


@pytest.fixture
def repository(database: Database) -> EcgRepository:
    return EcgRepository(database)


async def new_owner(database: Database) -> UUID:
    user = await Users(database).create(f"{uuid4().hex}@example.org", "unused", "user")
    return user.id


@pytest.fixture
async def owner(database: Database) -> UUID:
    return await new_owner(database)


async def test_added_ecg_is_found_with_its_leads(repository: EcgRepository, owner: UUID) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    stored = await repository.get(upload.id, owner)

    assert stored is not None
    assert stored.id == upload.id
    assert stored.date == upload.date
    assert stored.status == "processing"
    assert stored.sampling_rate == 360.0
    assert stored.leads == (
        StoredLead("MLII", 5, None, 200.0, 1024),
        StoredLead("V5", 3, None, None, None),
        StoredLead("aVR", 7, None, 0.5, -(2**31)),
    )
    assert stored.summary is None
    assert stored.window_count == 0


async def test_sampling_rate_may_be_absent(repository: EcgRepository, owner: UUID) -> None:
    upload = make_upload(sampling_rate=None)
    await repository.add(upload, owner)
    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert stored.sampling_rate is None


async def test_existing_id_is_refused_and_left_alone(
    repository: EcgRepository, owner: UUID, connection: asyncpg.Connection
) -> None:
    first = make_upload()
    await repository.add(first, owner)
    second = dataclasses.replace(make_upload(sampling_rate=500.0), id=first.id)
    with pytest.raises(EcgExistsError):
        await repository.add(second, owner)

    stored = await repository.get(first.id, owner)
    assert stored is not None
    assert stored.sampling_rate == 360.0
    assert (
        await connection.fetchval("SELECT count(*) FROM ecg_leads WHERE ecg_id = $1", first.id) == 3
    )


async def test_removed_ecg_is_gone_with_its_leads(
    repository: EcgRepository, owner: UUID, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    await repository.remove(upload.id)

    assert await repository.get(upload.id, owner) is None
    assert (
        await connection.fetchval("SELECT count(*) FROM ecg_leads WHERE ecg_id = $1", upload.id)
        == 0
    )
    await repository.add(upload, owner)  # the id can be used again
    assert await repository.get(upload.id, owner) is not None


async def test_unknown_id_is_none(repository: EcgRepository, owner: UUID) -> None:
    assert await repository.get(uuid4(), owner) is None


async def test_results_written_by_the_sink_are_shown(
    repository: EcgRepository, owner: UUID, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    summary = {
        "n_windows": 2,
        "heart_rate": {"mean": 71.5},
        "leads": [
            {"name": lead.name, "zero_crossings": i * 10 + 1} for i, lead in enumerate(upload.leads)
        ],
    }
    before = await repository.get(upload.id, owner)
    assert before is not None
    assert before.status == "processing"
    assert [lead.zero_crossings for lead in before.leads] == [None] * len(upload.leads)
    async with connection.transaction():
        for index in range(2):
            await connection.execute(
                "INSERT INTO ecg_windows (ecg_id, index, start_sample, end_sample, result)"
                " VALUES ($1, $2, $3, $4, $5::jsonb)",
                upload.id,
                index,
                index * 3600,
                (index + 1) * 3600,
                json.dumps({"index": index}),
            )
        await connection.execute(
            "INSERT INTO ecg_summaries (ecg_id, n_windows, result) VALUES ($1, 2, $2::jsonb)",
            upload.id,
            json.dumps(summary),
        )

    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert stored.status == "done"
    assert [lead.zero_crossings for lead in stored.leads] == [1, 11, 21]
    assert stored.summary == summary | {"final": True}  # from its column (default true)
    assert stored.window_count == 2


async def test_done_waits_for_every_window_of_the_summary(
    repository: EcgRepository, owner: UUID, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    await connection.execute(
        "INSERT INTO ecg_summaries (ecg_id, n_windows, result) VALUES ($1, 2, $2::jsonb)",
        upload.id,
        json.dumps({"n_windows": 2, "leads": [{"zero_crossings": 0}] * 3}),
    )
    await add_windows(connection, upload.id, {1: [5]})
    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert (stored.status, stored.window_count) == ("processing", 1)
    beats = await repository.beats(upload.id, owner)
    assert beats is not None
    assert beats.status == "processing"
    await add_windows(connection, upload.id, {0: [1]})
    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert stored.status == "done"


async def add_summary(
    connection: asyncpg.Connection, ecg_id: UUID, n_windows: int, *, final: bool
) -> None:
    """A summary row as the sink writes it (the sink's upsert guard aside)."""
    result = {"n_windows": n_windows, "leads": [{"zero_crossings": n_windows}] * 3, "final": final}
    await connection.execute(
        "INSERT INTO ecg_summaries (ecg_id, n_windows, result, final)"
        " VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (ecg_id) DO UPDATE"
        " SET n_windows = EXCLUDED.n_windows, result = EXCLUDED.result, final = EXCLUDED.final",
        ecg_id,
        n_windows,
        json.dumps(result),
        final,
    )


@pytest.mark.parametrize("status", ["receiving", "processing"])
async def test_a_summary_so_far_shows_but_only_the_final_one_makes_it_done(
    repository: EcgRepository, owner: UUID, connection: asyncpg.Connection, status: str
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    await connection.execute("UPDATE ecgs SET status = $2 WHERE id = $1", upload.id, status)
    await add_windows(connection, upload.id, {0: [5], 1: [150]})
    await add_summary(connection, upload.id, 2, final=False)
    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert (stored.status, stored.window_count) == (status, 2)
    assert stored.summary["final"] is False
    assert stored.summary["n_windows"] == 2
    assert [lead.zero_crossings for lead in stored.leads] == [2, 2, 2]  # so far
    beats = await repository.beats(upload.id, owner)
    assert beats is not None
    assert (beats.status, beats.sample_indices) == (status, [5, 150])

    await add_summary(connection, upload.id, 3, final=True)
    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert (stored.status, stored.summary["final"]) == (status, True)  # window 2 is missing
    await add_windows(connection, upload.id, {2: []})
    stored = await repository.get(upload.id, owner)
    assert stored is not None
    assert (stored.status, stored.summary["final"]) == ("done", True)


async def test_an_incomplete_ecg_stays_incomplete_when_its_final_summary_arrives(
    repository: EcgRepository, owner: UUID, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    await connection.execute("UPDATE ecgs SET status = 'incomplete' WHERE id = $1", upload.id)
    await add_windows(connection, upload.id, {0: [5]})
    await add_summary(connection, upload.id, 1, final=True)
    stored = await repository.get(upload.id, owner)
    beats = await repository.beats(upload.id, owner)
    assert stored is not None
    assert beats is not None
    assert (stored.status, beats.status) == ("incomplete", "incomplete")
    assert stored.summary["final"] is True


async def add_windows(
    connection: asyncpg.Connection, ecg_id: UUID, beats: dict[int, list[int]]
) -> None:
    """Window rows as the sink writes them, in the order given."""
    for index, found in beats.items():
        await connection.execute(
            "INSERT INTO ecg_windows (ecg_id, index, start_sample, end_sample, result, beats)"
            " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
            ecg_id,
            index,
            index * 100,
            (index + 1) * 100,
            json.dumps({"index": index}),
            found,
        )


async def test_windows_come_in_pages_with_their_beats(
    repository: EcgRepository, database: Database, owner: UUID, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    await add_windows(connection, upload.id, {3: [350], 0: [5, 80], 2: [210], 1: []})

    first = await repository.windows(upload.id, owner, after=-1, limit=3)
    assert first is not None
    # Stored without beat classes: each beat unclassifiable (Q).
    assert first.windows == [
        {"index": 0, "beats": [5, 80], "beat_classes": "QQ"},
        {"index": 1, "beats": [], "beat_classes": ""},
        {"index": 2, "beats": [210], "beat_classes": "Q"},
    ]
    assert first.more
    rest = await repository.windows(upload.id, owner, after=2, limit=3)
    assert rest is not None
    assert (rest.windows, rest.more) == (
        [{"index": 3, "beats": [350], "beat_classes": "Q"}],
        False,
    )
    assert await repository.windows(upload.id, await new_owner(database), -1, 3) is None


async def test_beats_are_gathered_from_the_windows_in_order(
    repository: EcgRepository, database: Database, owner: UUID, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    empty = await repository.beats(upload.id, owner)
    assert empty is not None
    assert (empty.sampling_rate, empty.status, empty.sample_indices) == (360.0, "processing", [])
    await add_windows(connection, upload.id, {3: [350], 0: [5, 80], 2: [210], 1: []})
    stored = await repository.beats(upload.id, owner)
    assert stored is not None
    assert stored.sample_indices == [5, 80, 210, 350]
    assert await repository.beats(upload.id, await new_owner(database)) is None
    assert await repository.beats(uuid4(), owner) is None


async def test_another_owner_sees_nothing(
    repository: EcgRepository, database: Database, owner: UUID
) -> None:
    upload = make_upload()
    await repository.add(upload, owner)
    assert await repository.get(upload.id, await new_owner(database)) is None
    assert await repository.get(upload.id, owner) is not None


async def test_an_ecg_from_before_accounts_is_nobodys(
    repository: EcgRepository, connection: asyncpg.Connection, owner: UUID
) -> None:
    ecg_id = uuid4()
    await connection.execute(
        "INSERT INTO ecgs (id, date) VALUES ($1, now())", ecg_id
    )  # owner_id NULL, as rows written before migration 0003
    assert await repository.get(ecg_id, owner) is None


async def test_unreachable_database_is_unavailable(closed_port: int) -> None:
    database = Database(f"postgresql://postgres@127.0.0.1:{closed_port}/ecg")
    await database.open()  # connects lazily: opening does not need the server
    repository = EcgRepository(database)
    try:
        with pytest.raises(DatabaseUnavailableError):
            await database.ping()
        with pytest.raises(DatabaseUnavailableError):
            await repository.add(make_upload(), uuid4())
        with pytest.raises(DatabaseUnavailableError):
            await repository.get(uuid4(), uuid4())
    finally:
        await database.close()


async def test_unopened_database_is_unavailable(database_url: str) -> None:
    with pytest.raises(DatabaseUnavailableError):
        await Database(database_url).ping()
