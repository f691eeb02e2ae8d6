"""``GET /api/v1/ecg/{id}/signal`` over real HTTP against the real PostgreSQL: ECGs and
their stored chunks inserted here as the stream worker's archive stores them
(``schemas.sample_archive.pack`` of the chunks that the gateway cuts), then read back
sample for sample, as JSON and as a binary chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import numpy as np
import pytest
from numpy.typing import NDArray

from gateway.app import create_app
from gateway.chunks import split_into_chunks
from gateway.database import Database
from gateway.recordings.ranges import MAX_SIGNAL_VALUES
from gateway.recordings.repository import EcgRepository
from gateway.settings import Settings
from gateway.uploads import Lead, Upload
from schemas.binary_chunks import decode_binary_chunk
from schemas.codec import encode_samples
from schemas.sample_archive import pack
from tests.integration.gateway.helpers import Account, open_account, serving

PROBLEM_JSON = "application/problem+json"
BINARY = {"Accept": "application/octet-stream"}
CHUNK = 128


@dataclass(frozen=True)
class Gateway:
    url: str
    owner: Account
    other: Account
    admin: Account
    database_url: str

    def client(self, account: Account) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=account.headers, timeout=60)


@pytest.fixture(scope="module")
async def gateway(
    kafka_bootstrap: str, database_url: str, jwt_secret: str
) -> AsyncIterator[Gateway]:
    settings = Settings(
        env="test",
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        jwt_secret=jwt_secret,
    )
    owner, other = await open_account(settings), await open_account(settings)
    admin = await open_account(settings, "admin")
    async with serving(create_app(settings)) as url:
        yield Gateway(url, owner, other, admin, database_url)


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway.client(gateway.owner) as client:
        yield client


def signals_of(lengths: Sequence[int], seed: int) -> list[NDArray[np.int32]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-(2**20), 2**20, n).astype(np.int32) for n in lengths]


async def store_ecg(
    database: Database,
    connection: asyncpg.Connection,
    owner: UUID,
    names: Sequence[str],
    signals: Sequence[NDArray[np.int32]],
    *,
    sampling_rate: float | None = 500.0,
    chunk_length: int = CHUNK,
    missing: Sequence[int] = (),
) -> UUID:
    """An ECG of ``owner`` with its leads, and its chunks (but those of the seqs
    ``missing``) stored as the archive stores them."""
    upload = Upload(
        id=uuid4(),
        date=datetime(2024, 5, 1, 10, tzinfo=UTC),
        sampling_rate=sampling_rate,
        leads=tuple(
            Lead(name, signal, gain=200.0 + i, baseline=i or None)
            for i, (name, signal) in enumerate(zip(names, signals, strict=True))
        ),
    )
    await EcgRepository(database).add(upload, owner)
    rows = []
    for chunk in split_into_chunks(signals, chunk_length):
        if chunk.seq in missing:
            continue
        width, samples = encode_samples(chunk.samples)
        lead_samples, frame = pack(width, samples)
        rows.append((upload.id, chunk.seq, chunk.start_sample, width, lead_samples, frame))
    await connection.executemany(
        """
        INSERT INTO ecg_samples (ecg_id, seq, start_sample, sample_width, lead_samples, samples)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        rows,
    )
    return upload.id


@pytest.fixture
async def twelve_lead(
    database: Database, connection: asyncpg.Connection, gateway: Gateway
) -> tuple[UUID, list[NDArray[np.int32]]]:
    """Three leads of 1,000 samples in chunks of 128."""
    signals = signals_of([1000, 1000, 1000], seed=1)
    ecg_id = await store_ecg(database, connection, gateway.owner.id, ["I", "II", "V5"], signals)
    return ecg_id, signals


@pytest.fixture
async def ragged(
    database: Database, connection: asyncpg.Connection, gateway: Gateway
) -> tuple[UUID, list[NDArray[np.int32]]]:
    """An upload whose leads differ in length: 700, 1000 and 300 samples."""
    signals = signals_of([700, 1000, 300], seed=2)
    ecg_id = await store_ecg(database, connection, gateway.owner.id, ["MLII", "V1", "aVR"], signals)
    return ecg_id, signals


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


async def test_the_whole_signal_by_default(
    client: httpx.AsyncClient, twelve_lead: tuple[UUID, list[NDArray[np.int32]]]
) -> None:
    ecg_id, signals = twelve_lead
    response = await client.get(f"/api/v1/ecg/{ecg_id}/signal")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["start"], body["end"], body["sampling_rate"]) == (0, 1000, 500.0)
    assert [(lead["name"], lead["gain"], lead["baseline"]) for lead in body["leads"]] == [
        ("I", 200.0, None),
        ("II", 201.0, 1),
        ("V5", 202.0, 2),
    ]
    for lead, sent in zip(body["leads"], signals, strict=True):
        assert lead["signal"] == sent.tolist()


