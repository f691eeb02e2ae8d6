"""The composition root: ``create_app(settings)`` builds the whole gateway.

Served with ``uvicorn --factory gateway.app:create_app``; without arguments the
settings are read from the environment (see ``gateway.settings``).
"""

from __future__ import annotations

from starlette.applications import Starlette

from gateway import health
from gateway.ecg import EcgEndpoints
from gateway.lifespan import lifespan
from gateway.problems import exception_handlers
from gateway.settings import Settings


def create_app(settings: Settings | None = None) -> Starlette:
    settings = Settings.from_env() if settings is None else settings
    return Starlette(
        routes=[*EcgEndpoints(settings).routes, *health.routes],
        exception_handlers=exception_handlers(settings.retry_after_seconds),
        lifespan=lifespan(settings),
    )
