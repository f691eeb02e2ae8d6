"""The stream worker's Prometheus metrics (``ecg_worker_*``), in a registry of the
worker's own, served at ``/metrics`` (``streams.web``).

Counters and histograms are updated once per chunk or per batch, never per sample.
What Faust and the table already know (offsets, the table's bytes) is read when
Prometheus scrapes (``WorkerCollector``) rather than tracked on the hot path. Labels
take a small fixed set of values: a topic and partition, a kind from a fixed list;
never an ECG id, an email or a token.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from faust.exceptions import ConsumerNotStarted
from faust.types import AppT
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric

# Per chunk, the analysis of a 12-lead chunk takes about a millisecond.
CHUNK_SECONDS_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
# A batch of 500 results takes ~0.1 s; a database outage holds a batch for as long as it lasts.
SINK_SECONDS_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)  # fmt: skip


class DeadLetterKind(StrEnum):
    """Why a message went to the dead letters, in a word: the label values of
    ``ecg_worker_dead_letters`` (the record itself carries the full reason)."""

    UNDECODABLE = "undecodable"  # the Avro record cannot be read
    INVALID_CHUNK = "invalid_chunk"  # a chunk that cannot be applied to its ECG's state
    CHUNK_GAP = "chunk_gap"  # earlier chunks of its ECG are missing, in Kafka too
    UNKNOWN_ECG = "unknown_ecg"  # PostgreSQL has no such ECG
    REJECTED_BY_DATABASE = "rejected_by_database"  # a result PostgreSQL refuses


@dataclass(frozen=True)
class PartitionOffsets:
    """One assigned partition as the consumer knows it: ``end`` the offset the next
    record will get (None before the first fetch), ``committed`` the group's committed
    offset, ``read`` the offset of the last record read (None when unknown)."""

    topic: str
    partition: int
    end: int | None
    committed: int | None
    read: int | None


def partition_offsets(app: AppT, topics: Collection[str]) -> list[PartitionOffsets]:
    """The offsets of this worker's partitions of ``topics`` (the agents' sources)."""
    consumer = app.consumer
    try:
        assigned = consumer.assignment()
    except ConsumerNotStarted:
        return []
    # Faust's consumer keeps both per partition, with no public accessor (its monitor
    # learns a committed offset only at this worker's own commits).
    committed: dict[Any, int | None] = getattr(consumer, "_committed_offset", {})
    read: dict[Any, int | None] = getattr(consumer, "_read_offset", {})
    return [
        PartitionOffsets(
            tp.topic, tp.partition, consumer.highwater(tp), committed.get(tp), read.get(tp)
        )
        for tp in sorted(assigned)
        if tp.topic in topics
    ]


def consumer_lag(offsets: PartitionOffsets) -> int | None:
    """Records of the partition after the group's committed offset: what a restarted
    worker would read again. Before the group's first commit on the partition, those
    after the last record read (the consumer reads from the earliest). None when the
    end offset is not known yet."""
    if offsets.end is None:
        return None
    if offsets.committed is not None:
        done = offsets.committed
    elif offsets.read is not None:
        done = offsets.read + 1
    else:
        done = 0
    return max(0, offsets.end - done)


class WorkerCollector:
    """Gauges read when Prometheus scrapes: the consumer lag of each assigned partition
    (``offsets``), the bytes of the ECG states in this worker's table (``state_bytes``)
    and the ECGs whose state is live in memory (``live_ecgs``)."""

    def __init__(
        self,
        offsets: Callable[[], Iterable[PartitionOffsets]],
        state_bytes: Callable[[], int],
        live_ecgs: Callable[[], int],
    ) -> None:
        self._offsets = offsets
        self._state_bytes = state_bytes
        self._live_ecgs = live_ecgs

    def collect(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "ecg_worker_consumer_lag",
            "Records of an assigned partition after the group's committed offset",
            labels=["topic", "partition"],
        )
        for offsets in self._offsets():
            value = consumer_lag(offsets)
            if value is not None:
                lag.add_metric([offsets.topic, str(offsets.partition)], value)
        yield lag
        yield GaugeMetricFamily(
            "ecg_worker_state_bytes",
            "Bytes of the ECG analysis states in this worker's table (its partitions)",
            value=self._state_bytes(),
        )
        yield GaugeMetricFamily(
            "ecg_worker_live_ecgs",
            "ECGs whose analysis state this worker holds live in memory",
            value=self._live_ecgs(),
        )


class WorkerMetrics:
    """The counters and histograms the agents update, with the process's own metrics
    (CPU, memory, file descriptors, garbage collection), in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry = CollectorRegistry() if registry is None else registry
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.chunks = Counter(
            "ecg_worker_chunks",
            "Sample chunks the windows agent took (redelivered ones included)",
            registry=registry,
        )
        self.samples = Counter(
            "ecg_worker_samples",
            "Samples (every lead's) in the chunks the windows agent decoded",
            registry=registry,
        )
        self.chunk_seconds = Histogram(
            "ecg_worker_chunk_processing_seconds",
            "Time to analyse a chunk and hand its results to the producer",
            buckets=CHUNK_SECONDS_BUCKETS,
            registry=registry,
        )
        self.windows = Counter(
            "ecg_worker_windows_emitted", "Window results sent to Kafka", registry=registry
        )
        self.summaries = Counter(
            "ecg_worker_summaries_emitted",
            "Summaries sent to Kafka, provisional (a window closed) or final (the ECG ended)",
            ["kind"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "ecg_worker_dead_letters",
            "Messages sent to the dead-letter topic, by kind of reason",
            ["kind"],
            registry=registry,
        )
        self.sink_batch_seconds = Histogram(
            "ecg_worker_sink_batch_seconds",
            "Time to write one batch of results to PostgreSQL, retries included",
            buckets=SINK_SECONDS_BUCKETS,
            registry=registry,
        )
        self.sink_results = Counter(
            "ecg_worker_sink_results",
            "Results (windows and summaries) the sink took to write",
            registry=registry,
        )
        # Every series from the start, at 0: a rate over a series that appears with its
        # first increment misses that increment.
        for kind in ("provisional", "final"):
            self.summaries.labels(kind)
        for kind in DeadLetterKind:
            self.dead_letters.labels(kind.value)

    def chunks_analysed(self, seconds: float, count: int) -> None:
        """``count`` chunks were analysed together in ``seconds``: each took its share."""
        share = seconds / count
        for _ in range(count):
            self.chunk_seconds.observe(share)

    def summary_emitted(self, *, final: bool) -> None:
        self.summaries.labels("final" if final else "provisional").inc()

    def dead_letter(self, kind: DeadLetterKind) -> None:
        self.dead_letters.labels(kind.value).inc()
