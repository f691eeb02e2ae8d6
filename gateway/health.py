"""Health for load balancers and orchestrators.

- ``GET /livez``: 200 while the process's event loop answers (nothing else is asked: a
  liveness probe that fails on a database outage would restart healthy gateways).
- ``GET /readyz`` (and ``/healthz``, its older name): 200 when the producer is connected
  and PostgreSQL answers, else 503 problem+json naming what is not.
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.database import Database
from gateway.errors import ServiceUnavailableError, UnhealthyError
from gateway.publisher import SamplePublisher


class HealthState(TypedDict):
    database: Database
    publisher: SamplePublisher


async def healthz(request: Request[HealthState]) -> Response:
    kafka, postgresql = await asyncio.gather(
        request.state["publisher"].ping(),
        request.state["database"].ping(),
        return_exceptions=True,
    )
    checks = {"kafka": _outcome(kafka), "postgresql": _outcome(postgresql)}
    if any(outcome != "ok" for outcome in checks.values()):
        raise UnhealthyError(checks)
    return JSONResponse({"status": "ok"})


def _outcome(result: BaseException | None) -> str:
    if result is None:
        return "ok"
    if isinstance(result, ServiceUnavailableError):
        return "unavailable"
    raise result


async def livez(request: Request[HealthState]) -> Response:
    return JSONResponse({"status": "ok"})


routes = [
    Route("/livez", livez, methods=["GET"], name="livez"),
    Route("/readyz", healthz, methods=["GET"], name="readyz"),
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
]
