"""Part 2's reference: aiokafka alone on the same broker, producing messages of the
pipeline's size and consuming them back, with the gateway's producer settings (acks=all,
idempotent, zstd, its linger and batch size) and the devices' concurrency: ``senders``
tasks, each sending its next message once the previous one is acknowledged, as a device
sends its next chunk once the gateway acks. A consumer reads them back meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


@dataclass(frozen=True)
class RawFigures:
    messages: int
    message_bytes: int  # mean
    produced_seconds: float  # first send to last ack
    seconds: float  # first send to last message consumed
    ack_seconds: tuple[float, ...]  # of every send


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def produce_and_consume(
    bootstrap: str,
    payloads: Sequence[bytes],
    senders: int,
    partitions: int,
    linger_ms: int = 5,  # the gateway's Settings.kafka_linger_ms
    max_batch_bytes: int = 512 * 1024,  # the gateway's Settings.kafka_max_batch_bytes
    timeout_seconds: float = 120.0,
) -> RawFigures:
    """Send ``payloads`` to a new topic and read them back: sender ``i`` sends
    ``payloads[i::senders]`` in order, keyed by ``i``, as device ``i`` its chunks."""
    topic = f"bench-raw-{uuid4().hex}"
    await create_topic(bootstrap, topic, partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        compression_type="zstd",
        linger_ms=linger_ms,
        max_batch_size=max_batch_bytes,
    )
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await producer.start()
    await consumer.start()
    try:
        await consumer.seek_to_beginning()  # its partitions assigned before the first send
        async with asyncio.timeout(timeout_seconds):
            return await _measure(producer, consumer, topic, payloads, senders)
    finally:
        await consumer.stop()
        await producer.stop()


async def _measure(
    producer: AIOKafkaProducer,
    consumer: AIOKafkaConsumer,
    topic: str,
    payloads: Sequence[bytes],
    senders: int,
) -> RawFigures:
    acks: list[float] = []

    async def send(index: int) -> None:
        key = f"device-{index}".encode()
        for payload in payloads[index::senders]:
            sent = time.perf_counter()
            await (await producer.send(topic, payload, key=key))
            acks.append(time.perf_counter() - sent)

    async def consume() -> float:
        seen = 0
        while seen < len(payloads):
            batches = await consumer.getmany(timeout_ms=100)
            seen += sum(len(records) for records in batches.values())
        return time.perf_counter()

    started = time.perf_counter()
    reader = asyncio.create_task(consume())
    try:
        await asyncio.gather(*(send(i) for i in range(senders)))
        produced = time.perf_counter()
        consumed = await reader
    finally:
        reader.cancel()
    return RawFigures(
        messages=len(payloads),
        message_bytes=round(sum(map(len, payloads)) / max(1, len(payloads))),
        produced_seconds=produced - started,
        # The consumer may read the last message before the last sender resumes from
        # its ack: the run ends when both are done.
        seconds=max(consumed, produced) - started,
        ack_seconds=tuple(acks),
    )
