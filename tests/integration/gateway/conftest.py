"""Integration fixtures of the gateway: the real broker and database from
tests/conftest.py, a fresh topic per test, the app served by uvicorn in-process
over real HTTP, and accounts logged in through the real services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.database import Database
from gateway.settings import Settings
from tests.integration.gateway.helpers import Account, open_account, serving
from tests.kafka import create_topics

Consume = Callable[[str, int], Awaitable[list[Any]]]
Serve = Callable[[Starlette], AbstractAsyncContextManager[str]]


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"test.gateway.samples.{uuid4().hex}"
    await create_topics(kafka_bootstrap, [name], 3)
    return name


@pytest.fixture
def settings(kafka_bootstrap: str, database_url: str, topic: str, jwt_secret: str) -> Settings:
    return Settings(
        env="test",
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        samples_topic=topic,
        chunk_bytes=64 * 1024,
        jwt_secret=jwt_secret,
    )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def account(settings: Settings) -> Account:
    """A logged-in user account."""
    return await open_account(settings)


@pytest.fixture(scope="module")
async def user_gateway(
    kafka_bootstrap: str, database_url: str, jwt_secret: str
) -> AsyncIterator[httpx.AsyncClient]:
    """One gateway per module, and a client that sends a user's access token: for the
    many requests that the gateway refuses after authentication and before Kafka."""
    settings = Settings(
        env="test",
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        max_body_bytes=64 * 1024,
        jwt_secret=jwt_secret,
    )
    user = await open_account(settings)
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, headers=user.headers, timeout=60) as client,
    ):
        yield client


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
    return serving
