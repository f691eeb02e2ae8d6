"""``read_body`` on requests that no HTTP client would send (the ECG endpoints test it
over real HTTP, behind authentication, in tests/integration/gateway)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.requests import Request
from starlette.types import Message

from gateway.body import decode_json, read_body
from gateway.errors import BodyTooLargeError, MalformedBodyError


def request(pieces: list[bytes], headers: dict[str, str]) -> Request:
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
            for i, piece in enumerate(pieces)
        ]
    )

    async def receive() -> Message:
        return next(messages)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive)


async def test_reads_the_whole_body() -> None:
    assert await read_body(request([b"ab", b"cd"], {}), 4) == b"abcd"


async def test_malformed_content_length_is_malformed() -> None:
    with pytest.raises(MalformedBodyError, match="Content-Length"):
        await read_body(request([b"{}"], {"content-length": "lots"}), 100)


async def test_declared_length_over_the_limit_is_refused_unread() -> None:
    def unread() -> Message:
        raise AssertionError("the body was read")

    too_long = request([], {"content-length": "101"})
    too_long._receive = unread  # type: ignore[assignment]
    with pytest.raises(BodyTooLargeError):
        await read_body(too_long, 100)


async def test_under_declared_body_is_counted_while_it_streams() -> None:
    with pytest.raises(BodyTooLargeError):
        await read_body(request([b"x" * 60, b"x" * 60], {"content-length": "10"}), 100)


@pytest.mark.parametrize(
    "body",
    [
        rb'{"\ud800": 1}',
        rb'{"email": "a\udfffb@example.org", "password": "x"}',
        rb'{"leads": [{"name": "\uDBFF"}]}',
        rb'{"a": "\ude00\ud83d"}',  # the pair's halves in the wrong order
    ],
)
def test_a_lone_surrogate_escape_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBodyError, match="surrogate"):
        decode_json(body)


def test_a_surrogate_pair_and_an_escaped_backslash_are_text() -> None:
    assert decode_json(rb'{"a": "\ud83d\ude00"}') == {"a": "\N{GRINNING FACE}"}
    assert decode_json(rb'{"a": "\\ud800"}') == {"a": "\\ud800"}


@pytest.mark.parametrize(
    "body", [rb'{"email": "a\u0000@example.org"}', rb'{"\u0000": 1}', rb'{"a": [["\u0000"]]}']
)
def test_a_nul_character_is_malformed(body: bytes) -> None:
    """PostgreSQL's text holds no NUL: a login with one in its email was a 500."""
    with pytest.raises(MalformedBodyError, match="NUL"):
        decode_json(body)


def test_an_escaped_backslash_before_u0000_is_text() -> None:
    assert decode_json(rb'{"a": "\\u0000"}') == {"a": "\\u0000"}
