"""The Faust application: topics, the per-ECG state table, and two agents.

- ``windows`` reads sample chunks, keeps each ECG's bounded analysis state in a
  changelogged table, and emits window results; after a chunk that closed a window,
  the summary so far (``final`` false); after the final chunk, the final summary.
- ``sink`` reads both result topics and writes them to PostgreSQL in batches.

and a timer on the group's leader that closes device streams silent for longer than
``stream_idle_seconds`` (``streams.idle``).

Delivery is at least once: a chunk seen again is recognised by its sequence
number, and the sink's upserts make a repeated result harmless. What cannot be
processed goes to the dead-letter topic with the reason, and is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
import faust
from aiokafka.errors import KafkaError
from faust.tables.table import Table
from faust.types import EventT, StreamT

from schemas import topics
from schemas.codec import DecodeError, Schema, decode, encode
from streams.backfill import ChunkReader
from streams.chunks import (
    ChunkGapError,
    InvalidChunkError,
    Outcome,
    StreamState,
    apply_chunk,
    catch_up,
)
from streams.idle import IdleStreams
from streams.settings import Settings
from streams.sink import ResultStore

log = logging.getLogger(__name__)

RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{host}" for host in settings.kafka_bootstrap.split(",")],
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        producer_acks=-1,
        producer_compression_type="zstd",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 4,
        web_enabled=False,
    )
    name = settings.topic
    samples = app.topic(name(topics.SAMPLES), **RAW)
    windows_out = app.topic(name(topics.WINDOWS), **RAW)
    summaries_out = app.topic(name(topics.SUMMARIES), **RAW)
    dead_letters = app.topic(name(topics.DEAD_LETTERS), **RAW)
    results = app.topic(name(topics.WINDOWS), name(topics.SUMMARIES), **RAW)
    result_schemas = {
        name(topics.WINDOWS): Schema.WINDOW_RESULT,
        name(topics.SUMMARIES): Schema.ECG_SUMMARY,
    }
    state = cast(
        "Table[bytes, bytes]",
        app.Table("ecg-stream-state", default=None, key_type=bytes, value_type=bytes),
    )
    # Tables take no serializer arguments and would JSON-encode bytes: the state is
    # already compact bytes, so its changelog carries it raw.
    state.key_serializer = state.value_serializer = "raw"

    async def dead_letter(event: EventT[bytes], reason: str) -> None:
        message = event.message
        log.warning(
            "dead letter from %s[%d]@%d: %s",
            message.topic,
            message.partition,
            message.offset,
            reason,
        )
        record = {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "reason": reason,
            "payload": message.value or b"",
        }
        sent = await dead_letters.send(key=message.key, value=encode(Schema.DEAD_LETTER, record))
        await sent  # acknowledged before the offending message is

    async def emit(key: bytes, outcome: Outcome) -> None:
        """Send an outcome's results and wait until Kafka has them: its windows, then its
        summary (provisional or final), under the same key."""
        sent = [
            await windows_out.send(key=key, value=encode(Schema.WINDOW_RESULT, window))
            for window in outcome.windows
        ]
        if outcome.summary is not None:
            summary = encode(Schema.ECG_SUMMARY, outcome.summary)
            sent.append(await summaries_out.send(key=key, value=summary))
        await asyncio.gather(*sent)

    async def reread(
        reader: ChunkReader, event: EventT[bytes], key: bytes, current: StreamState | None
    ) -> list[tuple[int, dict[str, Any]]]:
        """The ECG's chunks between its last applied one and ``event``, from Kafka."""
        message = event.message
        start = (
            current.last_offset + 1
            if current is not None and current.last_offset >= 0
            else max(0, message.offset - settings.backfill_lookback)
        )
        found = await reader.read(message.topic, message.partition, start, message.offset, key)
        return [(offset, decode(Schema.SAMPLE_CHUNK, value)) for offset, value in found]

    @app.agent(samples, name="windows")
    async def windows(stream: StreamT[bytes]) -> None:
        reader = ChunkReader(settings.kafka_bootstrap)
        try:
            async for event in stream.events():
                await on_chunk(reader, event)
        finally:
            await reader.close()

    async def on_chunk(reader: ChunkReader, event: EventT[bytes]) -> None:
        offset = event.message.offset
        try:
            chunk = decode(Schema.SAMPLE_CHUNK, event.value)
            key = str(chunk["ecg_id"]).encode()
            raw = state.get(key)
            current = StreamState.from_bytes(raw) if raw else None
            try:
                outcomes = [apply_chunk(current, chunk, settings.window_samples, offset)]
            except ChunkGapError:
                earlier = await reread(reader, event, key, current)
                outcomes = catch_up(current, earlier, chunk, settings.window_samples, offset)
        except (DecodeError, InvalidChunkError) as exc:
            await dead_letter(event, str(exc))
            return
        if outcomes[-1].duplicate:
            return
        # The state moves on only once Kafka has the results: if the worker dies
        # in between, the chunk is processed again from the old state and the same
        # results are sent again (the sink upserts them). Only chunks that close a
        # window wait for a round trip.
        for outcome in outcomes:
            await emit(key, outcome)
        state[key] = outcomes[-1].state.to_bytes()

    @app.agent(results, name="sink")
    async def sink(stream: StreamT[bytes]) -> None:
        store = ResultStore(settings.database_url)
        try:
            async for events in cast("faust.Stream[bytes]", stream).noack_take(
                settings.sink_batch_size, within=settings.sink_batch_seconds
            ):
                decoded = []
                for event in cast(list[EventT[bytes]], events):
                    try:
                        decoded.append(
                            (event, decode(result_schemas[event.message.topic], event.value))
                        )
                    except DecodeError as exc:
                        await dead_letter(event, str(exc))
                try:
                    await store.write(*split_results(decoded, name(topics.WINDOWS)))
                except asyncpg.PostgresError:
                    # One bad record must not block the rest: store one by one.
                    for event, record in decoded:
                        try:
                            await store.write(
                                *split_results([(event, record)], name(topics.WINDOWS))
                            )
                        except asyncpg.PostgresError as exc:
                            await dead_letter(event, f"rejected by the database: {exc}")
                for event in cast(list[EventT[bytes]], events):
                    await stream.ack(event)
        finally:
            await store.close()

    idle = IdleStreams(settings.database_url, settings.stream_idle_seconds)

    async def send_samples(messages: Sequence[tuple[bytes, bytes]]) -> None:
        sent = [await samples.send(key=key, value=value) for key, value in messages]
        await asyncio.gather(*sent)

    async def close_idle_streams() -> None:
        try:
            await idle.close_idle(send_samples)
        except (OSError, TimeoutError, asyncpg.PostgresError, KafkaError) as exc:
            # The next tick tries again; nothing was marked closed (see streams.idle).
            log.warning(
                "closing idle streams failed, retrying in %g s: %s",
                settings.stream_idle_check_seconds,
                exc,
            )

    # faust types its decorator's result as a bare Callable: registered by a call.
    app.timer(settings.stream_idle_check_seconds, on_leader=True, name="idle-streams")(
        close_idle_streams
    )
    return app


def split_results(
    decoded: list[tuple[EventT[bytes], dict[str, Any]]], windows_topic: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decoded results as (window results, summaries)."""
    windows = [record for event, record in decoded if event.message.topic == windows_topic]
    summaries = [record for event, record in decoded if event.message.topic != windows_topic]
    return windows, summaries
