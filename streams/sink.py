"""The result sink: window results and summaries into PostgreSQL, one batch per
transaction, as upserts on natural keys so that redelivered events change nothing.
An ECG's provisional summaries (the windows so far) and its final one share its row:
a summary never replaces one of higher rank (``summary_rank``). The rhythm events that
window results carry are stored one row per event (``ecg_events``): an episode's end
report replaces its onset report, and an event never replaces one of higher rank
(``event_rank``). Each window's beats and their classes have columns of their own
(``beats``, ``beat_classes``), written with the window.

``sink_results`` is the sink agent's loop: accumulate a batch, write it in one
transaction, acknowledge it, start the next one empty. While the database is
unreachable the batch is retried with capped backoff and nothing is acknowledged, so
the consumer stops pulling (backpressure) and no result is dropped; offsets move only
after the batch is written. A server that stops answering (frozen, or gone without
closing the connection) counts as unreachable after ``timeout``; the log says once
that writes fail and once that they work again (``streams.outages``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, cast

import asyncpg
import faust
from faust.types import EventT, StreamT

from schemas.codec import DecodeError, Schema, decode
from streams.analysis.beat_classes import CLASS_LETTERS
from streams.dead_letters import DeadLetter
from streams.metrics import DeadLetterKind, WorkerMetrics
from streams.outages import Outage, until_stored
from streams.records import event_records

log = logging.getLogger(__name__)

# Each window's beats travel as the text of an int8 array ('{1,2,3}'): unnest flattens
# a two-dimensional array, and windows have different numbers of beats. Their classes
# (one letter per beat, migrations/0014_beat_classes.sql) go with them, by the same rule.
_UPSERT_WINDOWS = """
INSERT INTO ecg_windows
    (ecg_id, index, start_sample, end_sample, result, beats, beat_classes, revision)
SELECT w.ecg_id, w.index, w.start_sample, w.end_sample, w.result, w.beats::bigint[],
       w.beat_classes, w.revision
FROM unnest(
    $1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::jsonb[], $6::text[], $7::text[],
    $8::int[]
) AS w (ecg_id, index, start_sample, end_sample, result, beats, beat_classes, revision)
ON CONFLICT (ecg_id, index) DO UPDATE
SET start_sample = EXCLUDED.start_sample, end_sample = EXCLUDED.end_sample,
    result = EXCLUDED.result, beats = EXCLUDED.beats, beat_classes = EXCLUDED.beat_classes,
    revision = EXCLUDED.revision
WHERE EXCLUDED.revision >= ecg_windows.revision
"""

# A summary replaces the stored one unless it ranks lower (see summary_rank): one of a
# lower revision never replaces one of a higher (a re-analysis's, streams.reanalysis);
# within a revision, a provisional summary never replaces a final one, nor one with
# more windows (an older one, redelivered or overtaken). A final summary of the same
# revision always does: a redelivered one has the same content.
_UPSERT_SUMMARIES = """
INSERT INTO ecg_summaries (ecg_id, n_windows, result, final, revision)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::jsonb[], $4::boolean[], $5::int[])
ON CONFLICT (ecg_id) DO UPDATE
SET n_windows = EXCLUDED.n_windows, result = EXCLUDED.result, final = EXCLUDED.final,
    revision = EXCLUDED.revision, completed_at = now()
WHERE EXCLUDED.revision > ecg_summaries.revision
   OR (EXCLUDED.revision = ecg_summaries.revision
       AND (EXCLUDED.final
            OR (NOT ecg_summaries.final AND EXCLUDED.n_windows >= ecg_summaries.n_windows)))
"""


# A rhythm event's report replaces the stored one of its number unless it ranks lower
# (see event_rank): one of a lower revision never replaces one of a higher; within a
# revision the end report replaces the onset report, never the other way round (an
# onset redelivered late). Nor is an event of a lower revision than the ECG's summary
# stored (a late redelivery of the first analysis after a re-analysis, whose events
# may be numbered otherwise: the row of its number may not exist).
UPSERT_EVENTS = """
INSERT INTO ecg_events
    (ecg_id, number, revision, type, start_sample, end_sample, decided_at, report)
SELECT e.ecg_id, e.number, e.revision, e.type, e.start_sample, e.end_sample, e.decided_at,
       e.report
