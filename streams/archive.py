"""The sample archive: every sample chunk of ``ecg.samples.v1`` into PostgreSQL
(``ecg_samples``, migration 0010), so that an ECG's signal outlives the topic's
retention; the gateway reads it back (``GET /api/v1/ecg/{id}/signal``).

A consumer group of its own (``<app id>-archive``), beside the Faust app's, in each
worker process: the analysis and the archive keep their own offsets, so neither waits
for the other, and the group spreads the partitions over the workers as Faust's does.
Batches of what arrived (at most ``batch_size`` messages, ``batch_seconds``) are decoded,
packed (``schemas.sample_archive``: the chunk's samples as they travelled, in one zstd
frame) and inserted in one transaction, ``ON CONFLICT DO NOTHING`` on the chunk's key
(ECG id, seq): a chunk is stored once whatever Kafka redelivers. Offsets are committed
only after the batch is stored; while PostgreSQL is away the batch is retried with
capped backoff (``streams.outages`` logs it once) and nothing more is fetched.

A chunk that cannot be decoded, or whose ECG the database does not know, is skipped
here: the windows agent dead-letters it with its reason (``streams.windows``). The end
of a stream (a chunk without samples) has nothing to keep.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import asyncpg
import faust
import numpy as np
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import ConsumerStoppedError
from prometheus_client import Counter, Histogram

from schemas.codec import DecodeError, Schema, decode
from schemas.sample_archive import DTYPES, pack
from streams.groups import GroupService
from streams.outages import Outage, until_stored

log = logging.getLogger(__name__)

INSERT: Final = """
INSERT INTO ecg_samples
    (ecg_id, seq, start_sample, sample_width, lead_samples, samples, lead_min, lead_max)
SELECT c.ecg_id, c.seq, c.start_sample, c.sample_width, c.lead_samples::int[], c.samples,
       c.lead_min::int[], c.lead_max::int[]
FROM unnest(
    $1::uuid[], $2::bigint[], $3::bigint[], $4::smallint[], $5::text[], $6::bytea[],
    $7::text[], $8::text[]
) AS c (ecg_id, seq, start_sample, sample_width, lead_samples, samples, lead_min, lead_max)
ON CONFLICT (ecg_id, seq) DO NOTHING
"""


@dataclass(frozen=True)
class StoredChunk:
    ecg_id: uuid.UUID
    seq: int
    start_sample: int
    sample_width: int
    lead_samples: list[int]
    samples: bytes
    # Each lead's smallest and largest sample (None: no sample of it in the chunk).
    lead_min: list[int | None]
    lead_max: list[int | None]


def stored_chunk(value: bytes) -> StoredChunk | None:
    """The row of one ``SampleChunk`` message; None for one without samples (a stream's
    end); ``DecodeError`` for one that is not a valid chunk."""
    record = decode(Schema.SAMPLE_CHUNK, value)
    if not any(record["samples"]):
        return None
    width = record["sample_width"]
    lead_samples, frame = pack(width, record["samples"])
    leads = [np.frombuffer(lead, dtype=DTYPES[width]) for lead in record["samples"]]
    return StoredChunk(
        ecg_id=uuid.UUID(str(record["ecg_id"])),
        seq=record["seq"],
        start_sample=record["start_sample"],
        sample_width=width,
        lead_samples=lead_samples,
        samples=frame,
        lead_min=[int(lead.min()) if lead.size else None for lead in leads],
        lead_max=[int(lead.max()) if lead.size else None for lead in leads],
    )


def array_text(values: Sequence[int | None]) -> str:
    """A PostgreSQL integer array literal: ``{1,NULL,-3}``."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


