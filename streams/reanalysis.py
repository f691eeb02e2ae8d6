"""Re-analysis: an ECG analysed again from the samples the archive stored
(``ecg_samples``, ``streams.archive``), e.g. after a detector upgrade, its results
replacing the old ones in one transaction.

The gateway records a request (``ecg_analyses``: the ECG, the next revision, who asked)
and then publishes it on ``ecg.analysis-requests.v1``. Here, in a consumer group of its
own (``<app id>-reanalysis``, beside the archive's: a long re-analysis never holds up a
rebalance of the live analysis), each request is handled in one PostgreSQL transaction:

1. the ECG and its leads are read, with its final summary, which says how many samples
   each lead has; a request already done, superseded by a later revision, or whose row
   is missing (the gateway could not publish it and took it back) is skipped;
2. the archive must hold them all, from seq 0 without a gap. Right after an ECG ends it
   may lag (it gives way to the live analysis, at most 5 s), so an archive that falls
   short is asked again every second for ``archive_wait`` seconds before the analysis
   is marked failed with what is missing (e.g. an ECG stored before the archive
   existed, or with ``ECG_SAMPLE_ARCHIVE=off``);
3. the stored chunks are read a page at a time, in seq order, and replayed through the
   live path's own functions (``streams.chunks``: the same chunks, so the same windows,
   beats and summary, bit for bit, when the analyser is the same), then the stream's
   end; between pages the live analysis goes first (``turn``);
4. the ECG's windows (with their beats and beat classes) and rhythm events are deleted
   and the new ones inserted, its summary replaced and the request marked done with the
   analyser's version, in the same transaction: a reader sees the old results or the
   new ones, never a mix. Every result carries the revision; the sink never lets a
   result of a lower revision (a late redelivery of the first analysis) overwrite one
   of a higher (``streams.sink``);
5. once committed, the new results are published on the result topics (each window
   followed by its rhythm events on ``ecg.events.v1``), for the services that
   subscribe to them, and the request's offset is committed. A worker
   that dies before that handles the request again: the analysis is deterministic, so
   the results, stored and published, are the same.

Memory stays bounded by a page of chunks and the encoded results (a 24-hour 12-lead
ECG's 8,640 windows are ~15 MB of Avro); the ECG's samples are never all in memory.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Union

import asyncpg
import faust
from aiokafka.errors import ConsumerStoppedError
from asyncpg.pool import PoolConnectionProxy

from schemas.codec import DecodeError, Schema, decode, encode
from schemas.sample_archive import DTYPES, unpack
from streams.analysis.version import ANALYSER_VERSION
from streams.chunks import InvalidChunkError, StreamState, apply_chunk, apply_run
from streams.groups import GroupService
from streams.outages import DATABASE_DOWN, Outage, until_stored
from streams.records import event_records
from streams.sink import (
    UPSERT_EVENTS,
    beat_classes,
    event_rows,
    latest_events,
    to_json,
    window_json,
)

log = logging.getLogger(__name__)

PAGE: Final = 200  # stored chunks read and replayed at a time
ARCHIVE_POLL: Final = 1.0  # seconds between two looks at an archive that falls short

# A pooled connection, or one of its own.
Connection = Union["asyncpg.Connection[Any]", "PoolConnectionProxy[Any]"]

# Encoded results to publish once the transaction commits: (topic, key, value).
Publish = Callable[[Sequence[tuple[str, bytes, bytes]]], Awaitable[None]]


class AnalysisFailedError(Exception):
    """The ECG cannot be analysed again; the reason is stored on the request's row."""


@dataclass(frozen=True)
class Request:
    ecg_id: uuid.UUID
    revision: int


@dataclass(frozen=True)
class EcgHead:
    """What every chunk of an ECG shares: what the live path reads from its chunks."""

    ecg_id: uuid.UUID
    date: datetime
    sampling_rate: float | None
    leads: list[dict[str, Any]]  # name, gain, baseline: as in a SampleChunk
    samples: list[int]  # per lead, as the final summary counted them


