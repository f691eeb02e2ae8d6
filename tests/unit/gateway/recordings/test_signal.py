from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.requests import Request

from gateway.errors import InvalidInputError, NotAcceptableError
from gateway.leads import LEAD_NAMES
from gateway.problems import PROBLEM_JSON
from gateway.recordings.repository import ArchivedLead
from gateway.recordings.signal import (
    BINARY,
    BLOCK,
    JSON,
    MAX_SAMPLE_INDEX,
    SignalQuery,
    binary_answer,
    negotiate,
    parse_signal_query,
    signal_json,
)
from schemas.binary_chunks import decode_binary_chunk


def request(query: str) -> Request[Any]:
    return Request({"type": "http", "method": "GET", "query_string": query.encode(), "headers": []})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", SignalQuery(None, 0, None)),
        ("start=5", SignalQuery(None, 5, None)),
        ("start=5&end=6", SignalQuery(None, 5, 6)),
        (f"end={MAX_SAMPLE_INDEX}", SignalQuery(None, 0, MAX_SAMPLE_INDEX)),
        ("leads=ii", SignalQuery(("II",), 0, None)),
        ("leads=v5,MLII,avr", SignalQuery(("V5", "MLII", "aVR"), 0, None)),
        ("leads=Q", SignalQuery(("Q",), 0, None)),  # the ECG's leads decide, and name them
        (f"leads={','.join(LEAD_NAMES)}", SignalQuery(LEAD_NAMES, 0, None)),
    ],
)
def test_signal_query(query: str, expected: SignalQuery) -> None:
    assert parse_signal_query(request(query)) == expected


@pytest.mark.parametrize(
    ("query", "problems"),
    [
        ("start=5&end=5", ["end: must be greater than start (5), got 5"]),
        ("start=5&end=2", ["end: must be greater than start (5), got 2"]),
        ("end=0", [f"end: must be within [1, {MAX_SAMPLE_INDEX}], got 0"]),
        ("start=-1", [f"start: must be within [0, {MAX_SAMPLE_INDEX}], got -1"]),
        (
            "start=1.5&end=ten",
            ['start: expected an integer, got "1.5"', 'end: expected an integer, got "ten"'],
        ),
        ("start=", ['start: expected an integer, got ""']),
        ("leads=", ['leads: expected lead names separated by commas, got ""']),
        ("leads=I,,II", ['leads: expected lead names separated by commas, got "I,,II"']),
        ("leads=I,i", ['leads: names lead "I" more than once']),
        ("leads=" + ",".join(["I"] * 26), ["leads: names 26 leads; at most 25 are accepted"]),
        ("leads=I&leads=II", ["leads: given more than once"]),
        ("lead=I", ["lead: unknown query parameter; accepted: leads, start, end"]),
    ],
)
def test_bad_signal_queries_are_reported_together(query: str, problems: list[str]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_signal_query(request(query))
    assert [str(error) for error in refused.value.errors] == problems


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        ("Application/JSON; charset=utf-8", JSON),
        ("application/octet-stream", BINARY),
        ("application/json;q=0.5, application/octet-stream", BINARY),
        ("*/*;q=0.1, application/octet-stream", BINARY),
        ("application/octet-stream, application/json", JSON),  # a tie: JSON
        ("application/json;q=0, */*", BINARY),
        ("text/html, */*;q=0.8", JSON),
        ("application/octet-stream;q=x, application/json;q=0.2", JSON),  # malformed: ignored
        ("nonsense", JSON),  # no well-formed range: as if absent
    ],
)
def test_negotiation(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/problem+json", "*/*;q=0", "application/*;q=0, text/*"],
)
def test_an_accept_that_allows_neither_is_refused(accept: str) -> None:
    with pytest.raises(NotAcceptableError) as refused:
        negotiate(accept)
    assert "application/json or application/octet-stream" in str(refused.value)


LEADS = (ArchivedLead("I", 200.0, 1024, 5), ArchivedLead("aVR", None, None, 2))


def test_the_json_answer() -> None:
    signals = [np.array([1, -2, 3, 2**31 - 1, -(2**31)], np.int32), np.array([7, 8], np.int32)]
    body = json.loads(signal_json(500.0, LEADS, 10, signals))
    assert body == {
        "start": 10,
        "end": 15,
        "sampling_rate": 500.0,
        "leads": [
            {
                "name": "I",
                "gain": 200.0,
                "baseline": 1024,
                "signal": [1, -2, 3, 2**31 - 1, -(2**31)],
            },
            {"name": "aVR", "gain": None, "baseline": None, "signal": [7, 8]},
        ],
    }


def test_the_json_answer_of_long_and_empty_signals() -> None:
    long = np.arange(-BLOCK, 2 * BLOCK + 3, dtype=np.int32)
    body = json.loads(signal_json(None, LEADS, 0, [long, np.empty(0, np.int32)]))
    assert body["end"] == long.size
    assert body["sampling_rate"] is None
    assert body["leads"][0]["signal"] == long.tolist()
    assert body["leads"][1]["signal"] == []


def test_the_binary_answer_interleaves_the_leads_of_a_chunk_whose_seq_is_start() -> None:
    signals = [np.array([1, 2, 3], np.int32), np.array([-(2**20), 5, 6], np.int32)]
    response = binary_answer(360.0, LEADS, 42, signals, {})
    assert response.media_type == BINARY
    assert response.headers["X-ECG-Leads"] == "I,aVR"
    assert response.headers["X-ECG-Start"] == "42"
    assert response.headers["X-ECG-End"] == "45"
    assert response.headers["X-ECG-Sampling-Rate"] == "360"
    seq, decoded = decode_binary_chunk(bytes(response.body), 2, 3)
    assert seq == 42
    np.testing.assert_array_equal(decoded, np.stack(signals))


def test_the_binary_answer_without_a_sampling_rate_or_leads_of_one_length() -> None:
    same = [np.array([1, 2], np.int32), np.array([3, 4], np.int32)]
    response = binary_answer(None, LEADS, 0, same, {})
    assert "X-ECG-Sampling-Rate" not in response.headers
    assert binary_answer(0.5, LEADS, 0, same, {}).headers["X-ECG-Sampling-Rate"] == "0.5"
    with pytest.raises(InvalidInputError, match="ask for JSON"):
        binary_answer(None, LEADS, 0, [same[0], same[1][:1]], {})


async def test_the_signal_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/signal")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