class ArchiveMetrics:
    def __init__(self, registry: Any) -> None:
        self.chunks = Counter(
            "ecg_worker_archived_chunks",
            "Sample chunks stored in PostgreSQL (redelivered ones included)",
            registry=registry,
        )
        self.bytes = Counter(
            "ecg_worker_archived_bytes",
            "Compressed bytes of the sample chunks stored",
            registry=registry,
        )
        self.skipped = Counter(
            "ecg_worker_archive_skipped",
            "Sample chunks not stored: undecodable, or of an ECG the database does not know",
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "ecg_worker_archive_batch_seconds",
            "Time to pack and store one batch of sample chunks, retries included",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )


class SampleArchive(GroupService):
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        database_url: str,
        metrics: ArchiveMetrics,
        *,
        batch_size: int = 500,
        batch_seconds: float = 0.2,
        max_backoff: float = 5.0,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(
            bootstrap,
            topic,
            group_id,
            database_url,
            max_poll_records=batch_size,
            timeout=timeout,
        )
        self._metrics = metrics
        self._batch_size = batch_size
        self._batch_ms = int(batch_seconds * 1000)
        self._max_backoff = max_backoff
        # Awaited before each batch: the analysis of the same process goes first (the
        # samples wait in Kafka meanwhile); set by the app once its agents exist.
        self.turn: Callable[[], Awaitable[None]] | None = None
        self._outage = Outage("storing samples in PostgreSQL", log)

    @faust.Service.task
    async def _archive(self) -> None:
        while not self.should_stop:
            consumer = self._consumer
            if consumer is None:
                await self.sleep(0.1)
                continue
            if self.turn is not None:
                await self.turn()
            try:
                records = await self._batch(consumer)
            except ConsumerStoppedError:
                return  # the worker stops
            if not records:
                continue
            started = time.perf_counter()
            await self.store([record.value for record in records if record.value is not None])
            self._metrics.batch_seconds.observe(time.perf_counter() - started)
            await consumer.commit()

    async def _batch(self, consumer: AIOKafkaConsumer) -> list[Any]:
        """What arrives within ``batch_seconds``, up to ``batch_size`` messages: one
        insert for many chunks rather than one for the few a fetch brings."""
        records: list[Any] = []
        deadline = time.monotonic() + self._batch_ms / 1000
        while len(records) < self._batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            batches = await consumer.getmany(
                timeout_ms=max(1, int(left * 1000)),
                max_records=self._batch_size - len(records),
            )
            records += [record for part in batches.values() for record in part]
        return records

    async def store(self, values: Sequence[bytes]) -> None:
        """Pack and store ``values`` (messages of the samples topic), retrying until they
        are stored; chunks that cannot be stored are skipped (see the module)."""
        chunks: list[StoredChunk] = []
        for value in values:
            try:
                chunk = stored_chunk(value)
            except DecodeError:
                self._metrics.skipped.inc()
                continue
            if chunk is not None:
                chunks.append(chunk)
        if chunks:
            await until_stored(
                partial(self._insert, chunks),
                self._outage,
                self.reset,
                max_backoff=self._max_backoff,
            )

    async def _insert(self, chunks: Sequence[StoredChunk]) -> None:
        try:
            await self._insert_all(chunks)
        except asyncpg.ForeignKeyViolationError:
            # An ECG the database does not know: the others, one at a time.
            for chunk in chunks:
                try:
                    await self._insert_all([chunk])
                except asyncpg.ForeignKeyViolationError:
                    self._metrics.skipped.inc()

    async def _insert_all(self, chunks: Sequence[StoredChunk]) -> None:
        pool = await self.pool()
        async with pool.acquire(timeout=self._timeout) as connection:
            await connection.execute(
                INSERT,
                [c.ecg_id for c in chunks],
                [c.seq for c in chunks],
                [c.start_sample for c in chunks],
                [c.sample_width for c in chunks],
                [array_text(c.lead_samples) for c in chunks],
                [c.samples for c in chunks],
                [array_text(c.lead_min) for c in chunks],
                [array_text(c.lead_max) for c in chunks],
            )
        self._metrics.chunks.inc(len(chunks))
        self._metrics.bytes.inc(sum(len(c.samples) for c in chunks))
