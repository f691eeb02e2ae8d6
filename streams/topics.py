"""Create the pipeline's topics, idempotently, with the configured partition count.

Run once before the services start (``python -m streams.topics``). Partitions are
the unit of scale: as many stream workers can share the work as there are
partitions of ``ecg.samples.v1``, which keeps its messages
``ECG_SAMPLES_RETENTION_HOURS`` (7 days by default; every sample is also kept in
PostgreSQL by ``streams.archive``). An existing topic is left as it is: change its
retention with ``kafka-configs.sh --alter --add-config retention.ms=...``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from schemas import topics
from streams.settings import Settings, SettingsError

TOPICS = (
    topics.SAMPLES,
    topics.WINDOWS,
    topics.SUMMARIES,
    topics.DEAD_LETTERS,
    topics.ANALYSIS_REQUESTS,
    topics.EVENTS,
)


async def create_topics(settings: Settings, names: tuple[str, ...] | None = None) -> list[str]:
    """Create the missing topics (by default the pipeline's own, in the settings'
    namespace); return the names created now."""
    if names is None:
        names = tuple(settings.topic(name) for name in TOPICS)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in names if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=settings.topic_partitions,
                    replication_factor=settings.topic_replication,
                    topic_configs=topic_configs(settings, name),
                )
                for name in missing
            ]
        )
        return created_topics(response.topic_errors)
    finally:
        await admin.close()


SEGMENT_MS_MAX = 24 * 3_600_000


def topic_configs(settings: Settings, name: str) -> dict[str, str]:
    """The samples topic keeps its messages ``samples_retention_hours``; the others
    take the broker's defaults.

    Kafka deletes whole segments only, once a segment's newest message is older than
    the retention, and starts a segment only when a message arrives after
    ``segment.ms`` (7 days by default): a retention of a day would otherwise keep a
    quiet partition's samples for up to 8. Segments of at most the retention, and at
    most a day, keep the samples at most the retention and a day longer."""
    if name != settings.topic(topics.SAMPLES):
        return {}
    retention = max(1, round(settings.samples_retention_hours * 3_600_000))
    return {"retention.ms": str(retention), "segment.ms": str(min(retention, SEGMENT_MS_MAX))}


def created_topics(topic_errors: list[tuple[Any, ...]]) -> list[str]:
    """The topics a CreateTopics answer says were created. One that exists already
    (another creator won the race, or the broker's metadata lagged behind a creation
    a moment ago) is not an error; any other refusal is raised."""
    created = []
    for name, code, *message in topic_errors:
        if code == TopicAlreadyExistsError.errno:
            continue
        if code != 0:
            raise for_code(code)(f"creating topic {name}: {message[0] if message else ''}")
        created.append(name)
    return created


def main() -> int:
    try:
        settings = Settings.from_env()
        created = asyncio.run(create_topics(settings))
    except (SettingsError, KafkaError, OSError) as exc:
        print(f"topics: {exc}", file=sys.stderr)
        return 1
    print(f"topics: created {', '.join(created) if created else 'none (all exist)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
