"""The worker's metrics without a worker: the lag of a partition from its offsets, the
gauges read at a scrape, and the counters the agents update."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streams.metrics import (
    DeadLetterKind,
    PartitionOffsets,
    WorkerCollector,
    WorkerMetrics,
    consumer_lag,
)


def offsets(
    end: int | None, committed: int | None = None, read: int | None = None
) -> PartitionOffsets:
    return PartitionOffsets("ecg.samples.v1", 3, end, committed, read)


@pytest.mark.parametrize(
    ("partition", "lag"),
    [
        (offsets(120, committed=100, read=119), 20),  # committed: what a restart reads again
        (offsets(120, committed=120, read=119), 0),
        (offsets(120, read=109), 10),  # nothing committed yet: after the last record read
        (offsets(120), 120),  # nothing committed or read: from the start
        (offsets(100, committed=120), 0),  # an end offset older than the commit
        (offsets(None, committed=100), None),  # no fetch yet: unknown
    ],
)
def test_the_lag_of_a_partition(partition: PartitionOffsets, lag: int | None) -> None:
    assert consumer_lag(partition) == lag


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_the_collector_reads_lags_and_state_at_the_scrape() -> None:
    registry = CollectorRegistry()
    partitions = [offsets(120, committed=100), offsets(None)]
    held = {"bytes": 1000}
    registry.register(
        WorkerCollector(lambda: partitions, lambda: held["bytes"], live_ecgs=lambda: 2)
    )
    text = scrape(registry)
    assert 'ecg_worker_consumer_lag{partition="3",topic="ecg.samples.v1"} 20.0' in text
    assert text.count("ecg_worker_consumer_lag{") == 1  # the unknown one is left out
    assert "ecg_worker_state_bytes 1000.0" in text
    assert "ecg_worker_live_ecgs 2.0" in text
    partitions[0] = offsets(150, committed=150)
    held["bytes"] = 1500
    text = scrape(registry)
    assert 'ecg_worker_consumer_lag{partition="3",topic="ecg.samples.v1"} 0.0' in text
    assert "ecg_worker_state_bytes 1500.0" in text


def test_every_labelled_series_exists_from_the_start() -> None:
    text = scrape(WorkerMetrics().registry)
    for reason in DeadLetterKind:
        assert f'ecg_worker_dead_letters_total{{kind="{reason.value}"}} 0.0' in text
    for kind in ("provisional", "final"):
        assert f'ecg_worker_summaries_emitted_total{{kind="{kind}"}} 0.0' in text
    assert "process_cpu_seconds_total" in text


def test_chunks_analysed_together_share_the_time() -> None:
    metrics = WorkerMetrics()
    metrics.chunks_analysed(0.004, 4)
    metrics.chunks_analysed(0.0002, 1)
    text = scrape(metrics.registry)
    assert "ecg_worker_chunk_processing_seconds_count 5.0" in text
    assert 'ecg_worker_chunk_processing_seconds_bucket{le="0.00025"} 1.0' in text
    assert 'ecg_worker_chunk_processing_seconds_bucket{le="0.001"} 5.0' in text


def test_summaries_and_dead_letters_are_counted_by_kind() -> None:
    metrics = WorkerMetrics()
    metrics.summary_emitted(final=False)
    metrics.summary_emitted(final=False)
    metrics.summary_emitted(final=True)
    metrics.dead_letter(DeadLetterKind.UNKNOWN_ECG)
    text = scrape(metrics.registry)
    assert 'ecg_worker_summaries_emitted_total{kind="provisional"} 2.0' in text
    assert 'ecg_worker_summaries_emitted_total{kind="final"} 1.0' in text
    assert 'ecg_worker_dead_letters_total{kind="unknown_ecg"} 1.0' in text


def test_two_workers_in_one_process_have_registries_of_their_own() -> None:
    first, second = WorkerMetrics(), WorkerMetrics()
    first.chunks.inc(3)
    assert "ecg_worker_chunks_total 0.0" in scrape(second.registry)
