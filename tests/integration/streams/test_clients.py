"""The worker's clients start and stop with their Service, against the real services."""

from __future__ import annotations

import uuid

import pytest

from streams.clients import Clients
from streams.settings import Settings
from tests.kafka import create_topics


async def test_the_clients_live_from_start_to_stop(kafka_bootstrap: str, database_url: str) -> None:
    # No stream of the other tests is silent for 30 years: the closer finds none.
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap, database_url=database_url, stream_idle_seconds=1e9
    )
    clients = Clients(settings)
    with pytest.raises(AssertionError, match="not started"):
        _ = clients.store
    topic = f"test.clients.{uuid.uuid4().hex}"
    await create_topics(kafka_bootstrap, [topic])
    await clients.start()
    try:
        await clients.store.write([], [])  # connects: one empty transaction
        assert await clients.reader.read(topic, 0, start=0, end=1, key=b"a") == []
        assert await clients.idle.tick(_send_nothing) == []
        assert await clients.ecgs.known([uuid.uuid4()]) == set()
    finally:
        await clients.stop()
    for name in ("store", "reader", "idle", "ecgs"):
        with pytest.raises(AssertionError, match="not started"):
            getattr(clients, name)


async def _send_nothing(messages: object) -> None:
    raise AssertionError(f"no stream is idle, yet {messages!r} was sent")
