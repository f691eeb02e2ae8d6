"""``ecg import``'s requests against a gateway played by ``httpx.MockTransport``: the
upload body, the retries and the new login, a stream's chunks through a gap and an
expired ingest token, and the choice between an upload and a stream."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest

from client.importing.formats import open_recording
from client.importing.importer import ImportOptions, plan, upload_body
from client.importing.recording import Recording
from client.importing.session import Answer, GatewayError, Session
from client.importing.state import STREAM, UPLOAD
from client.importing.streaming import iso_date, send_chunks
from schemas.binary_chunks import decode_binary_chunk
from tests.conftest import DATA

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="module")
def record_100() -> Recording:
    return open_recording(DATA / "mitdb" / "100").named(None)


def session(handler: Handler, sleeps: list[float] | None = None, retry: float = 60) -> Session:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    http = httpx.AsyncClient(base_url="http://gateway", transport=httpx.MockTransport(handler))
    return Session(http, "u@example.org", "pw", retry_seconds=retry, sleep=sleep)


def login(request: httpx.Request, tokens: list[str]) -> httpx.Response | None:
    if request.url.path != "/api/v1/auth/login":
        return None
    tokens.append(f"access-{len(tokens)}")
    return httpx.Response(200, json={"access_token": tokens[-1]})


def test_the_upload_body_holds_every_lead_with_its_scale(record_100: Recording) -> None:
    advanced: list[int] = []
    date = datetime(2024, 5, 1, 10, tzinfo=UTC)
    body = json.loads(upload_body(record_100, "the-id", date, advanced.append))
    assert (body["id"], body["date"], body["sampling_rate"]) == (
        "the-id",
        "2024-05-01T10:00:00Z",
        360.0,
    )
    signals = record_100.read(0, record_100.samples)
    for lead, described in enumerate(body["leads"]):
        assert described["name"] == ("MLII", "V5")[lead]
        assert (described["gain"], described["baseline"]) == (200.0, 1024)
        assert described["number_of_samples"] == 650_000
        assert np.array_equal(described["signal"], signals[lead])
    assert sum(advanced) == 2 * 650_000


def test_dates_go_in_utc() -> None:
    assert iso_date(datetime(2024, 5, 1, 10)) == "2024-05-01T10:00:00Z"
    local = datetime.fromisoformat("2024-05-01T12:00:00+02:00")
    assert iso_date(local) == "2024-05-01T10:00:00Z"


async def test_unavailable_answers_are_retried_after_retry_after() -> None:
    first: list[httpx.Response | Exception] = [
        httpx.Response(503, headers={"Retry-After": "2"}),
        httpx.ConnectError("no answer"),
    ]
    answers = iter(first)
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers, None)
        if isinstance(answer, Exception):
            raise answer
        return answer or httpx.Response(202, json={"id": "x"})

    answer = await session(handler, sleeps).request("POST", "/api/v1/ecg/", content=b"{}")
    assert answer == Answer(202, {"id": "x"})
    assert sleeps == [2.0, 0.5]  # Retry-After, then the backoff of a second attempt


async def test_retries_end_with_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "Kafka is unavailable"})

    with pytest.raises(GatewayError, match="gave up after 1 attempts: 503 Kafka is unavailable"):
        await session(handler, retry=-1).request("GET", "/api/v1/ecg/x")


async def test_an_expired_access_token_logs_in_again() -> None:
    tokens: list[str] = []
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if (answer := login(request, tokens)) is not None:
            return answer
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200, json={"status": "done"})

    user = session(handler)
    await user.log_in()
    assert (await user.request("GET", "/api/v1/ecg/x")).status == 200
    assert seen == ["Bearer access-0", "Bearer access-1"]


async def test_a_wrong_password_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "wrong email or password"})

    with pytest.raises(GatewayError, match=r"logging in as u@example\.org failed: 401 wrong"):
        await session(handler).log_in()


async def test_chunks_go_on_from_the_gap_the_gateway_names(record_100: Recording) -> None:
    """Chunk 3 is answered with a gap at 1 (as after a state that ran ahead): the
    chunks go again from 1. The ingest token expires at chunk 2: the access token
    takes over."""
    sent: list[tuple[int, str]] = []
    tokens: list[str] = []
    gapped = False

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal gapped
        if (answer := login(request, tokens)) is not None:
            return answer
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if request.url.path.endswith("/end"):
            sent.append((-1, token))
            return httpx.Response(202, json={"seq": 5})
        seq, samples = decode_binary_chunk(request.content, 2, 100)
        assert np.array_equal(samples, record_100.read(seq * 100, seq * 100 + 100))
        if token == "ingest" and seq == 2:
            return httpx.Response(401, json={"detail": "expired"})
        sent.append((seq, token))
        if seq == 3 and not gapped:
            gapped = True
            return httpx.Response(409, json={"type": "/problems/chunk-gap", "expected_seq": 1})
        return httpx.Response(202, json={"seq": seq})

    user = session(handler)
    await user.log_in()
    short = replace(record_100, lengths=(500, 500))
    positions: list[int] = []
    await send_chunks(user, short, "ecg", "ingest", 100, 0, positions.append)
    assert [seq for seq, _ in sent] == [0, 1, 2, 3, 1, 2, 3, 4, -1]
    assert {token for seq, token in sent if seq >= 2 or seq == -1} == {"access-0"}
    assert positions == [1, 2, 3, 1, 2, 3, 4, 5]


def test_a_file_goes_as_an_upload_when_its_body_fits(record_100: Recording) -> None:
    def plan_for(limit: int, chunk: int | None = None) -> tuple[str, int]:
        options = ImportOptions("http://gateway", "u", max_upload_bytes=limit, chunk_samples=chunk)
        return plan(record_100, options)

    bound = 650_000 * 2 * 6 + 600  # format 212: at most 6 characters a sample, with its comma
    assert plan_for(bound) == (UPLOAD, 32768)
    assert plan_for(bound - 1) == (STREAM, 32768)
    assert plan_for(0, 1000) == (STREAM, 1000)
