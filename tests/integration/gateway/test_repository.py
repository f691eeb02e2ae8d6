"""The repository against the real PostgreSQL, with the schema that migrations made."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import numpy as np
import pytest

from gateway.errors import DatabaseUnavailableError, EcgExistsError
from gateway.repository import EcgRepository, StoredLead
from gateway.settings import Settings
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
def settings(database_url: str) -> Settings:
    # Only PostgreSQL here: no topic, and the broker address is never used.
    return Settings(env="test", kafka_bootstrap="127.0.0.1:1", database_url=database_url)


@pytest.fixture
async def repository(settings: Settings) -> AsyncIterator[EcgRepository]:
    repository = EcgRepository(settings)
    await repository.open()
    yield repository
    await repository.close()


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def test_added_ecg_is_found_with_its_leads(repository: EcgRepository) -> None:
    upload = make_upload()
    await repository.add(upload)
    stored = await repository.get(upload.id)

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


async def test_sampling_rate_may_be_absent(repository: EcgRepository) -> None:
    upload = make_upload(sampling_rate=None)
    await repository.add(upload)
    stored = await repository.get(upload.id)
    assert stored is not None
    assert stored.sampling_rate is None


async def test_existing_id_is_refused_and_left_alone(
    repository: EcgRepository, connection: asyncpg.Connection
) -> None:
    first = make_upload()
    await repository.add(first)
    second = dataclasses.replace(make_upload(sampling_rate=500.0), id=first.id)
    with pytest.raises(EcgExistsError):
        await repository.add(second)

    stored = await repository.get(first.id)
    assert stored is not None
    assert stored.sampling_rate == 360.0
    assert (
        await connection.fetchval("SELECT count(*) FROM ecg_leads WHERE ecg_id = $1", first.id) == 3
    )


async def test_removed_ecg_is_gone_with_its_leads(
    repository: EcgRepository, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload)
    await repository.remove(upload.id)

    assert await repository.get(upload.id) is None
    assert (
        await connection.fetchval("SELECT count(*) FROM ecg_leads WHERE ecg_id = $1", upload.id)
        == 0
    )
    await repository.add(upload)  # the id can be used again
    assert await repository.get(upload.id) is not None


async def test_unknown_id_is_none(repository: EcgRepository) -> None:
    assert await repository.get(uuid4()) is None


async def test_results_written_by_the_sink_are_shown(
    repository: EcgRepository, connection: asyncpg.Connection
) -> None:
    upload = make_upload()
    await repository.add(upload)
    summary = {
        "n_windows": 2,
        "heart_rate": {"mean": 71.5},
        "leads": [
            {"name": lead.name, "zero_crossings": i * 10 + 1} for i, lead in enumerate(upload.leads)
        ],
    }
    before = await repository.get(upload.id)
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

    stored = await repository.get(upload.id)
    assert stored is not None
    assert stored.status == "done"
    assert [lead.zero_crossings for lead in stored.leads] == [1, 11, 21]
    assert stored.summary == summary
    assert stored.window_count == 2


async def test_unreachable_database_is_unavailable(settings: Settings, closed_port: int) -> None:
    repository = EcgRepository(
        dataclasses.replace(
            settings, database_url=f"postgresql://postgres@127.0.0.1:{closed_port}/ecg"
        )
    )
    await repository.open()  # connects lazily: opening does not need the server
    try:
        with pytest.raises(DatabaseUnavailableError):
            await repository.ping()
        with pytest.raises(DatabaseUnavailableError):
            await repository.add(make_upload())
        with pytest.raises(DatabaseUnavailableError):
            await repository.get(uuid4())
    finally:
        await repository.close()


async def test_unopened_repository_is_unavailable(settings: Settings) -> None:
    with pytest.raises(DatabaseUnavailableError):
        await EcgRepository(settings).ping()
