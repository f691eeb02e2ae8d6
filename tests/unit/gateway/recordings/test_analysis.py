from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from gateway.errors import InvalidInputError
from gateway.recordings.analysis import DEFAULT_LIMIT, MAX_LIMIT, parse_window_query


def request(query: str) -> Request[Any]:
    return Request({"type": "http", "method": "GET", "query_string": query.encode(), "headers": []})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", (-1, DEFAULT_LIMIT)),
        ("limit=1", (-1, 1)),
        (f"limit={MAX_LIMIT}&after=0", (0, MAX_LIMIT)),
        ("after=180", (180, DEFAULT_LIMIT)),
    ],
)
def test_window_query(query: str, expected: tuple[int, int]) -> None:
    assert parse_window_query(request(query)) == expected


@pytest.mark.parametrize(
    ("query", "problems"),
    [
        ("limit=0", ["limit: must be within [1, 200], got 0"]),
        (f"limit={MAX_LIMIT + 1}", ["limit: must be within [1, 200], got 201"]),
        ("limit=ten", ['limit: expected an integer, got "ten"']),
        (
            "after=--5&limit=--1",
            ['after: expected an integer, got "--5"', 'limit: expected an integer, got "--1"'],
        ),
        ("after=-1", ["after: must be within [0, 2147483647], got -1"]),
        (
            "after=1.5&limit=",
            ['after: expected an integer, got "1.5"', 'limit: expected an integer, got ""'],
        ),
        ("after=1&after=2", ["after: given more than once"]),
        ("offset=3", ["offset: unknown query parameter; accepted: after, limit"]),
        ("limit=99999999999999999999", ['limit: expected an integer, got "99999999999999999999"']),
    ],
)
def test_bad_window_queries_are_reported_together(query: str, problems: list[str]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_window_query(request(query))
    assert [str(error) for error in refused.value.errors] == problems
