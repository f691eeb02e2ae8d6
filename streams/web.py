"""The worker's HTTP endpoints, on ``ECG_WORKER_WEB_HOST``:``ECG_WORKER_WEB_PORT``:

- ``GET /livez``: 200 while the process's event loop answers (the server runs on it);
- ``GET /readyz``: 200 when the worker is ready (``streams.health``), else 503 with a
  problem+json body that names what is not;
- ``GET /metrics``: the Prometheus metrics (``streams.metrics``).

A small Starlette app served by uvicorn on the worker's own event loop, as a
``faust.Service`` that the app depends on: it starts before the consumer and stops
after it, so the probes answer while the worker joins its group, recovers its tables
or waits for Kafka. (Faust's own web server, aiohttp, starts only once the tables are
recovered, serves the tables' contents at ``/table/``, and is off for workers anyway.)
The port is bound before the app starts: a port that is taken stops the worker at
once, with the reason in its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import faust
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from streams.health import not_ready

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
STOP_SECONDS = 5.0

Checks = Callable[[], Awaitable[dict[str, str]]]


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def create_web_app(
    checks: Checks,
    registry: CollectorRegistry,
    *,
    close: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    """The endpoints; ``checks`` returns the outcome of each readiness check; ``close``
    is awaited when the server stops (the probes' clients)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close is not None:
                await close()

    async def livez(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        outcomes = await checks()
        failing = not_ready(outcomes)
        if not failing:
            return JSONResponse({"status": "ready", "checks": outcomes})
        detail = ", ".join(f"{name} {outcomes[name]}" for name in failing)
        body = {
            "type": "/problems/not-ready",
            "title": "The worker is not ready",
            "status": 503,
            "detail": f"not ready: {detail}",
            "checks": outcomes,
        }
        return ProblemResponse(body, status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The worker (mode.Worker) owns the process's signals: uvicorn's handlers
        # would start a second shutdown of their own (faust.contrib.asgi says more).
        yield


class WebServer(faust.Service):
    """Serves ``asgi`` on ``host``:``port`` (0: a free port, see ``port``)."""

    def __init__(self, asgi: Starlette, host: str, port: int) -> None:
        super().__init__()
        self._asgi = asgi
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._serving: asyncio.Future[None] | None = None

    @property
    def port(self) -> int:
        """The port bound: the one asked for, or the one chosen for port 0."""
        return self._port

    async def on_start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        listening = socket.create_server((self._host, self._port), family=family)
        self._port = int(listening.getsockname()[1])
        config = uvicorn.Config(
            self._asgi, lifespan="on", log_config=None, access_log=False, server_header=False
        )
        self._server = _Server(config)
        self._serving = self.add_future(self._server.serve(sockets=[listening]))
        log.info("worker HTTP on http://%s:%d (/livez, /readyz, /metrics)", self._host, self._port)

    async def on_stop(self) -> None:
        server, serving = self._server, self._serving
        self._server = self._serving = None
        if server is not None:
            server.should_exit = True
        if serving is not None:
            try:
                await asyncio.wait_for(serving, STOP_SECONDS)
            except TimeoutError:
                log.warning("the worker's HTTP server did not stop within %g s", STOP_SECONDS)
