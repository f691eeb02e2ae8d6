"""``ecg tail``: print the result events of the pipeline's topics as JSON lines.

It reads as any downstream consumer would: it decodes with ``schemas.consumer``,
which needs only the ``.avsc`` files. It joins no consumer group and commits
nothing, so the pipeline's own consumers never notice it. A missing topic is a clear
error rather than a silent wait, and every start offset is resolved before it says on
stderr that it is reading: an event sent after that line is printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from schemas.consumer import DecodeError, decode, read_schemas, to_json

# How long connecting and finding the topics may take before Kafka counts as unreachable.
CONNECT_SECONDS = 15.0
POLL_MS = 500


class TailError(Exception):
    """Kafka is unreachable or lacks a topic: reported in one line."""


@dataclass(frozen=True)
class TailOptions:
    bootstrap: str
    topics: tuple[str, ...]
    from_beginning: bool = False
    max_messages: int | None = None
    idle_seconds: float | None = None
    # The message key, i.e. the ECG id as UTF-8 text: only this ECG's events are printed.
    key: bytes | None = None


async def tail(options: TailOptions, out: TextIO, err: TextIO) -> int:
    """Print the events that ``options`` selects to ``out``, one JSON line each, until
    ``max_messages`` are printed or none was for ``idle_seconds``; return how many.
    An event that does not decode is reported on ``err`` and skipped."""
    schemas = read_schemas()
    consumer = AIOKafkaConsumer(
        *options.topics,
        bootstrap_servers=options.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if options.from_beginning else "latest",
    )
    try:
        partitions = await connect_consumer(consumer, options.bootstrap, options.topics)
        start = "the beginning" if options.from_beginning else "now"
        print(
            f"ecg tail: reading {len(partitions)} partitions of {', '.join(options.topics)}"
            f" from {start}",
            file=err,
            flush=True,
        )
        printed = 0
        loop = asyncio.get_running_loop()
        last_printed = loop.time()
        while options.max_messages is None or printed < options.max_messages:
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            for record in _in_order(batches.values()):
                if options.key is not None and record.key != options.key:
                    continue
                try:
                    value = decode(record.value or b"", schemas)
                except DecodeError as exc:
                    print(f"ecg tail: skipped {_position(record)}: {exc}", file=err, flush=True)
                    continue
                print(to_json(_event(record, value)), file=out, flush=True)
                printed += 1
                last_printed = loop.time()
                if printed == options.max_messages:
                    break
            idle = loop.time() - last_printed
            if options.idle_seconds is not None and idle >= options.idle_seconds:
                break
        return printed
    finally:
        await consumer.stop()


async def connect_consumer(
    consumer: AIOKafkaConsumer,
    bootstrap: str,
    topics: Sequence[str],
    seconds: float = CONNECT_SECONDS,
) -> set[TopicPartition]:
    """Check that ``topics`` exist, start the group-less ``consumer`` on them and resolve
    the start offset of every partition, within ``seconds``; TailError says in one line
    why not (``ecg simulate``'s window watch connects the same way)."""
    try:
        async with asyncio.timeout(seconds):
            # A consumer would wait for a missing topic to appear: ask first.
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            try:
                await admin.start()
                existing = await admin.list_topics()
            finally:
                await admin.close()
            missing = [topic for topic in topics if topic not in existing]
            if missing:
                raise TailError(f"no topic {', '.join(missing)} on Kafka at {bootstrap}")
            # Without a group, start() assigns every partition of the subscribed topics.
            await consumer.start()
            partitions: set[TopicPartition] = consumer.assignment()
            for partition in partitions:
                await consumer.position(partition)
    except TimeoutError:
        raise TailError(f"Kafka at {bootstrap} did not answer within {seconds:g} s") from None
    except (KafkaConnectionError, OSError):
        raise TailError(f"Kafka at {bootstrap} is unreachable") from None
    except KafkaError as exc:
        raise TailError(f"Kafka at {bootstrap} failed: {exc!r}") from None
    return partitions


def _in_order(batches: Iterable[list[Any]]) -> list[Any]:
    """One poll's records by topic, partition and offset, so the output is stable."""
    return sorted(
        (record for batch in batches for record in batch),
        key=lambda record: (record.topic, record.partition, record.offset),
    )


def _event(record: Any, value: dict[str, Any]) -> dict[str, Any]:
    key = None if record.key is None else record.key.decode("utf-8", "backslashreplace")
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": key,
        "value": value,
    }


def _position(record: Any) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"