RANGES = [(0, 1), (127, 129), (100, 400), (128, 256), (250, 1000), (999, 1000), (900, 5000)]


@pytest.mark.parametrize(("start", "end"), RANGES)
async def test_a_range_across_chunks_as_json_and_binary(
    client: httpx.AsyncClient,
    twelve_lead: tuple[UUID, list[NDArray[np.int32]]],
    start: int,
    end: int,
) -> None:
    ecg_id, signals = twelve_lead
    url = f"/api/v1/ecg/{ecg_id}/signal?leads=v5,i&start={start}&end={end}"
    served = min(end, 1000)
    body = (await client.get(url)).json()
    assert (body["start"], body["end"]) == (start, served)
    assert [lead["name"] for lead in body["leads"]] == ["V5", "I"]
    assert body["leads"][0]["signal"] == signals[2][start:end].tolist()
    assert body["leads"][1]["signal"] == signals[0][start:end].tolist()

    response = await client.get(url, headers=BINARY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-ecg-leads"] == "V5,I"
    assert response.headers["x-ecg-start"] == str(start)
    assert response.headers["x-ecg-end"] == str(served)
    assert response.headers["x-ecg-sampling-rate"] == "500"
    seq, decoded = decode_binary_chunk(response.content, 2, served - start)
    assert seq == start
    np.testing.assert_array_equal(decoded, np.stack([signals[2], signals[0]])[:, start:end])


async def test_leads_of_different_lengths_each_to_their_own_end(
    client: httpx.AsyncClient, ragged: tuple[UUID, list[NDArray[np.int32]]]
) -> None:
    ecg_id, signals = ragged
    body = (await client.get(f"/api/v1/ecg/{ecg_id}/signal?start=250&end=800")).json()
    assert body["end"] == 800
    assert [lead["signal"] for lead in body["leads"]] == [s[250:800].tolist() for s in signals]

    body = (await client.get(f"/api/v1/ecg/{ecg_id}/signal?leads=aVR,MLII&start=200")).json()
    assert body["end"] == 700  # the longest lead asked for
    assert [len(lead["signal"]) for lead in body["leads"]] == [100, 500]

    body = (await client.get(f"/api/v1/ecg/{ecg_id}/signal?leads=aVR&start=400")).json()
    assert (body["start"], body["end"], body["leads"][0]["signal"]) == (400, 400, [])


async def test_the_binary_answer_needs_leads_that_cover_the_range(
    client: httpx.AsyncClient, ragged: tuple[UUID, list[NDArray[np.int32]]]
) -> None:
    ecg_id, signals = ragged
    url = f"/api/v1/ecg/{ecg_id}/signal"
    problem = assert_problem(await client.get(f"{url}?start=200&end=800", headers=BINARY), 422)
    assert "MLII 500, V1 600, aVR 100" in problem["detail"]
    assert "ask for JSON" in problem["detail"]

    response = await client.get(f"{url}?start=200&end=300", headers=BINARY)
    assert response.status_code == 200, response.text
    _, decoded = decode_binary_chunk(response.content, 3, 100)
    np.testing.assert_array_equal(decoded, np.stack([s[200:300] for s in signals]))

    response = await client.get(f"{url}?leads=v1&start=900", headers=BINARY)
    assert response.headers["x-ecg-end"] == "1000"
    _, decoded = decode_binary_chunk(response.content, 1, 100)
    np.testing.assert_array_equal(decoded[0], signals[1][900:])


async def test_samples_not_stored_yet_are_not_served(
    client: httpx.AsyncClient, database: Database, connection: asyncpg.Connection, gateway: Gateway
) -> None:
    signals = signals_of([1000], seed=3)
    ecg_id = await store_ecg(
        database, connection, gateway.owner.id, ["II"], signals, missing=(3, 5)
    )
    url = f"/api/v1/ecg/{ecg_id}/signal"
    body = (await client.get(f"{url}?start=100")).json()
    assert body["end"] == 3 * CHUNK
    assert body["leads"][0]["signal"] == signals[0][100 : 3 * CHUNK].tolist()
    body = (await client.get(f"{url}?start={4 * CHUNK + 1}")).json()
    assert body["end"] == 5 * CHUNK
    assert body["leads"][0]["signal"] == signals[0][4 * CHUNK + 1 : 5 * CHUNK].tolist()
    body = (await client.get(f"{url}?start={6 * CHUNK}")).json()
    assert body["end"] == 1000
    assert body["leads"][0]["signal"] == signals[0][6 * CHUNK :].tolist()

    nothing = await store_ecg(
        database,
        connection,
        gateway.owner.id,
        ["II"],
        signals,
        sampling_rate=None,
        missing=range(8),
    )
    body = (await client.get(f"/api/v1/ecg/{nothing}/signal")).json()
    assert body == {
        "start": 0,
        "end": 0,
        "sampling_rate": None,
        "leads": [{"name": "II", "gain": 200.0, "baseline": None, "signal": []}],
    }
    response = await client.get(f"/api/v1/ecg/{nothing}/signal", headers=BINARY)
    assert response.status_code == 200
    assert "x-ecg-sampling-rate" not in response.headers
    assert response.content[:2] == b"EC"


async def test_an_answer_is_bounded_and_says_how_many_samples_fit(
    client: httpx.AsyncClient, database: Database, connection: asyncpg.Connection, gateway: Gateway
) -> None:
    length = MAX_SIGNAL_VALUES // 2 + 1
    signals = [np.arange(length, dtype=np.int32) % 1000, np.arange(length, dtype=np.int32) % 7]
    ecg_id = await store_ecg(
        database, connection, gateway.owner.id, ["I", "II"], signals, chunk_length=100_000
    )
    url = f"/api/v1/ecg/{ecg_id}/signal"
    problem = assert_problem(await client.get(url), 422)
    fit = MAX_SIGNAL_VALUES // 2
    assert f"at most {fit:,} samples per lead (end={fit})" in problem["detail"]
    assert problem["errors"][0]["field"] == "end"

    assert (await client.get(f"{url}?leads=II")).status_code == 200
    response = await client.get(f"{url}?start=1&end={fit + 1}", headers=BINARY)
    assert response.status_code == 200, response.text
    _, decoded = decode_binary_chunk(response.content, 2, fit)
    np.testing.assert_array_equal(decoded, np.stack(signals)[:, 1:])


async def test_only_the_owner_reads_it_and_every_read_is_on_record(
    gateway: Gateway,
    connection: asyncpg.Connection,
    twelve_lead: tuple[UUID, list[NDArray[np.int32]]],
) -> None:
    ecg_id, _ = twelve_lead
    url = f"/api/v1/ecg/{ecg_id}/signal"
    async with gateway.client(gateway.other) as other, gateway.client(gateway.admin) as admin:
        theirs = assert_problem(await other.get(url), 404)
        unknown_id = uuid4()
        unknown = assert_problem(await other.get(f"/api/v1/ecg/{unknown_id}/signal"), 404)
        assert theirs["type"] == unknown["type"] == "/problems/ecg-not-found"
        assert theirs["detail"] == unknown["detail"].replace(str(unknown_id), str(ecg_id))
        assert_problem(await other.get(f"{url}?leads=I", headers=BINARY), 404)
        assert_problem(await admin.get(url), 403)
    async with gateway.client(gateway.owner) as owner:
        assert (await owner.get(url)).status_code == 200
    rows = await connection.fetch(
        "SELECT actor_id, outcome FROM audit_log WHERE action = 'ecg.signal' AND object_id = $1"
        " ORDER BY id",
        str(ecg_id),
    )
    assert [(row["actor_id"], row["outcome"]) for row in rows] == [
        (gateway.other.id, "not_found"),
        (gateway.other.id, "not_found"),
        (gateway.admin.id, "forbidden"),
        (gateway.owner.id, "success"),
    ]


async def test_an_accept_that_allows_neither_answer_is_406(
    client: httpx.AsyncClient,
    connection: asyncpg.Connection,
    twelve_lead: tuple[UUID, list[NDArray[np.int32]]],
) -> None:
    ecg_id, _ = twelve_lead
    response = await client.get(f"/api/v1/ecg/{ecg_id}/signal", headers={"Accept": "text/csv"})
    problem = assert_problem(response, 406)
    assert problem["type"] == "/problems/not-acceptable"
    assert "application/json or application/octet-stream" in problem["detail"]
    outcome = await connection.fetchval(
        "SELECT outcome FROM audit_log WHERE action = 'ecg.signal' AND object_id = $1",
        str(ecg_id),
    )
    assert outcome == "invalid"


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("leads=V6", "leads", 'this ECG has no lead "V6"; its leads: I, II, V5'),
        ("leads=I,bogus", "leads", 'this ECG has no lead "bogus"; its leads: I, II, V5'),
        ("start=10&end=10", "end", "must be greater than start (10), got 10"),
        ("start=-1", "start", "must be within"),
        ("end=2.5", "end", "expected an integer"),
        ("leads=I,,II", "leads", "expected lead names separated by commas"),
        ("from=1", "from", "unknown query parameter"),
    ],
)
async def test_a_bad_query_is_422_naming_what_to_fix(
    client: httpx.AsyncClient,
    twelve_lead: tuple[UUID, list[NDArray[np.int32]]],
    query: str,
    field: str,
    says: str,
) -> None:
    ecg_id, _ = twelve_lead
    problem = assert_problem(await client.get(f"/api/v1/ecg/{ecg_id}/signal?{query}"), 422)
    assert problem["errors"][0]["field"] == field
    assert says in problem["detail"]


async def test_a_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/api/v1/ecg/not-an-id/signal"), 422)
    assert problem["errors"] == [
        {"field": "ecg_id", "message": 'expected a UUID in the path, got "not-an-id"'}
    ]
