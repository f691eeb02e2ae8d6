"""The body's pace (``gateway.edge.BodyPace``) over real HTTP, with the whole app and a
short timeout: a trickling body gets 408 and a closed connection, a steady one is read."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from urllib.parse import urlsplit

from gateway.app import create_app
from gateway.settings import Settings
from tests.integration.gateway.conftest import Serve

LENGTH = 240


def login_body() -> bytes:
    body = json.dumps({"email": "nobody@example.org", "password": "not-a-password"})
    return body.ljust(LENGTH).encode()  # JSON allows the trailing spaces


async def post_slowly(url: str, piece: int, every: float) -> tuple[bytes, float]:
    """POST a login body ``piece`` bytes at a time, one piece every ``every`` seconds;
    everything the gateway answered until it closed, and the seconds that took."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: gateway\r\n"
        f"Content-Type: application/json\r\nContent-Length: {LENGTH}\r\nConnection: close\r\n\r\n"
    )
    started = time.monotonic()
    writer.write(head.encode())
    body = login_body()

    async def trickle() -> None:
        for offset in range(0, LENGTH, piece):
            writer.write(body[offset : offset + piece])
            await writer.drain()
            await asyncio.sleep(every)

    sending = asyncio.create_task(trickle())
    try:
        answer = await asyncio.wait_for(reader.read(), 15)
    finally:
        sending.cancel()
        writer.close()
    return answer, time.monotonic() - started


async def test_a_trickling_body_is_answered_408_and_closed(
    settings: Settings, serve: Serve
) -> None:
    paced = dataclasses.replace(settings, body_timeout_seconds=1.0, body_min_bytes_per_second=100)
    async with serve(create_app(paced)) as url:
        answer, seconds = await post_slowly(url, piece=4, every=0.5)  # 8 bytes a second
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 408
    assert seconds < 4, seconds  # 1 s, plus a second per 100 bytes received


async def test_a_steady_body_is_read(settings: Settings, serve: Serve) -> None:
    paced = dataclasses.replace(settings, body_timeout_seconds=1.0, body_min_bytes_per_second=100)
    async with serve(create_app(paced)) as url:
        answer, _ = await post_slowly(url, piece=40, every=0.2)  # 200 bytes a second
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:300]
