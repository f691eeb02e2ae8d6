"""A service of the worker with a Kafka consumer group of its own and a small pool of
PostgreSQL connections: the sample archive (``streams.archive``) and the re-analysis
(``streams.reanalysis``). Beside the Faust app's group, so that neither waits for the
live analysis's rebalances, nor it for them. Offsets are committed by hand, after the
work they cover is stored; a new group starts from the earliest offset."""

from __future__ import annotations

from typing import Any

import asyncpg
import faust
from aiokafka import AIOKafkaConsumer


class GroupService(faust.Service):
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        database_url: str,
        *,
        max_poll_records: int,
        timeout: float,
    ) -> None:
        super().__init__()
        self._bootstrap = bootstrap
        self._topic = topic
        self._group_id = group_id
        self._dsn = database_url
        self._max_poll_records = max_poll_records
        self._timeout = timeout  # seconds for a database connection or statement
        self._consumer: AIOKafkaConsumer | None = None
        self._pool: asyncpg.Pool | None = None

    async def on_start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            self._topic,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._max_poll_records,
        )
        await self._consumer.start()

    async def on_stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def pool(self) -> Any:
        """The pool (one connection), opened on first use and after ``reset``."""
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=1, timeout=10, command_timeout=self._timeout
            )
        return self._pool

    async def reset(self) -> None:
        """Drop the pool after the database went away: the next use opens a new one."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
