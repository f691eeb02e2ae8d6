"""The gateway's HTTP/1.1 connections: uvicorn's httptools protocol with bounds on the
request head, which no ASGI middleware can set (the app sees a request only once its
head is complete). Served with ``uvicorn --http gateway.connections:HttpProtocol``.

- **Size**: at most ``MAX_HEAD_BYTES`` (32 KiB: nginx's default buffers hold 4 x 8 KiB,
  h11's limit is 16 KiB; a bearer token is well under 1 KiB) for the request line and
  the headers, counted as bytes arrive. httptools has no limit of its own and joins the
  pieces of a header by copying, so a 64 MiB header used to hold the event loop for
  seconds; now it is answered 431 once 32 KiB have come.
- **Count**: at most ``MAX_HEADER_FIELDS`` (100, gunicorn's default) header fields: 431.
- **Time**: the head must be complete ``HEAD_TIMEOUT_SECONDS`` (10) after the connection
  opened or the previous response ended, however slowly it trickles in (a slowloris
  client resets uvicorn's keep-alive timer with every byte, and uvicorn arms no timer at
  all on a fresh connection): 408 and closed, or closed silently if nothing was sent.

The body is paced by ``gateway.edge.BodyPace``. uvicorn's other settings stay as they
are: ``--timeout-keep-alive`` (5 s between requests) and no ``--limit-concurrency``,
which would answer 503 to everyone once slow clients hold enough connections.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any, ClassVar, Final

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

MAX_HEAD_BYTES: Final = 32 * 1024
MAX_HEADER_FIELDS: Final = 100
HEAD_TIMEOUT_SECONDS: Final = 10.0


class HeadRefusedError(Exception):
    """Raised in a parser callback to stop parsing; the refusal is answered by
    ``send_400_response``, which uvicorn calls on every parser error."""


class HttpProtocol(HttpToolsProtocol):
    max_head_bytes: ClassVar[int] = MAX_HEAD_BYTES
    max_header_fields: ClassVar[int] = MAX_HEADER_FIELDS
    head_timeout_seconds: ClassVar[float] = HEAD_TIMEOUT_SECONDS

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._in_head = True
        self._head_bytes = 0  # bytes received while a head is being read
        self._parsed_head_bytes = 0  # request target and header fields, as parsed
        self._header_fields = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_head_bytes:
            self._refuse(431, f"the request line and headers exceed {self.max_head_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_head_bytes = 0
        self._header_fields = 0

    def on_url(self, url: bytes) -> None:
        self._parsed_head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_fields += 1
        self._parsed_head_bytes += len(name) + len(value) + 4
        if self._header_fields > self.max_header_fields:
            self._refusal = (431, f"a request may have at most {self.max_header_fields} headers")
            raise HeadRefusedError()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._parsed_head_bytes > self.max_head_bytes:  # a big head in one read
            self._refusal = (
                431,
                f"the request line and headers exceed {self.max_head_bytes} bytes",
            )
            raise HeadRefusedError()
        self._in_head = False
        self._head_bytes = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # what follows is the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._in_head:
            self._start_head_timer()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._refuse(*self._refusal)

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_seconds, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if busy or not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(
                408, f"the request head did not arrive within {self.head_timeout_seconds:g} s"
            )
        else:
            self.transport.close()

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` as problem+json and close; a response in progress (a
        pipelined head after a request still being answered) is cut short instead."""
        self._stop_head_timer()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        title = HTTPStatus(status).phrase
        body = json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail}
        ).encode()
        head = (
            f"HTTP/1.1 {status} {title}\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()
