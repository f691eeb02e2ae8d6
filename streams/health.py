"""Whether the worker is ready, for ``/readyz`` (``streams.web``).

Ready: Kafka answers a metadata request and PostgreSQL a query, each within
``timeout`` seconds; the worker is in its consumer group with partitions assigned,
not in the middle of a rebalance; the tables of its partitions are recovered; and it
is not stopping. The probes use connections of their own, so that a question about
readiness never waits behind the agents' work (nor holds it up), and a dependency
that went away is noticed although no chunk arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from faust.exceptions import ConsumerNotStarted
from faust.types import AppT

from streams.outages import DATABASE_DOWN

log = logging.getLogger(__name__)

# PostgreSQL away, or refusing the probe's connection (starting up, shutting down).
PROBE_ERRORS: tuple[type[Exception], ...] = (*DATABASE_DOWN, asyncpg.PostgresError)

OK = "ok"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class GroupState:
    """What Faust says of this worker's place in its consumer group."""

    stopping: bool
    rebalancing: bool
    partitions: int  # topic partitions assigned to this worker (changelogs included)
    recovered: bool  # the tables of those partitions are recovered


def group_state(app: AppT) -> GroupState:
    try:
        partitions = len(app.consumer.assignment())
    except ConsumerNotStarted:
        partitions = 0
    # The table manager's recovery, which TableManagerT does not declare.
    recovery: Any = getattr(app.tables, "recovery", None)
    return GroupState(
        stopping=app.should_stop,
        rebalancing=app.rebalancing,
        partitions=partitions,
        recovered=recovery is not None and recovery.completed.is_set() and not app.in_recovery,
    )


def group_checks(state: GroupState) -> dict[str, str]:
    """The outcome of each check of the worker's own state: ``ok`` or what is not."""
    if state.stopping:
        return {"worker": "stopping", "partitions": "stopping", "recovery": "stopping"}
    if state.rebalancing:
        partitions = "rebalancing"
    elif not state.partitions:
        partitions = "none assigned"
    else:
        partitions = OK
    return {
        "worker": OK,
        "partitions": partitions,
        "recovery": OK if state.recovered else "recovering",
    }


def not_ready(checks: dict[str, str]) -> list[str]:
    """The names of the checks that failed."""
    return [name for name, outcome in checks.items() if outcome != OK]


class Probes:
    """Asks Kafka for its metadata and PostgreSQL for ``SELECT 1``, each within
    ``timeout`` seconds. ``close`` drops the Kafka client the probes keep."""

    def __init__(self, kafka_bootstrap: str, database_url: str, *, timeout: float) -> None:
        self._bootstrap = kafka_bootstrap
        self._dsn = database_url
        self._timeout = timeout
        self._kafka: Any = None  # an AIOKafkaClient once bootstrapped
        self._kafka_lock = asyncio.Lock()

    async def checks(self, app: AppT) -> dict[str, str]:
        kafka, postgresql = await asyncio.gather(self.kafka(), self.postgresql())
        return {
            "kafka": OK if kafka else UNAVAILABLE,
            "postgresql": OK if postgresql else UNAVAILABLE,
            **group_checks(group_state(app)),
        }

    async def kafka(self) -> bool:
        async with self._kafka_lock:
            try:
                async with asyncio.timeout(self._timeout):
                    client = await self._kafka_client()
                    await client.fetch_all_metadata()
            except (KafkaError, OSError, TimeoutError) as exc:
                log.debug("readiness: Kafka does not answer (%r)", exc)
                return False
            return True

    async def postgresql(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                connection = await asyncpg.connect(self._dsn, timeout=self._timeout)
                try:
                    await connection.fetchval("SELECT 1")
                finally:
                    await connection.close()
        except PROBE_ERRORS as exc:
            log.debug("readiness: PostgreSQL does not answer (%r)", exc)
            return False
        return True

    async def close(self) -> None:
        client, self._kafka = self._kafka, None
        if client is not None:
            await client.close()

    async def _kafka_client(self) -> Any:
        if self._kafka is None:
            client = AIOKafkaClient(
                bootstrap_servers=self._bootstrap,
                client_id="ecg-worker-readiness",
                request_timeout_ms=int(self._timeout * 1000),
            )
            try:
                await client.bootstrap()
            except BaseException:
                with contextlib.suppress(Exception):
                    await client.close()
                raise
            self._kafka = client
        return self._kafka