@dataclass
class Replay:
    """The stored chunks of one ECG fed, in order, through ``streams.chunks``."""

    head: EcgHead
    window_samples: Callable[[float | None], int]
    revision: int
    state: StreamState | None = None
    received: list[int] = field(default_factory=list)

    def chunk(self, seq: int, start: int, width: int, leads: Sequence[bytes]) -> dict[str, Any]:
        head = self.head
        return {
            "ecg_id": head.ecg_id,
            "seq": seq,
            "start_sample": start,
            "date": head.date,
            "sampling_rate": head.sampling_rate,
            "leads": head.leads,
            "sample_width": width,
            "samples": list(leads),
            "final": False,
        }

    def feed(self, chunks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The windows that ``chunks`` (the next ones, in seq order) close: as one run
        of the analyser when they are plainly consecutive (``apply_run``), else one at a
        time, as the live path does."""
        if not self.received:
            self.received = [0] * len(self.head.leads)
        for chunk in chunks:
            for lead, data in enumerate(chunk["samples"]):
                self.received[lead] += len(data) // chunk["sample_width"]
        rest = list(chunks)
        windows: list[dict[str, Any]] = []
        if self.state is None and rest:
            windows += self._apply(rest.pop(0))
        run = apply_run(self.state, list(enumerate(rest)), provisional=False)
        if run is not None:
            self.state = run.state
            windows += run.windows
        else:
            for chunk in rest:
                windows += self._apply(chunk)
        return [self._revised(window) for window in windows]

    def _apply(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        outcome = apply_chunk(self.state, chunk, self.window_samples, provisional=False)
        self.state = outcome.state
        return outcome.windows

    def finish(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The last windows and the final summary, after the stream's end (a chunk
        without samples, as a device ends its stream)."""
        seq = 0 if self.state is None else self.state.next_seq
        start = 0 if not self.received else max(self.received)
        end = self.chunk(seq, start, 2, [b""] * len(self.head.leads)) | {"final": True}
        outcome = apply_chunk(self.state, end, self.window_samples, provisional=False)
        assert outcome.summary is not None
        windows = [self._revised(window) for window in outcome.windows]
        return windows, self._revised(outcome.summary)

    def _revised(self, result: dict[str, Any]) -> dict[str, Any]:
        return result | {"analyser_version": ANALYSER_VERSION, "revision": self.revision}


class AnalysisStore:
    """The transaction of one re-analysis (see the module)."""

    def __init__(self, connection: Connection, archive_wait: float) -> None:
        self._connection = connection
        self._archive_wait = archive_wait

    async def head(self, request: Request) -> EcgHead | None:
        """The ECG, if its request is still to do (its row locked until the end)."""
        connection = self._connection
        row = await connection.fetchrow(
            """
            SELECT a.finished_at, a.error, e.date, e.sampling_rate, s.result, s.final,
                   s.revision
            FROM ecg_analyses a JOIN ecgs e ON e.id = a.ecg_id
                 LEFT JOIN ecg_summaries s ON s.ecg_id = a.ecg_id
            WHERE a.ecg_id = $1 AND a.revision = $2
            FOR UPDATE OF a
            """,
            request.ecg_id,
            request.revision,
        )
        if row is None or row["finished_at"] is not None or row["error"] is not None:
            return None
        if row["revision"] is not None and row["revision"] >= request.revision:
            return None
        if not row["final"]:
            raise AnalysisFailedError("the ECG has no final summary: it was never analysed whole")
        leads = await connection.fetch(
            "SELECT name, gain, baseline FROM ecg_leads WHERE ecg_id = $1 ORDER BY position",
            request.ecg_id,
        )
        summary = json.loads(row["result"])
        counted = [int(lead["number_of_samples"]) for lead in summary["leads"]]
        if len(counted) != len(leads):
            raise AnalysisFailedError(
                f"the final summary has {len(counted)} leads, the ECG {len(leads)}"
            )
        date: datetime = row["date"]
        return EcgHead(
            ecg_id=request.ecg_id,
            # As the samples travelled: Avro's timestamp-millis.
            date=date.replace(microsecond=date.microsecond // 1000 * 1000),
            sampling_rate=row["sampling_rate"],
            leads=[dict(lead) for lead in leads],
            samples=counted,
        )

    async def wait_for_archive(self, head: EcgHead, sleep: Callable[[float], Any]) -> None:
        """Return once the archive holds every sample of the ECG from seq 0 without a
        gap; ``AnalysisFailedError`` if it still does not after ``archive_wait``."""
        waited = 0.0
        while True:
            missing = await self._missing(head)
            if missing is None:
                return
            if waited >= self._archive_wait:
                raise AnalysisFailedError(missing)
            await sleep(ARCHIVE_POLL)
            waited += ARCHIVE_POLL

    async def _missing(self, head: EcgHead) -> str | None:
        row = await self._connection.fetchrow(
            """
            SELECT count(*) AS chunks, coalesce(max(seq) + 1, 0) AS seqs,
                   (SELECT array_agg(total ORDER BY lead) FROM (
                        SELECT lead, sum(c.lead_samples[lead]) AS total
                        FROM ecg_samples c, generate_subscripts(c.lead_samples, 1) AS lead
                        WHERE c.ecg_id = $1 GROUP BY lead) AS per_lead) AS stored
            FROM ecg_samples WHERE ecg_id = $1
            """,
            head.ecg_id,
        )
        assert row is not None  # an aggregate
        stored = [int(total) for total in row["stored"] or ()]
        stored += [0] * (len(head.samples) - len(stored))
        if row["chunks"] != row["seqs"]:
            return (
                f"the sample archive holds {row['chunks']} of the ECG's first {row['seqs']} "
                "chunks: some samples were never stored"
            )
        if stored != head.samples:
            return (
                f"the sample archive holds {sum(stored):,} of the ECG's "
                f"{sum(head.samples):,} samples (per lead {stored} of {head.samples}): it was "
                "received before the archive kept samples, or with ECG_SAMPLE_ARCHIVE=off, "
                "and Kafka no longer has them"
            )
        return None

    async def pages(self, replay: Replay) -> AsyncIterator[list[dict[str, Any]]]:
        """The ECG's stored chunks as SampleChunk records, ``PAGE`` at a time."""
        after = -1
        while True:
            rows = await self._connection.fetch(
                """
                SELECT seq, start_sample, sample_width, lead_samples, samples
                FROM ecg_samples WHERE ecg_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
                """,
                replay.head.ecg_id,
                after,
                PAGE,
            )
            if not rows:
                return
            after = rows[-1]["seq"]
            yield [
                replay.chunk(
                    row["seq"],
                    row["start_sample"],
                    row["sample_width"],
                    wire_samples(row["sample_width"], row["lead_samples"], row["samples"]),
                )
                for row in rows
            ]

    async def clear(self, request: Request) -> None:
        """The ECG's windows and rhythm events deleted, for the new ones (``insert``) in
        the same transaction."""
        await self._connection.execute("DELETE FROM ecg_windows WHERE ecg_id = $1", request.ecg_id)
        await self._connection.execute("DELETE FROM ecg_events WHERE ecg_id = $1", request.ecg_id)

    async def insert(self, request: Request, windows: Sequence[dict[str, Any]]) -> None:
        await self._connection.executemany(
            """
            INSERT INTO ecg_windows
                (ecg_id, index, start_sample, end_sample, result, beats, beat_classes,
                 revision)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6::bigint[], $7, $8)
            """,
            [
                (
                    request.ecg_id,
                    w["index"],
                    w["start_sample"],
                    w["end_sample"],
                    window_json(w),
                    [int(beat) for beat in w.get("beats") or ()],
                    beat_classes(w),
                    request.revision,
                )
                for w in windows
            ],
        )
        # An episode's end report (in a later window, or page) replaces its onset
        # report, as the sink does.
        events = latest_events([event for w in windows for event in event_records(w)])
        if events:
            await self._connection.execute(UPSERT_EVENTS, *event_rows(events))

    async def finish(self, request: Request, summary: dict[str, Any]) -> None:
        """The ECG's summary replaced by ``summary``; the request done, and any earlier
        one still open superseded."""
        connection, ecg_id = self._connection, request.ecg_id
        await connection.execute(
            """
            UPDATE ecg_summaries
            SET n_windows = $2, result = $3::jsonb, final = true, revision = $4,
                completed_at = now()
            WHERE ecg_id = $1
            """,
            ecg_id,
            summary["n_windows"],
            to_json(summary),
            request.revision,
        )
        await connection.execute(
            """
            UPDATE ecg_analyses SET finished_at = now(), analyser_version = $3
            WHERE ecg_id = $1 AND revision = $2
            """,
            ecg_id,
            request.revision,
            ANALYSER_VERSION,
        )
        await self.supersede(request)

    async def supersede(self, request: Request) -> None:
        await self._connection.execute(
            """
            UPDATE ecg_analyses SET error = 'superseded by revision ' || $2
            WHERE ecg_id = $1 AND revision < $2 AND finished_at IS NULL AND error IS NULL
            """,
            request.ecg_id,
            request.revision,
        )


def wire_samples(width: int, lead_samples: Sequence[int], frame: bytes) -> list[bytes]:
    """A stored chunk's samples as they travelled: each lead's bytes at ``width``."""
    dtype = DTYPES[width]
    return [lead.astype(dtype).tobytes() for lead in unpack(width, lead_samples, frame)]


async def record_failure(connection: Connection, request: Request, reason: str) -> None:
    await connection.execute(
        """
        UPDATE ecg_analyses SET error = $3
        WHERE ecg_id = $1 AND revision = $2 AND finished_at IS NULL
        """,
        request.ecg_id,
        request.revision,
        reason,
    )


class Reanalyser(GroupService):
    """The consumer of ``ecg.analysis-requests.v1``: one request at a time (see the
    module)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        database_url: str,
        result_topics: tuple[str, str, str],
        window_samples: Callable[[float | None], int],
        *,
        archive_wait: float = 30.0,
        max_backoff: float = 5.0,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(
            bootstrap,
            topic,
            group_id,
            database_url,
            max_poll_records=1,
            timeout=timeout,
        )
        # Window results, summaries, rhythm events.
        self._windows_topic, self._summaries_topic, self._events_topic = result_topics
        self._window_samples = window_samples
        self._archive_wait = archive_wait
        self._max_backoff = max_backoff
        self._outage = Outage("re-analysing an ECG from PostgreSQL", log)
        # Set by the app: awaited between pages (the live analysis goes first), and the
        # producer of the result topics.
        self.turn: Callable[[], Awaitable[None]] | None = None
        self.publish: Publish | None = None

    @faust.Service.task
    async def _consume(self) -> None:
        while not self.should_stop:
            consumer = self._consumer
            if consumer is None:
                await self.sleep(0.1)
                continue
            try:
                batches = await consumer.getmany(timeout_ms=1000, max_records=1)
            except ConsumerStoppedError:
                return  # the worker stops
            for records in batches.values():
                for record in records:
                    try:
                        await self.handle(record.value)
                    except Exception:
                        # A bug must not stop the live analysis of this worker: the
                        # request stays 'requested', and the user may ask again.
                        log.exception("an analysis request failed: %r", record.value)
            if batches:
                await consumer.commit()

    async def handle(self, value: bytes | None) -> None:
        try:
            message = decode(Schema.ANALYSIS_REQUEST, value or b"")
        except DecodeError as exc:
            log.warning("skipped an analysis request that cannot be decoded: %s", exc)
            return
        request = Request(message["ecg_id"], message["revision"])
        published: list[tuple[str, bytes, bytes]] = []

        async def attempt() -> None:
            published[:] = await self._analyse(request)

        await until_stored(attempt, self._outage, self.reset, max_backoff=self._max_backoff)
        if published and self.publish is not None:
            await self.publish(published)

    async def _analyse(self, request: Request) -> list[tuple[str, bytes, bytes]]:
        """Analyse the ECG again in one transaction; the results to publish."""
        pool = await self.pool()
        async with pool.acquire(timeout=self._timeout) as connection:
            store = AnalysisStore(connection, self._archive_wait)
            try:
                async with connection.transaction():
                    return await self._replace(store, request)
            except AnalysisFailedError as exc:
                reason = str(exc)
            except DATABASE_DOWN:
                raise  # until_stored tries again
            except Exception as exc:
                # Refused by the database, or a bug: a poison request must not stop the
                # worker's live analysis; the user sees the reason and may ask again.
                log.exception("the re-analysis of ECG %s failed", request.ecg_id)
                reason = f"the re-analysis failed: {type(exc).__name__}: {exc}"
            log.warning("ECG %s cannot be analysed again: %s", request.ecg_id, reason)
            await record_failure(connection, request, reason)
            return []

    async def _replace(
        self, store: AnalysisStore, request: Request
    ) -> list[tuple[str, bytes, bytes]]:
        head = await store.head(request)
        if head is None:
            return []
        await store.wait_for_archive(head, self.sleep)
        replay = Replay(head, self._window_samples, request.revision)
        key = str(request.ecg_id).encode()
        results: list[tuple[str, bytes, bytes]] = []

        n_windows = 0

        async def store_windows(windows: Sequence[dict[str, Any]]) -> None:
            nonlocal n_windows
            await store.insert(request, windows)
            n_windows += len(windows)
            for w in windows:
                results.append((self._windows_topic, key, encode(Schema.WINDOW_RESULT, w)))
                results.extend(
                    (self._events_topic, key, encode(Schema.RHYTHM_EVENT, event))
                    for event in event_records(w)
                )

        await store.clear(request)
        try:
            async for page in store.pages(replay):
                await store_windows(replay.feed(page))
                if self.turn is not None:
                    await self.turn()
            last, summary = replay.finish()
        except InvalidChunkError as exc:
            raise AnalysisFailedError(f"the stored samples cannot be replayed: {exc}") from exc
        await store_windows(last)
        await store.finish(request, summary)
        results.append((self._summaries_topic, key, encode(Schema.ECG_SUMMARY, summary)))
        log.info(
            "ECG %s analysed again (revision %d, analyser %s): %d window(s)",
            request.ecg_id,
            request.revision,
            ANALYSER_VERSION,
            n_windows,
        )
        return results
