"""The Faust application: topics, the per-ECG state table, and two agents.

- ``windows`` reads sample chunks, keeps each ECG's bounded analysis state in a
  changelogged table, and emits window results and, after the final chunk, the
  ECG summary.
- ``sink`` reads both result topics and writes them to PostgreSQL in batches.

Delivery is at least once: a chunk seen again is recognised by its sequence
number, and the sink's upserts make a repeated result harmless. What cannot be
processed goes to the dead-letter topic with the reason, and is acknowledged.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import asyncpg
import faust
from faust.tables.table import Table
from faust.types import EventT, StreamT

from schemas import topics
from schemas.codec import DecodeError, Schema, decode, encode
from streams.chunks import InvalidChunkError, StreamState, apply_chunk
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
        web_enabled=False,
    )
    samples = app.topic(topics.SAMPLES, **RAW)
    windows_out = app.topic(topics.WINDOWS, **RAW)
    summaries_out = app.topic(topics.SUMMARIES, **RAW)
    dead_letters = app.topic(topics.DEAD_LETTERS, **RAW)
    results = app.topic(topics.WINDOWS, topics.SUMMARIES, **RAW)
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
        await dead_letters.send(key=message.key, value=encode(Schema.DEAD_LETTER, record))

    @app.agent(samples, name="windows")
    async def windows(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                chunk = decode(Schema.SAMPLE_CHUNK, event.value)
                key = str(chunk["ecg_id"]).encode()
                raw = state.get(key)
                outcome = apply_chunk(
                    StreamState.from_bytes(raw) if raw else None, chunk, settings.window_samples
                )
            except (DecodeError, InvalidChunkError) as exc:
                await dead_letter(event, str(exc))
                continue
            if outcome.duplicate:
                continue
            for window in outcome.windows:
                await windows_out.send(key=key, value=encode(Schema.WINDOW_RESULT, window))
            if outcome.summary is not None:
                await summaries_out.send(key=key, value=encode(Schema.ECG_SUMMARY, outcome.summary))
            state[key] = outcome.state.to_bytes()

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
                            (event, decode(SINK_SCHEMAS[event.message.topic], event.value))
                        )
                    except DecodeError as exc:
                        await dead_letter(event, str(exc))
                try:
                    await store.write(*split_results(decoded))
                except asyncpg.PostgresError:
                    # One bad record must not block the rest: store one by one.
                    for event, record in decoded:
                        try:
                            await store.write(*split_results([(event, record)]))
                        except asyncpg.PostgresError as exc:
                            await dead_letter(event, f"rejected by the database: {exc}")
                for event in cast(list[EventT[bytes]], events):
                    await stream.ack(event)
        finally:
            await store.close()

    return app


SINK_SCHEMAS = {topics.WINDOWS: Schema.WINDOW_RESULT, topics.SUMMARIES: Schema.ECG_SUMMARY}


def split_results(
    decoded: list[tuple[EventT[bytes], dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decoded results as (window results, summaries)."""
    windows = [record for event, record in decoded if event.message.topic == topics.WINDOWS]
    summaries = [record for event, record in decoded if event.message.topic != topics.WINDOWS]
    return windows, summaries
