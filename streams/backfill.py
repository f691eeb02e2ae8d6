"""Re-reading chunks that the stream skipped.

A chunk that arrives ahead of its ECG's next expected sequence number means the
chunks in between were not delivered to this worker, although Kafka has them:
the gateway acknowledges an upload or a stream chunk only after Kafka has it,
and keeps each ECG's chunks in order on one partition. Faust's consumer can skip
messages around a rebalance and table recovery (faust-streaming issues #221,
#596), so the windows agent reads the missing range itself, from the offset after
the ECG's last applied chunk up to the chunk that revealed the gap, and applies
what it finds before going on. Reading is bounded by that range.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import EventT

from schemas.codec import Schema, decode
from streams.chunks import ChunkGapError, Outcome, StreamState, apply_chunk, catch_up
from streams.settings import Settings

log = logging.getLogger(__name__)


async def apply_or_catch_up(
    reader: ChunkReader,
    state: StreamState | None,
    event: EventT[bytes],
    chunk: dict[str, Any],
    settings: Settings,
    *,
    provisional: bool = True,
) -> list[Outcome]:
    """Apply ``chunk`` (decoded from ``event``) to its ECG's ``state``; if chunks are
    missing before it, re-read them from Kafka and apply them first. Raises
    ``InvalidChunkError`` (``ChunkGapError`` if some are still missing).
    ``provisional``: as ``apply_chunk``'s."""
    offset = event.message.offset
    window_samples = settings.window_samples
    try:
        return [apply_chunk(state, chunk, window_samples, offset, provisional=provisional)]
    except ChunkGapError:
        key = str(chunk["ecg_id"]).encode()
        earlier = await read_missing(reader, event, key, state, settings.backfill_lookback)
        return catch_up(state, earlier, chunk, window_samples, offset, provisional=provisional)


async def read_missing(
    reader: ChunkReader,
    event: EventT[bytes],
    key: bytes,
    state: StreamState | None,
    lookback: int,
) -> list[tuple[int, dict[str, Any]]]:
    """The ``(offset, chunk)`` of the ECG's chunks between its last applied one and
    ``event``; with none applied yet, from up to ``lookback`` messages before it."""
    message = event.message
    start = (
        state.last_offset + 1
        if state is not None and state.last_offset >= 0
        else max(0, message.offset - lookback)
    )
    found = await reader.read(message.topic, message.partition, start, message.offset, key)
    return [(offset, decode(Schema.SAMPLE_CHUNK, value)) for offset, value in found]


class ChunkReader:
    """Reads a range of one partition's messages, outside any consumer group."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def read(
        self, topic: str, partition: int, start: int, end: int, key: bytes
    ) -> list[tuple[int, bytes]]:
        """The ``(offset, value)`` of the messages with ``key`` in ``[start, end)``."""
        if start >= end:
            return []
        consumer = await self._started()
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        found: list[tuple[int, bytes]] = []
        position = start
        while position < end:
            batches = await consumer.getmany(tp, timeout_ms=5000)
            records = batches.get(tp, [])
            if not records:
                log.warning(
                    "no messages in %s[%d] at %d (up to %d)", topic, partition, position, end
                )
                break
            for record in records:
                if record.offset >= end:
                    break
                if record.key == key and record.value is not None:
                    found.append((record.offset, record.value))
            position = records[-1].offset + 1
        log.info(
            "re-read %s[%d] %d..%d: %d chunk(s) of %r",
            topic,
            partition,
            start,
            end - 1,
            len(found),
            key,
        )
        return found

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer
