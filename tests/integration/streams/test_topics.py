"""Topic creation against the real broker that `make test` starts."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas import topics
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


async def test_the_samples_topic_keeps_its_messages_as_long_as_configured(
    kafka_bootstrap: str, database_url: str
) -> None:
    namespace = f"test.retention.{uuid.uuid4().hex[:8]}."
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=database_url,
        topic_namespace=namespace,
        samples_retention_hours=1.5,
    )
    created = await create_topics(settings)
    assert settings.topic(topics.SAMPLES) in created
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in created]
        )
    finally:
        await admin.close()
    configs = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for answer in described
        for resource in answer.resources
    }
    retention = {name: config["retention.ms"] for name, config in configs.items()}
    assert retention[settings.topic(topics.SAMPLES)] == str(90 * 60 * 1000)
    # Segments no longer than the retention: Kafka deletes only whole segments.
    assert configs[settings.topic(topics.SAMPLES)]["segment.ms"] == str(90 * 60 * 1000)
    others = {name: value for name, value in retention.items() if "samples" not in name}
    assert set(others.values()) == {str(7 * 24 * 3_600_000)}  # the broker's default
