"""Topic creation against the real broker that `make test` starts."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient

from streams.settings import Settings
from streams.topics import create_topics


async def test_creates_missing_topics_with_the_configured_partitions(
    kafka_bootstrap: str, database_url: str
) -> None:
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap, database_url=database_url, topic_partitions=3
    )
    names = (f"test.topics.{uuid.uuid4().hex}", f"test.topics.{uuid.uuid4().hex}")
    assert sorted(await create_topics(settings, names)) == sorted(names)
    assert await create_topics(settings, names) == []

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    assert [len(topic["partitions"]) for topic in described] == [3, 3]
