"""``GET /healthz``: 200 when the producer is connected and PostgreSQL answers."""

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


routes = [Route("/healthz", healthz, methods=["GET"], name="healthz")]