FROM unnest(
    $1::uuid[], $2::int[], $3::int[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
    $8::jsonb[]
) AS e (ecg_id, number, revision, type, start_sample, end_sample, decided_at, report)
WHERE NOT EXISTS (
    SELECT 1 FROM ecg_summaries s WHERE s.ecg_id = e.ecg_id AND s.revision > e.revision
)
ON CONFLICT (ecg_id, number) DO UPDATE
SET revision = EXCLUDED.revision, type = EXCLUDED.type,
    start_sample = EXCLUDED.start_sample, end_sample = EXCLUDED.end_sample,
    decided_at = EXCLUDED.decided_at, report = EXCLUDED.report
WHERE (EXCLUDED.revision, EXCLUDED.end_sample IS NOT NULL, EXCLUDED.decided_at)
   >= (ecg_events.revision, ecg_events.end_sample IS NOT NULL, ecg_events.decided_at)
"""


def is_final(summary: dict[str, Any]) -> bool:
    """Whether ``summary`` is an ECG's final one; a record without the flag is, as in
    the schema (every summary written before the flag existed was final)."""
    return bool(summary.get("final", True))


def revision(result: dict[str, Any]) -> int:
    """The analysis a result belongs to (0: as the samples arrived; a record written
    before the field existed has none)."""
    return int(result.get("revision") or 0)


def summary_rank(summary: dict[str, Any]) -> tuple[int, bool, int]:
    """Of two summaries of one ECG, the one of higher rank is the newer: one of a later
    revision, then a final one over a provisional one, and of provisional ones the one
    with more windows."""
    return revision(summary), is_final(summary), summary["n_windows"]


def latest_summaries(summaries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per ECG: the one of highest rank, the last one among equals (as the
    upsert does across batches)."""
    kept: dict[Any, dict[str, Any]] = {}
    for summary in summaries:
        held = kept.get(summary["ecg_id"])
        if held is None or summary_rank(summary) >= summary_rank(held):
            kept[summary["ecg_id"]] = summary
    return list(kept.values())


def event_rank(event: dict[str, Any]) -> tuple[int, bool, int]:
    """Of two reports of one event (ECG id and number), the one of higher rank is the
    newer: one of a later revision, then an end report over an onset report, then the
    one decided later."""
    return revision(event), event.get("end_sample") is not None, int(event["decided_at"])


def latest_events(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One report per event (ECG id and number): the one of highest rank, the last one
    among equals (as the upsert does across batches)."""
    kept: dict[tuple[Any, int], dict[str, Any]] = {}
    for event in events:
        key = (event["ecg_id"], event["number"])
        held = kept.get(key)
        if held is None or event_rank(event) >= event_rank(held):
            kept[key] = event
    return list(kept.values())


def event_rows(events: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The columns of ``UPSERT_EVENTS`` for ``RhythmEvent`` records (``report``: the
    record without its ECG id)."""
    return [
        [e["ecg_id"] for e in events],
        [e["number"] for e in events],
        [revision(e) for e in events],
        [e["type"] for e in events],
        [e["start_sample"] for e in events],
        [e.get("end_sample") for e in events],
        [e["decided_at"] for e in events],
        [event_json(e) for e in events],
    ]


def event_json(event: dict[str, Any]) -> str:
    """A ``RhythmEvent`` record as stored (and served): without its ECG id."""
    return to_json({key: value for key, value in event.items() if key != "ecg_id"})


def window_json(window: dict[str, Any]) -> str:
    """A window's result without its beats and their classes (they have columns of
    their own)."""
    return to_json(
        {key: value for key, value in window.items() if key not in ("beats", "beat_classes")}
    )


def beats_text(window: dict[str, Any]) -> str:
    """A window's beats as the text of a PostgreSQL int8 array."""
    return "{" + ",".join(str(int(beat)) for beat in window.get("beats") or ()) + "}"


def beat_classes(window: dict[str, Any]) -> str | None:
    """A window's beat classes as stored: one letter of ``CLASS_LETTERS`` per beat, or
    None (unknown) when the record has none for its beats, e.g. one written before the
    field existed (which decodes with ``""``)."""
    classes = window.get("beat_classes") or ""
    beats = window.get("beats") or ()
    if len(classes) != len(beats) or classes.strip(CLASS_LETTERS):
        return None
    return str(classes)


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, default=_json_default, separators=(",", ":"))


def _json_default(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


async def sink_results(
    stream: StreamT[bytes],
    store: ResultStore,
    dead_letter: DeadLetter,
    *,
    windows_topic: str,
    batch_size: int,
    batch_seconds: float,
    metrics: WorkerMetrics,
    turn: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Write the results of ``stream`` (window results from ``windows_topic``, summaries
    from the other topic) in batches of up to ``batch_size``, or what arrived within
    ``batch_seconds``. Each batch is acknowledged once written (``store.write`` retries
    until it is), and the next one starts empty. ``turn``, awaited before each batch, lets
    more urgent work of the process go first."""
    taken = cast("faust.Stream[bytes]", stream).noack_take(batch_size, within=batch_seconds)
    async for events in taken:
        batch = cast(list[EventT[bytes]], events)
        if turn is not None:
            await turn()
        started = time.perf_counter()
        await write_batch(store, batch, dead_letter, windows_topic)
        metrics.sink_batch_seconds.observe(time.perf_counter() - started)
        metrics.sink_results.inc(len(batch))
        for event in batch:
            await stream.ack(event)


async def write_batch(
    store: ResultStore,
    events: Sequence[EventT[bytes]],
    dead_letter: DeadLetter,
    windows_topic: str,
) -> None:
    """Decode and write ``events`` in one transaction. What cannot be decoded goes to
    the dead letters; if the database refuses the batch, its results are written one
    by one and those it refuses go to the dead letters: one bad record must not block
    the rest."""
    decoded = []
    for event in events:
        schema = (
            Schema.WINDOW_RESULT if event.message.topic == windows_topic else Schema.ECG_SUMMARY
        )
        try:
            decoded.append((event, decode(schema, event.value)))
        except DecodeError as exc:
            await dead_letter(event, DeadLetterKind.UNDECODABLE, str(exc))
    try:
        await store.write(*split_results(decoded, windows_topic))
    except asyncpg.PostgresError:
        for event, record in decoded:
            try:
                await store.write(*split_results([(event, record)], windows_topic))
            except asyncpg.PostgresError as exc:
                await dead_letter(
                    event, DeadLetterKind.REJECTED_BY_DATABASE, f"rejected by the database: {exc}"
                )


def split_results(
    decoded: Sequence[tuple[EventT[bytes], dict[str, Any]]], windows_topic: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decoded results as (window results, summaries)."""
    windows = [record for event, record in decoded if event.message.topic == windows_topic]
    summaries = [record for event, record in decoded if event.message.topic != windows_topic]
    return windows, summaries


class ResultStore:
    def __init__(self, dsn: str, *, max_backoff: float = 5.0, timeout: float = 30.0) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._max_backoff = max_backoff
        # A batch of 500 windows takes ~0.1 s; 30 s is a server that does not answer.
        self._timeout = timeout
        self._outage = Outage("writing results to PostgreSQL", log)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def write(
        self, windows: Sequence[dict[str, Any]], summaries: Sequence[dict[str, Any]]
    ) -> None:
        """Write one batch, retrying until it is stored (or the task is cancelled).

        Redelivered events may repeat a natural key inside one batch: the last window of
        the highest revision wins, as it would across batches, the summary of highest
        rank, and the report of highest rank of each rhythm event the windows carry.
        """
        events = latest_events([event for w in windows for event in event_records(w)])
        by_revision = sorted(windows, key=revision)
        windows = list({(w["ecg_id"], w["index"]): w for w in by_revision}.values())
        summaries = latest_summaries(summaries)
        await until_stored(
            partial(self._write_once, windows, summaries, events),
            self._outage,
            self._reset,
            max_backoff=self._max_backoff,
        )

    async def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def _write_once(
        self,
        windows: Sequence[dict[str, Any]],
        summaries: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]] = (),
    ) -> None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=2, timeout=10, command_timeout=self._timeout
            )
        async with (
            self._pool.acquire(timeout=self._timeout) as connection,
            connection.transaction(),
        ):
            if windows:
                await connection.execute(
                    _UPSERT_WINDOWS,
                    [w["ecg_id"] for w in windows],
                    [w["index"] for w in windows],
                    [w["start_sample"] for w in windows],
                    [w["end_sample"] for w in windows],
                    [window_json(w) for w in windows],
                    [beats_text(w) for w in windows],
                    [beat_classes(w) for w in windows],
                    [revision(w) for w in windows],
                )
            if summaries:
                await connection.execute(
                    _UPSERT_SUMMARIES,
                    [s["ecg_id"] for s in summaries],
                    [s["n_windows"] for s in summaries],
                    [to_json(s) for s in summaries],
                    [is_final(s) for s in summaries],
                    [revision(s) for s in summaries],
                )
            if events:
                # After the summaries: a re-analysis's summary in the same batch keeps
                # out the events of a lower revision.
                await connection.execute(UPSERT_EVENTS, *event_rows(events))
