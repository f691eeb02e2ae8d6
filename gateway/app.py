"""The composition root: ``create_app(settings)`` builds the whole gateway.

Served with ``uvicorn --factory gateway.app:create_app``; without arguments the
settings are read from the environment (see ``gateway.settings``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from gateway import edge, health, observability, openapi
from gateway.accounts.administration import UserEndpoints
from gateway.accounts.endpoints import AccountEndpoints
from gateway.accounts.passwords import Passwords
from gateway.authentication import Authenticator
from gateway.devices.endpoints import StreamEndpoints
from gateway.devices.socket import StreamSocket
from gateway.lifespan import lifespan
from gateway.problems import exception_handlers
from gateway.recordings.analysis import AnalysisEndpoints
from gateway.recordings.endpoints import EcgEndpoints
from gateway.recordings.fhir import FhirEndpoints
from gateway.recordings.overview import OverviewEndpoints
from gateway.recordings.reanalysis import ReanalysisEndpoints
from gateway.recordings.signal import SignalEndpoints
from gateway.settings import Settings
from gateway.tokens import Tokens
from gateway.viewer import endpoints as viewer
from schemas.kafka_logs import quiet_kafka_client_retries


def create_app(settings: Settings | None = None) -> Starlette:
    settings = Settings.from_env() if settings is None else settings
    # The Kafka client logs an error at every retry while a broker is away: one a minute.
    quiet_kafka_client_retries()
    tokens = Tokens(settings)
    passwords = Passwords(settings.password_hash_concurrency)
    authenticator = Authenticator(tokens)
    return Starlette(
        routes=[
            *AccountEndpoints(authenticator).routes,
            *UserEndpoints(authenticator).routes,
            *EcgEndpoints(settings, authenticator).routes,
            *StreamEndpoints(settings, authenticator, tokens).routes,
            *StreamSocket(settings, authenticator).routes,
            *AnalysisEndpoints(authenticator).routes,
            *SignalEndpoints(authenticator).routes,
            *OverviewEndpoints(authenticator).routes,
            *FhirEndpoints(authenticator).routes,
            *ReanalysisEndpoints(settings, authenticator).routes,
            *health.routes,
            *openapi.routes(),
            *viewer.routes(),
            Route("/metrics", observability.metrics, methods=["GET"], name="metrics"),
        ],
        middleware=[Middleware(observability.Observed), *edge.middleware(settings)],
        exception_handlers=exception_handlers(settings.retry_after_seconds),
        lifespan=lifespan(settings, tokens, passwords),
    )
