"""Integration fixtures of the gateway: the real broker and database from
tests/conftest.py, a fresh topic per test, the app served by uvicorn in-process
over real HTTP, and a closed loopback port to stand for a service that is down."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from uuid import uuid4

import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from starlette.applications import Starlette

from gateway.settings import Settings

Consume = Callable[[str, int], Awaitable[list[Any]]]
Serve = Callable[[Starlette], AbstractAsyncContextManager[str]]


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"test.gateway.samples.{uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
def settings(kafka_bootstrap: str, database_url: str, topic: str) -> Settings:
    return Settings(
        env="test",
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        samples_topic=topic,
        chunk_bytes=64 * 1024,
    )


@pytest.fixture
def consume(kafka_bootstrap: str) -> Consume:
    """Read ``count`` records of a topic from the start, in (partition, offset) order,
    then check for a moment that no more arrive."""

    async def read(topic: str, count: int) -> list[Any]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        records: list[Any] = []
        try:
            async with asyncio.timeout(30):
                while len(records) < count:
                    for batch in (await consumer.getmany(timeout_ms=500)).values():
                        records.extend(batch)
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        finally:
            await consumer.stop()
        return sorted(records, key=lambda record: (record.partition, record.offset))

    return read


@pytest.fixture
def serve() -> Serve:
    """Serve an app with uvicorn on a free loopback port; yields its base URL."""

    @asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[str]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None))
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            async with asyncio.timeout(30):
                while not server.started:
                    if task.done():
                        raise RuntimeError("the gateway did not start") from task.exception()
                    await asyncio.sleep(0.02)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task
            listener.close()

    return run
