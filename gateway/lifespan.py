"""The clients the gateway holds while it runs, opened and closed by the lifespan.

Neither client needs its service at startup: the pool connects on first use
and the producer retries in the background (see ``gateway.publisher``), so the
gateway comes up, reports 503 on ``/healthz`` and recovers by itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette

from gateway.publisher import SamplePublisher
from gateway.repository import EcgRepository
from gateway.settings import Settings

log = logging.getLogger(__name__)


class State(TypedDict):
    repository: EcgRepository
    publisher: SamplePublisher


def lifespan(settings: Settings) -> Callable[[Starlette], AbstractAsyncContextManager[State]]:
    @asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[State]:
        log.info(
            "gateway starting (env=%s, kafka=%s, database=%s)",
            settings.env,
            settings.kafka_bootstrap,
            settings.redacted_database_url,
        )
        repository = EcgRepository(settings)
        publisher = SamplePublisher(settings)
        async with AsyncExitStack() as stack:
            await repository.open()
            stack.push_async_callback(repository.close)
            await publisher.start()
            stack.push_async_callback(publisher.stop)
            yield {"repository": repository, "publisher": publisher}

    return run
