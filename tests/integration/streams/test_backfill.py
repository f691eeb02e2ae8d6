"""Re-reading a range of a partition from the real broker."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer

from streams.backfill import ChunkReader
from tests.kafka import create_topics


async def test_reads_the_messages_of_one_key_in_a_range(kafka_bootstrap: str) -> None:
    topic = f"test.backfill.{uuid.uuid4().hex}"
    await create_topics(kafka_bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(30):
            key = b"a" if i % 3 == 0 else b"b"
            await producer.send_and_wait(topic, key=key, value=str(i).encode(), partition=0)
    finally:
        await producer.stop()

    reader = ChunkReader(kafka_bootstrap)
    try:
        found = await reader.read(topic, 0, start=4, end=22, key=b"a")
        assert found == [(i, str(i).encode()) for i in (6, 9, 12, 15, 18, 21)]
        assert await reader.read(topic, 0, start=5, end=5, key=b"a") == []
        # A second read on the same reader starts where it is told to.
        assert await reader.read(topic, 0, start=0, end=4, key=b"b") == [
            (1, b"1"),
            (2, b"2"),
        ]
    finally:
        await reader.close()
