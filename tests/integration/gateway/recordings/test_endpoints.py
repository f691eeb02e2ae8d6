"""Every bad upload of an authenticated user gets a problem+json answer that names
what to fix, before the gateway touches Kafka or stores anything; a malformed ECG id
too. (Authentication reads PostgreSQL: these tests are integration tests.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.leads import LEAD_NAMES

URL = "/api/v1/ecg/"
Body = Callable[..., dict[str, Any]]
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def client(user_gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    return user_gateway


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"]
    assert problem["title"]
    assert problem["detail"]
    if field is not None:
        assert f"{field}:" in problem["detail"]
        assert field in [error["field"] for error in problem["errors"]]
    return problem


def drop(key: str) -> Edit:
    return lambda document: document.pop(key)


def set_top(key: str, value: Any) -> Edit:
    return lambda document: document.__setitem__(key, value)


def set_lead(index: int, key: str, value: Any) -> Edit:
    return lambda document: document["leads"][index].__setitem__(key, value)


def drop_from_lead(index: int, key: str) -> Edit:
    return lambda document: document["leads"][index].pop(key)


CASES: list[tuple[str, Edit, str]] = [
    ("missing date", drop("date"), "date"),
    ("null date", set_top("date", None), "date"),
    ("malformed date", set_top("date", "01/05/2024 10:00"), "date"),
    ("impossible date", set_top("date", "2024-02-30T10:00:00Z"), "date"),
    ("numeric date", set_top("date", 1714557600), "date"),
    ("malformed id", set_top("id", "not-a-uuid"), "id"),
    ("numeric id", set_top("id", 42), "id"),
    ("uuid without hyphens", set_top("id", "123e4567e89b12d3a456426614174000"), "id"),
    ("missing leads", drop("leads"), "leads"),
    ("no leads", set_top("leads", []), "leads"),
    ("leads not an array", set_top("leads", {"name": "I"}), "leads"),
    ("lead not an object", set_top("leads", [[1, 2, 3]]), "leads[0]"),
    ("lead without signal", drop_from_lead(1, "signal"), "leads[1].signal"),
    ("null signal", set_lead(1, "signal", None), "leads[1].signal"),
    ("empty signal", set_lead(0, "signal", []), "leads[0].signal"),
    ("signal not an array", set_lead(0, "signal", "12,-3"), "leads[0].signal"),
    ("lead without name", drop_from_lead(0, "name"), "leads[0].name"),
    ("lead name outside vocabulary", set_lead(0, "name", "V"), "leads[0].name"),
    ("lead name not a string", set_lead(0, "name", 1), "leads[0].name"),
    ("float sample", set_lead(1, "signal", [1, 2, 3, 1.5]), "leads[1].signal[3]"),
    ("integral float sample", set_lead(1, "signal", [1.0, 2, 3]), "leads[1].signal[0]"),
    ("boolean sample", set_lead(1, "signal", [1, True, 3]), "leads[1].signal[1]"),
    ("string sample", set_lead(1, "signal", [1, 2, "3"]), "leads[1].signal[2]"),
    ("null sample", set_lead(1, "signal", [None, 2, 3]), "leads[1].signal[0]"),
    ("nested sample", set_lead(1, "signal", [1, [2], 3]), "leads[1].signal[1]"),
    ("sample above int32", set_lead(0, "signal", [0, 2**31]), "leads[0].signal[1]"),
    ("sample below int32", set_lead(0, "signal", [-(2**31) - 1, 0]), "leads[0].signal[0]"),
    ("sample beyond int64", set_lead(0, "signal", [0, 1, 10**30]), "leads[0].signal[2]"),
    (
        "number_of_samples too big",
        set_lead(0, "number_of_samples", 5000),
        "leads[0].number_of_samples",
    ),
    (
        "number_of_samples too small",
        set_lead(0, "number_of_samples", 3),
        "leads[0].number_of_samples",
    ),
    (
        "number_of_samples float",
        set_lead(0, "number_of_samples", 4.0),
        "leads[0].number_of_samples",
    ),
    (
        "negative number_of_samples",
        set_lead(0, "number_of_samples", -4),
        "leads[0].number_of_samples",
    ),
    ("duplicate lead names", set_lead(1, "name", "I"), "leads[1].name"),
    ("duplicate after canonical case", set_lead(1, "name", "i"), "leads[1].name"),
    ("zero gain", set_lead(0, "gain", 0), "leads[0].gain"),
    ("negative gain", set_lead(0, "gain", -200), "leads[0].gain"),
    ("string gain", set_lead(0, "gain", "200"), "leads[0].gain"),
    ("float baseline", set_lead(1, "baseline", 1024.5), "leads[1].baseline"),
    ("boolean baseline", set_lead(1, "baseline", False), "leads[1].baseline"),
    ("baseline above int32", set_lead(1, "baseline", 2**31), "leads[1].baseline"),
    ("zero sampling rate", set_top("sampling_rate", 0), "sampling_rate"),
    ("negative sampling rate", set_top("sampling_rate", -500), "sampling_rate"),
    ("sampling rate too high", set_top("sampling_rate", 100_001), "sampling_rate"),
    ("string sampling rate", set_top("sampling_rate", "500"), "sampling_rate"),
    ("boolean sampling rate", set_top("sampling_rate", True), "sampling_rate"),
    ("unknown top-level field", set_top("patient", "x"), "patient"),
    ("camelCase lead field", set_lead(0, "numberOfSamples", 4), "leads[0].numberOfSamples"),
]


@pytest.mark.parametrize(("edit", "field"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
async def test_invalid_upload_is_422_naming_the_field(
    client: httpx.AsyncClient, body: Body, edit: Edit, field: str
) -> None:
    document = body()
    edit(document)
    assert_problem(await client.post(URL, json=document), 422, field)


async def test_sample_detail_quotes_path_and_value(client: httpx.AsyncClient, body: Body) -> None:
    document = body()
    document["leads"][1]["signal"] = [1, 2, 3, 1.5]
    problem = assert_problem(await client.post(URL, json=document), 422)
    assert problem["detail"] == "leads[1].signal[3]: expected an integer, got 1.5"
    assert problem["errors"] == [
        {"field": "leads[1].signal[3]", "message": "expected an integer, got 1.5"}
    ]


async def test_integral_float_is_not_an_integer(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL,
        content=b'{"date": "2024-05-01T10:00:00Z", "leads": [{"name": "I", "signal": [1, 1.0]}]}',
    )
    problem = assert_problem(response, 422, "leads[0].signal[1]")
    assert "got 1.0" in problem["detail"]


async def test_overflowing_number_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL,
        content=b'{"date": "2024-05-01T10:00:00Z", "sampling_rate": 1e999,'
        b' "leads": [{"name": "I", "signal": [1], "gain": 1e999}]}',
    )
    problem = assert_problem(response, 422, "sampling_rate")
    assert "leads[0].gain" in [error["field"] for error in problem["errors"]]


async def test_unknown_lead_name_lists_the_vocabulary(
    client: httpx.AsyncClient, body: Body
) -> None:
    document = body()
    document["leads"][0]["name"] = "V"
    problem = assert_problem(await client.post(URL, json=document), 422, "leads[0].name")
    assert all(name in problem["detail"] for name in LEAD_NAMES)


async def test_unknown_field_suggests_the_right_name(client: httpx.AsyncClient, body: Body) -> None:
    document = body()
    document["leads"][0]["numberOfSamples"] = 4
    problem = assert_problem(await client.post(URL, json=document), 422)
    assert "number_of_samples" in problem["errors"][0]["message"]


async def test_every_problem_is_listed(client: httpx.AsyncClient) -> None:
    document = {
        "id": "x",
        "leads": [
            {"name": "V", "signal": [1, 2.5, 3, 4.5]},
            {"name": "II"},
            {"name": "ii", "signal": [2**40], "number_of_samples": 2},
        ],
    }
    problem = assert_problem(await client.post(URL, json=document), 422)
    fields = [error["field"] for error in problem["errors"]]
    assert fields == [
        "id",
        "date",
        "leads[0].name",
        "leads[0].signal[1]",
        "leads[1].signal",
        "leads[2].signal[0]",
        "leads[2].name",
    ]
    assert problem["detail"].startswith("7 problems: id: ")
    assert "1 more non-integer sample in this lead" in problem["errors"][3]["message"]


async def test_error_list_is_bounded(client: httpx.AsyncClient) -> None:
    lead = {"name": "I", "gain": -1, "baseline": 0.5, "signal": [0.5], "extra": 1, "more": 2}
    document = {"date": "2024-05-01T10:00:00Z", "leads": [lead] * 25}
    problem = assert_problem(await client.post(URL, json=document), 422, "leads[0].extra")
    assert len(problem["errors"]) == 50
    assert problem["detail"].startswith(f"{25 * 5 + 24} problems:")  # 24 duplicate names
    assert problem["detail"].endswith(f"and {25 * 5 + 24 - 5} more")


async def test_more_leads_than_lead_names_are_refused_unread(client: httpx.AsyncClient) -> None:
    document = {"date": "2024-05-01T10:00:00Z", "leads": [1] * 500}
    problem = assert_problem(await client.post(URL, json=document), 422, "leads")
    assert problem["errors"] == [
        {"field": "leads", "message": "has 500 leads; at most 25 are accepted, one per lead name"}
    ]


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b'{"date": }', b"[]", b'"text"', b"42", b"null", b'{"a": NaN}', b"\xff\xfe{"],
    ids=["empty", "cut", "bad value", "array", "string", "number", "null", "NaN", "bad utf-8"],
)
async def test_malformed_or_non_object_body_is_400(
    client: httpx.AsyncClient, content: bytes
) -> None:
    assert_problem(await client.post(URL, content=content), 400)


async def test_deeply_nested_json_is_400(client: httpx.AsyncClient) -> None:
    nested = b'{"leads": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    assert_problem(await client.post(URL, content=nested), 400)


async def test_declared_length_over_limit_is_413(client: httpx.AsyncClient) -> None:
    # Over real HTTP the declared length must be true; the refusal still comes from it.
    response = await client.post(URL, content=b" " * (64 * 1024 + 1))
    problem = assert_problem(response, 413)
    assert str(64 * 1024) in problem["detail"]


async def test_streamed_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b'{"leads": [{"name": "I", "signal": ['
        for _ in range(100):
            yield b"1000, " * 200
        yield b"1]}]}"

    response = await client.post(URL, content=pieces())
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


@pytest.mark.parametrize(
    "ecg_id",
    [
        "nope",
        "123e4567-e89b-12d3-a456-42661417400g",
        "123e4567e89b12d3a456426614174000",
        "%00",
        "%F0%9F%AB%80",
        "x" * 5000,
        "'; DROP TABLE ecgs; --",
    ],
)
async def test_malformed_id_is_422_before_any_lookup(
    client: httpx.AsyncClient, ecg_id: str
) -> None:
    response = await client.get(f"/api/v1/ecg/{ecg_id}")
    problem = assert_problem(response, 422, "ecg_id")
    assert problem["detail"].startswith("ecg_id: expected a UUID")
    assert len(problem["detail"]) < 200
