"""The stream WebSocket's handshake refusals that need no service (the token fails
before PostgreSQL is asked), driven through the ASGI interface as a server would drive
it; everything past the handshake is in tests/e2e/test_stream_socket.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import Message

from gateway.app import create_app
from gateway.devices.socket import DENIAL, close_for
from gateway.errors import (
    ChunkGapError,
    EcgNotFoundError,
    ForbiddenError,
    GatewayError,
    InvalidTokenError,
    NotAStreamError,
    ServiceUnavailableError,
)
from gateway.problems import PROBLEM_JSON
from gateway.settings import Settings

PATH = "/api/v1/ecg/123e4567-e89b-12d3-a456-426614174000/ws"


async def handshake(
    settings: Settings, headers: dict[str, str], extensions: dict[str, Any]
) -> list[Message]:
    """What the gateway (without its lifespan: no Kafka, no PostgreSQL) sends to a
    WebSocket handshake with ``headers`` and a server of ``extensions``."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "scheme": "ws",
        "server": ("gateway", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "subprotocols": [],
        "extensions": extensions,
    }
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    await create_app(settings)(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="ecg-pipeline"'),
        (
            {"Authorization": "Bearer not.a.jwt"},
            'Bearer realm="ecg-pipeline", error="invalid_token"',
        ),
    ],
)
async def test_no_valid_token_is_refused_before_the_upgrade(
    settings: Settings, headers: dict[str, str], challenge: str
) -> None:
    start, body = await handshake(settings, headers, {DENIAL: {}})
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 401
    sent_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert sent_headers["content-type"] == PROBLEM_JSON
    assert sent_headers["www-authenticate"] == challenge
    assert body["type"] == "websocket.http.response.body"
    assert json.loads(body["body"])["status"] == 401


async def test_a_server_without_denial_responses_gets_the_problem_and_a_4xxx_close(
    settings: Settings,
) -> None:
    accept, answer, close = await handshake(settings, {}, {})
    assert accept["type"] == "websocket.accept"
    error = json.loads(answer["text"])
    assert (error["type"], error["seq"]) == ("error", None)
    assert error["problem"]["type"] == "/problems/missing-token"
    assert close == {"type": "websocket.close", "code": 4401, "reason": "A token is required"}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidTokenError("the token has expired"), 4401),
        (ForbiddenError("no"), 4403),
        (EcgNotFoundError("x"), 4404),
        (NotAStreamError("x"), 4409),
        (ChunkGapError(3, 1), 4409),
        (ServiceUnavailableError("later"), 4503),
    ],
)
def test_a_close_code_is_4000_plus_the_http_status(error: GatewayError, code: int) -> None:
    assert close_for(error)[0] == code
