"""The Faust application: its clients, topics, the per-ECG state table, two agents and
a timer, built from ``Settings`` by ``create_app``.

- ``windows`` reads sample chunks in batches, keeps each ECG's state (``streams.chunks``)
  live in memory and writes it to a changelogged table at checkpoints
  (``streams.windows``, ``streams.checkpoints``), and emits window results with the
  rhythm events they carry (``ecg.events.v1``); after a chunk that closed a window, the
  summary so far (``final`` false); after the final chunk, the final summary.
- ``sink`` reads both result topics and writes them to PostgreSQL in batches, the
  rhythm events from the window results that carry them (``streams.sink``).
- ``idle-streams``, on the group's leader, closes device streams silent for longer
  than ``stream_idle_seconds`` (``streams.idle``).
- ``streams.reanalysis``, in a consumer group of its own, analyses an ECG again from
  its stored samples when the gateway asks (``ecg.analysis-requests.v1``) and replaces
  its results in one transaction.
- an HTTP server (``streams.web``) answers ``/livez``, ``/readyz`` and ``/metrics``
  (``streams.metrics``) from the worker's start to its end.

Delivery is at least once: a chunk's offset is committed only once Kafka has its
results and a checkpoint of its ECG's state covers it; a chunk seen again is recognised
by its sequence number, and the sink's upserts make a repeated result harmless. What cannot be
processed goes to the dead-letter topic with the reason, and is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

import faust
from faust.tables.table import Table
from faust.types import StreamT, TopicT

from schemas import topics
from schemas.log_format import faust_logging_config
from streams.archive import ArchiveMetrics, SampleArchive
from streams.clients import Clients
from streams.dead_letters import send_dead_letter
from streams.health import Probes
from streams.metrics import WorkerCollector, WorkerMetrics, partition_offsets
from streams.reanalysis import Reanalyser
from streams.settings import Settings
from streams.sink import sink_results
from streams.transport import Transport
from streams.web import WebServer, create_web_app
from streams.windows import Checkpointer, LiveAnalysers

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
        # aiokafka keeps one batch per partition and waits for it to be sent before it
        # starts the next: with the default 16 KiB, every ~13 KiB checkpoint of a 12-lead
        # ECG was a request of its own, one at a time per partition.
        producer_max_batch_size=settings.producer_batch_bytes,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.session_timeout_seconds / 4,
        web_enabled=False,
        # On a rebalance and at the stop, Faust waits until every event taken is
        # acknowledged; the checkpointer then writes every live state (streams.windows).
        stream_wait_empty=True,
        # A topic's events wait for its agent in one queue, whatever their partition.
        # When it holds 4/5 of this, Faust stops fetching the partition whose event
        # crossed the mark, and fetches it again once the queue is down to 2/5: with
        # Faust's 4,096, a worker a few seconds behind (every window of 1,000 devices
        # closing in the same second) kept pausing the partition with the most records
        # in flight, which fell 2.5-3 s behind the others. 16,384 chunks (~13 s of
        # 1,000 devices, ~200 MB at 12 KB) let such a burst queue in arrival order.
        stream_buffer_maxsize=settings.stream_buffer_events,
        # JSON lines, as the gateway's; those about a message carry its request id.
        logging_config=faust_logging_config(),
    )
    # Before the topics below, which reach the transport through the conductor.
    app.transport = Transport(app.conf.broker_consumer, app)
    metrics = WorkerMetrics()
    probes = Probes(
        settings.kafka_bootstrap, settings.database_url, timeout=settings.readiness_timeout_seconds
    )
    # Dependencies start in this order, before the consumer and the agents, and stop in
    # the reverse order, after them: the HTTP endpoints first, then the clients.
    web = create_web_app(lambda: probes.checks(app), metrics.registry, close=probes.close)
    app.add_dependency(WebServer(web, settings.web_host, settings.web_port))
    clients = Clients(settings)
    app.add_dependency(clients)
    # Every sample chunk into PostgreSQL, in a consumer group of its own: batches of up to
    # a second, each after the analysis has caught up (at most 5 s: under overload the
    # archive lags, the samples waiting in Kafka, rather than the results).
    archive = SampleArchive(
        settings.kafka_bootstrap,
        settings.topic(topics.SAMPLES),
        f"{settings.app_id}-archive",
        settings.database_url,
        ArchiveMetrics(metrics.registry),
        batch_size=4 * settings.sink_batch_size,
        batch_seconds=1.0,
    )
    if settings.sample_archive:
        app.add_dependency(archive)

    name = settings.topic
    samples = app.topic(name(topics.SAMPLES), **RAW)
    windows_out = app.topic(name(topics.WINDOWS), **RAW)
    summaries_out = app.topic(name(topics.SUMMARIES), **RAW)
    events_out = app.topic(name(topics.EVENTS), **RAW)
    results = app.topic(name(topics.WINDOWS), name(topics.SUMMARIES), **RAW)
    dead_letter = partial(send_dead_letter, app.topic(name(topics.DEAD_LETTERS), **RAW), metrics)
    states = cast(
        "Table[bytes, bytes]",
        app.Table("ecg-stream-state", default=None, key_type=bytes, value_type=bytes),
    )
    # Tables take no serializer arguments and would JSON-encode bytes: the state is
    # already compact bytes, so its changelog carries it raw.
    states.key_serializer = states.value_serializer = "raw"

    analysers = LiveAnalysers(
        app,
        states,
        windows_out,
        summaries_out,
        dead_letter,
        lambda: clients.reader,
        lambda ids: clients.ecgs.known(ids),
        settings,
        metrics,
        events=events_out,
    )
    app.add_dependency(Checkpointer(analysers, interval=0.5))
    archive.turn = partial(analysers.backlog.caught_up, 5.0)
    reanalyser = Reanalyser(
        settings.kafka_bootstrap,
        name(topics.ANALYSIS_REQUESTS),
        f"{settings.app_id}-reanalysis",
        settings.database_url,
        (name(topics.WINDOWS), name(topics.SUMMARIES), name(topics.EVENTS)),
        settings.window_samples,
    )
    reanalyser.turn = partial(analysers.backlog.caught_up, 5.0)
    outputs = {
        name(topics.WINDOWS): windows_out,
        name(topics.SUMMARIES): summaries_out,
        name(topics.EVENTS): events_out,
    }

    async def publish(messages: Sequence[tuple[str, bytes, bytes]]) -> None:
        sent = [await outputs[topic].send(key=key, value=value) for topic, key, value in messages]
        await asyncio.gather(*sent)

    reanalyser.publish = publish
    app.add_dependency(reanalyser)
    sources = {name(topics.SAMPLES), name(topics.WINDOWS), name(topics.SUMMARIES)}
    metrics.registry.register(
        WorkerCollector(
            offsets=lambda: partition_offsets(app, sources),
            state_bytes=lambda: sum(map(len, states.data.values())),
            live_ecgs=lambda: len(analysers.checkpoints),
        )
    )

    @app.agent(samples, name="windows")
    async def windows(stream: StreamT[bytes]) -> None:
        await analysers.consume(stream)

    @app.agent(results, name="sink")
    async def sink(stream: StreamT[bytes]) -> None:
        await sink_results(
            stream,
            clients.store,
            dead_letter,
            windows_topic=name(topics.WINDOWS),
            batch_size=settings.sink_batch_size,
            batch_seconds=settings.sink_batch_seconds,
            metrics=metrics,
            # The window results first: while the windows agent is behind, each batch
            # waits for it to catch up, at most a second.
            turn=partial(analysers.backlog.caught_up, 1.0),
        )

    async def close_idle_streams() -> None:
        await clients.idle.tick(partial(send_all, samples))

    # faust types its decorator's result as a bare Callable: registered by a call.
    app.timer(settings.stream_idle_check_seconds, on_leader=True, name="idle-streams")(
        close_idle_streams
    )
    return app


async def send_all(topic: TopicT, messages: Sequence[tuple[bytes, bytes]]) -> None:
    """Send ``(key, value)`` messages to ``topic`` and wait until Kafka has them all."""
    sent = [await topic.send(key=key, value=value) for key, value in messages]
    await asyncio.gather(*sent)
