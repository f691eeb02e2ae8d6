"""The gateway's HTTP protocol on a transport of the test's own: heads too large, with
too many fields, or too slow are refused before the app sees them."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.server import ServerState

from gateway.connections import MAX_HEAD_BYTES, MAX_HEADER_FIELDS, HttpProtocol


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class QuickProtocol(HttpProtocol):
    head_timeout_seconds: ClassVar[float] = 0.05


class App:
    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.requests += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def connect(
    app: App, protocol: type[HttpProtocol] = HttpProtocol
) -> tuple[HttpProtocol, Transport]:
    config = Config(app, log_config=None, proxy_headers=False)
    server = protocol(config, ServerState(), {}, asyncio.get_running_loop())
    transport = Transport()
    server.connection_made(transport)
    return server, transport


def status_of(transport: Transport) -> bytes:
    return bytes(transport.written.split(b"\r\n", 1)[0])


async def test_a_plain_request_reaches_the_app() -> None:
    app = App()
    server, transport = connect(app)
    server.data_received(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
    await asyncio.sleep(0.01)
    assert app.requests == 1
    assert status_of(transport) == b"HTTP/1.1 204 No Content"
    assert not transport.closed
    server.connection_lost(None)


async def test_too_many_header_fields_are_refused() -> None:
    app = App()
    server, transport = connect(app)
    fields = b"".join(b"X-F%d: v\r\n" % n for n in range(MAX_HEADER_FIELDS + 1))
    server.data_received(b"GET / HTTP/1.1\r\n" + fields + b"\r\n")
    await asyncio.sleep(0.01)
    assert status_of(transport) == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"application/problem+json" in transport.written
    assert transport.closed
    assert app.requests == 0


async def test_a_head_that_keeps_growing_is_refused_before_it_ends() -> None:
    app = App()
    server, transport = connect(app)
    server.data_received(b"GET / HTTP/1.1\r\nX-Huge: ")
    piece = b"a" * 4096
    for _ in range(MAX_HEAD_BYTES // len(piece) + 1):
        if transport.closed:
            break
        server.data_received(piece)
    assert status_of(transport) == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert transport.closed
    assert app.requests == 0


async def test_a_large_head_in_one_read_is_refused() -> None:
    app = App()
    server, transport = connect(app)
    server.data_received(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n")
    await asyncio.sleep(0.01)
    assert status_of(transport) == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert app.requests == 0


async def test_a_slow_head_gets_408_and_an_idle_connection_is_closed() -> None:
    slow, slow_transport = connect(App(), QuickProtocol)
    slow.data_received(b"GET / HTTP/1.1\r\nHost: gate")
    _, idle_transport = connect(App(), QuickProtocol)
    await asyncio.sleep(0.2)
    assert status_of(slow_transport) == b"HTTP/1.1 408 Request Timeout"
    assert slow_transport.closed
    assert idle_transport.closed
    assert idle_transport.written == b""


async def test_the_head_timer_restarts_after_each_response() -> None:
    app = App()
    server, transport = connect(app, QuickProtocol)
    server.data_received(b"GET / HTTP/1.1\r\nHost: gateway\r\n\r\n")
    await asyncio.sleep(0.01)
    server.data_received(b"GET / HTTP/1.1\r\nHo")  # the next head, never finished
    await asyncio.sleep(0.2)
    assert app.requests == 1
    assert transport.written.count(b"HTTP/1.1 ") == 2
    assert transport.written.endswith(b"}")  # the 408's problem body
    assert transport.closed
