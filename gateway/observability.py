"""What an operator sees of the gateway: Prometheus metrics, a request id on every
request and log line, and one JSON access line per request.

- **Request id**: a client's ``X-Request-ID`` (1 to 64 of ``A-Za-z0-9._:-``) or a new
  one, echoed in the response header, held in a context variable while the request
  runs (``RequestIdFilter`` puts it on every log record), and sent to Kafka as the
  ``request_id`` header of the request's sample chunks, so that the worker's log lines
  about them carry it too.
- **Metrics** (``/metrics``, prometheus-client's text format): see ``METRICS`` in
  docs/operations.md. Labels are the route *template* (``/api/v1/ecg/{ecg_id}``),
  the method and the status: never an ECG id, an email or a token.
- **Access log**: one line per HTTP request and per WebSocket (logger ``gateway.access``)
  with the request id, method, route, status and duration; uvicorn's own access log is
  off (``infra.apps``), so that each request is one structured line.
- ``/livez``: the process answers. ``/readyz``: Kafka and PostgreSQL reachable
  (``gateway.health``).

Logs are JSON when the process is started with ``gateway/logging.json`` (``make up``,
the image), through python-json-logger.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_HEADER: Final = "x-request-id"
REQUEST_ID_SHAPE: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")
UNMATCHED: Final = "unmatched"  # a path that no route serves: one label for all of them

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
REQUESTS: Final = Counter(
    "ecg_gateway_requests",
    "HTTP requests answered, by route template and status",
    ("method", "route", "status"),
)
REQUEST_SECONDS: Final = Histogram(
    "ecg_gateway_request_seconds",
    "Time from a request's start to its response's end, by route template",
    ("method", "route"),
    buckets=LATENCY_BUCKETS,
)
PUBLISH_SECONDS: Final = Histogram(
    "ecg_gateway_kafka_publish_seconds",
    "Time from handing a request's sample chunks to Kafka to their acknowledgement",
    buckets=LATENCY_BUCKETS,
)
PUBLISHED_MESSAGES: Final = Counter(
    "ecg_gateway_kafka_messages", "Sample chunks that Kafka acknowledged"
)
PUBLISHED_BYTES: Final = Counter(
    "ecg_gateway_kafka_bytes", "Bytes of sample chunks that Kafka acknowledged"
)
PENDING_BYTES: Final = Gauge(
    "ecg_gateway_kafka_pending_bytes", "Bytes of samples awaiting Kafka's acknowledgement"
)
OPEN_WEBSOCKETS: Final = Gauge("ecg_gateway_websockets_open", "Stream WebSockets open now")

log = logging.getLogger("gateway.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or None) on every record, as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class Observed:
    """Pure ASGI middleware (a ``BaseHTTPMiddleware`` would buffer WebSockets and cost a
    task per request): request id, metrics and the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif kind == "websocket.accept":
                status = 101
                OPEN_WEBSOCKETS.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = status or 500
            raise
        finally:
            if status == 101:
                OPEN_WEBSOCKETS.dec()
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "WS")
            if scope["type"] == "http":
                REQUESTS.labels(method, route, str(status)).inc()
                REQUEST_SECONDS.labels(method, route).observe(seconds)
            log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            REQUEST_ID.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if REQUEST_ID_SHAPE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    route: BaseRoute | None = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


async def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
