"""The outermost ASGI middleware: who the client is, and a floor on how fast it sends.

- **Proxy headers** (``X-Forwarded-For``, ``X-Forwarded-Proto``) are believed only from
  ``Settings.trusted_proxies`` (``ECG_TRUSTED_PROXIES``, default none), with uvicorn's
  own ``ProxyHeadersMiddleware``. uvicorn itself runs with ``--no-proxy-headers``: its
  default trusts 127.0.0.1, and any local client could then pick the address that the
  audit log records and the login throttle counts.
- **Body pace**: a request body must keep coming. The app may wait for its next piece
  ``body_timeout_seconds`` in all, plus one second for every
  ``body_min_bytes_per_second`` bytes received so far (Apache's mod_reqtimeout
  ``body=20,MinRate=500``); only the time spent waiting for the client counts, not the
  time the app spends on its own work. Past that, the client gets 408 problem+json and
  the connection is closed. The request head is bounded earlier, in
  ``gateway.connections``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Final

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.settings import Settings

PROBLEM_JSON: Final = b"application/problem+json"


def middleware(settings: Settings) -> list[Middleware]:
    """The gateway's middleware, outermost first."""
    proxies = (
        [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]
        if settings.trusted_proxies
        else []
    )
    pace = Middleware(
        BodyPace,
        timeout_seconds=settings.body_timeout_seconds,
        min_bytes_per_second=settings.body_min_bytes_per_second,
    )
    return [*proxies, pace]


class BodyPace:
    def __init__(self, app: ASGIApp, timeout_seconds: float, min_bytes_per_second: int) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.min_bytes_per_second = min_bytes_per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _PacedRequest(self, receive, send)
        try:
            await self.app(scope, request.receive, request.send)
        except Exception:
            if not request.timed_out:
                raise
            # The app saw the client go away (e.g. ClientDisconnect) after the 408.


class _PacedRequest:
    def __init__(self, pace: BodyPace, receive: Receive, send: Send) -> None:
        self._pace = pace
        self._receive = receive
        self._send = send
        self._received = 0
        self._waited = 0.0
        self._response_started = False
        self.timed_out = False

    async def receive(self) -> Message:
        if self.timed_out:
            return {"type": "http.disconnect"}
        allowed = self._pace.timeout_seconds + self._received / self._pace.min_bytes_per_second
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, allowed - self._waited)):
                message = await self._receive()
        except TimeoutError:
            await self._time_out(allowed)
            return {"type": "http.disconnect"}
        self._waited += time.monotonic() - started
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
        return message

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return  # the 408 is the answer; whatever the app says after it is dropped
        if message["type"] == "http.response.start":
            self._response_started = True
        await self._send(message)

    async def _time_out(self, allowed: float) -> None:
        self.timed_out = True
        if self._response_started:
            return  # too late for a status; uvicorn closes a connection left half-answered
        detail = (
            f"the request body came too slowly: {self._received} bytes in {allowed:.0f} s "
            f"of waiting; send at least {self._pace.min_bytes_per_second} bytes a second"
        )
        body = json.dumps(
            {"type": "about:blank", "title": "Request Timeout", "status": 408, "detail": detail}
        ).encode()
        headers = [
            (b"content-type", PROBLEM_JSON),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await self._send({"type": "http.response.start", "status": 408, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})
