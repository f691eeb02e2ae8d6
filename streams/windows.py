"""The windows agent's loop: sample chunks in batches, each ECG's analyser live in
memory, its state written to the table at checkpoints, offsets committed behind them.

Per batch of events (``noack_take``: nothing is acknowledged by Faust):

1. each chunk is decoded and applied to its ECG's live state (read from the table on
   the ECG's first chunk here); its results (window results, the rhythm events they
   carry, summaries) are handed to the producer without waiting;
   a redelivered chunk is recognised by its sequence number, a gap is filled from Kafka
   (``streams.backfill``), what cannot be applied goes to the dead letters, and so does
   a chunk of an ECG that PostgreSQL does not know (asked once per batch for the ECGs
   without a state, ``streams.known_ecgs``);
2. once Kafka has acknowledged every result of the batch, the ECGs that are due
   (``streams.checkpoints``) send their provisional summary (if a window closed since
   the last one) and, once Kafka has it, write their state to the table's changelog;
3. the events that a checkpoint covers, with every earlier one of their partition, are
   acknowledged: Faust commits their offsets after flushing the producer, so after the
   changelog write.

Window results go out at once; an ECG's provisional summary and its checkpoint can
wait. While the worker is behind (``Backlog``) they wait until it has caught up, at
most ``DEFER_AGE`` times the checkpoint's ``max_age`` (``streams.checkpoints``), and
the sink's writes wait too (``streams.app``): when a fleet's windows close in the same
second, the window results come first and the rest, as much work again, after them.

``Checkpointer`` ticks in the background: it checkpoints ECGs whose partition has gone
quiet, and when the partitions are revoked or the worker stops (Faust then waits until
every event taken is acknowledged, ``stream_wait_empty``) it checkpoints every ECG,
acknowledges every event and forgets the live states: the partitions' next owner, this
worker or another, starts from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, cast
from uuid import UUID

import faust
from faust.tables.table import Table
from faust.types import AppT, EventT, StreamT, TopicT

from schemas.codec import DecodeError, Schema, decode, encode
from schemas.topics import request_id_of
from streams.backfill import ChunkReader, apply_or_catch_up
from streams.checkpoints import Checkpoints
from streams.chunks import (
    ChunkGapError,
    InvalidChunkError,
    Outcome,
    StreamState,
    SummaryHead,
    apply_run,
    provisional_summary,
)
from streams.dead_letters import DeadLetter
from streams.metrics import DeadLetterKind, WorkerMetrics
from streams.records import event_records
from streams.settings import Settings

log = logging.getLogger(__name__)

# The checkpoints written in one batch's settling at most: those deferred while the
# worker was behind (a fleet's windows that closed in the same second), or that reached
# their age together (a fleet that started together), follow in a few batches, ~0.1 s
# of work each, rather than in one long stall.
CATCH_UP = 200

# A chunk decoded, the reason it goes to the dead letters, or None (skipped).
Taken = dict[str, Any] | tuple[DeadLetterKind, str] | None


class LiveAnalysers:
    """The ECGs of this worker's partitions, live; the windows agent runs ``consume``."""

    def __init__(
        self,
        app: AppT,
        states: Table[bytes, bytes],
        windows: TopicT,
        summaries: TopicT,
        dead_letter: DeadLetter,
        reader: Callable[[], ChunkReader],
        known: Callable[[Collection[UUID]], Awaitable[set[UUID]]],
        settings: Settings,
        metrics: WorkerMetrics,
        *,
        events: TopicT,
    ) -> None:
        self._app = app
        self._states = states
        self._windows = windows
        self._summaries = summaries
        self._events = events
        self._dead_letter = dead_letter
        self._reader = reader
        self._known = known
        self._settings = settings
        self._metrics = metrics
        self.checkpoints: Checkpoints[EventT[bytes]] = Checkpoints(settings.checkpoint_seconds)
        # A batch and a tick of the checkpointer never interleave.
        self._lock = asyncio.Lock()
        self._stream: StreamT[bytes] | None = None
        # How far behind the agent is: what may wait, waits meanwhile.
        self.backlog = Backlog(settings.behind_seconds)

    async def consume(self, stream: StreamT[bytes]) -> None:
        self._stream = stream
        settings = self._settings
        taken = cast("faust.Stream[bytes]", stream).noack_take(
            settings.windows_batch_size, within=settings.windows_batch_seconds
        )
        async for events in taken:
            async with self._lock:
                try:
                    await self._process(cast(list[EventT[bytes]], events))
                except BaseException:
                    # Failed or cancelled mid-batch, the live states may hold chunks whose
                    # results Kafka does not have: none of them may be written. A restarted
                    # agent starts again from the table; the events taken stay
                    # unacknowledged (their chunks come back by streams.backfill, or by a
                    # restarted worker's replay).
                    self.checkpoints.forget()
                    raise

    async def tick(self) -> None:
        """Checkpoint what is due although no chunk arrives; when the partitions are being
        revoked or the worker stops, checkpoint and acknowledge everything."""
        async with self._lock:
            flushing = self._app.should_stop or not self._app.flow_control.is_active()
            if flushing and not len(self.checkpoints) and not self.checkpoints.waiting():
                return
            await self._settle(every=flushing)
            if flushing:
                log.info("partitions revoked or worker stopping: live states checkpointed")
                self.checkpoints.forget()

    async def _process(self, events: list[EventT[bytes]]) -> None:
        self.backlog.taken([event.message.timestamp for event in events])
        sent: list[Awaitable[Any]] = []
        chunks = [self._decode(event) for event in events]
        await self._refuse_unknown(chunks)
        self._metrics.chunks.inc(len(events))
        self._metrics.samples.inc(sum(count_samples(c) for c in chunks if isinstance(c, dict)))
        # The positions in the batch of each ECG's chunks, and the chunks already applied
        # with an earlier one of their ECG (a run), with the version that holds them.
        positions: dict[Any, deque[int]] = {}
        for index, chunk in enumerate(chunks):
            if isinstance(chunk, dict):
                positions.setdefault(chunk["ecg_id"], deque()).append(index)
        in_run: dict[int, tuple[bytes, int]] = {}
        for index, (event, chunk) in enumerate(zip(events, chunks, strict=True)):
            partition = event.message.partition
            if index in in_run:
                self.checkpoints.track(partition, event, *in_run[index])
            elif chunk is None:
                self.checkpoints.track(partition, event, None)
            elif isinstance(chunk, tuple):
                await self._dead_letter(event, *chunk)
                self.checkpoints.track(partition, event, None)
            else:
                later = positions[chunk["ecg_id"]]
                if later and later[0] == index:
                    later.popleft()
                run = [(events[i], cast(dict[str, Any], chunks[i])) for i in [index, *later]]
                started = time.perf_counter()
                applied = await self._apply(event, chunk, run, sent)
                self._metrics.chunks_analysed(
                    time.perf_counter() - started, len(run) if applied is not None else 1
                )
                if applied is not None:
                    in_run.update(dict.fromkeys(later, applied))
                # The ECG's other chunks in the batch, if any, were applied with this one,
                # or do not plainly follow it: one at a time from here.
                later.clear()
            # The event waits for its checkpoint; its 12 KB of samples need not.
            event.value = b""
            event.message.value = None
        # One wait for the whole batch's results, before the checkpoints that cover them.
        await asyncio.gather(*sent)
        self.backlog.processed()
        await self._settle(every=False)

    def _decode(self, event: EventT[bytes]) -> Taken:
        """The chunk; the reason it cannot be read; None for an event taken before a
        rebalance (skipped, as Faust skips it: see streams.backfill)."""
        if event.message.generation_id != self._app.consumer_generation_id:
            return None
        try:
            return decode(Schema.SAMPLE_CHUNK, event.value)
        except DecodeError as exc:
            return DeadLetterKind.UNDECODABLE, str(exc)

    async def _refuse_unknown(self, chunks: list[Taken]) -> None:
        """Replace each chunk of an ECG that PostgreSQL does not know by the reason it
        goes to the dead letters. Only ECGs without a state here are asked about: one
        with a state was known when its first chunk came."""
        checkpoints, states = self.checkpoints, self._states
        new = {
            chunk["ecg_id"]
            for chunk in chunks
            if isinstance(chunk, dict)
            and checkpoints.get(key := str(chunk["ecg_id"]).encode()) is None
            and not states.get(key)
        }
        if not new:
            return
        unknown = new - await self._known(new)
        for index, chunk in enumerate(chunks):
            if isinstance(chunk, dict) and chunk["ecg_id"] in unknown:
                chunks[index] = (
                    DeadLetterKind.UNKNOWN_ECG,
                    f"ECG {chunk['ecg_id']} is unknown: PostgreSQL has no such ECG, so its "
                    "results would reach no lookup (create it through the gateway first)",
                )

    async def _apply(
        self,
        event: EventT[bytes],
        chunk: dict[str, Any],
        run: list[tuple[EventT[bytes], dict[str, Any]]],
        sent: list[Awaitable[Any]],
    ) -> tuple[bytes, int] | None:
        """Apply ``chunk``, with the later chunks of its ECG in the batch (``run``, from
        ``chunk`` on) if they plainly follow it; the ECG's key and the version that
        holds the later ones then, else None. The later ones are applied at once, with
        ``chunk`` or after it, or not at all."""
        message = event.message
        checkpoints = self.checkpoints
        key = str(chunk["ecg_id"]).encode()
        try:
            live = checkpoints.get(key)
            if live is None:
                raw = self._states.get(key)
                state = StreamState.from_bytes(raw) if raw else None
                live = checkpoints.load(key, state, message.partition)
            chunks = [(e.message.offset, c) for e, c in run]
            together = apply_run(live.state, chunks, provisional=False)
            if together is not None:
                outcomes = [together]
            else:
                # This one alone (the ECG's first, or a duplicate, a gap...), then the rest.
                outcomes = await apply_or_catch_up(
                    self._reader(), live.state, event, chunk, self._settings, provisional=False
                )
                if not outcomes[-1].duplicate:
                    together = apply_run(outcomes[-1].state, chunks[1:], provisional=False)
                    outcomes += [] if together is None else [together]
        except (DecodeError, InvalidChunkError) as exc:
            await self._dead_letter(event, dead_letter_kind(exc), str(exc))
            checkpoints.track(message.partition, event, None)
            return None
        if outcomes[-1].duplicate:
            checkpoints.track(message.partition, event, None)
            return None
        for outcome in outcomes:
            sent += await send_results(
                self._windows, self._summaries, key, outcome, events=self._events
            )
            self._metrics.windows.inc(len(outcome.windows))
            if outcome.summary is not None:
                final = bool(outcome.summary.get("final", True))
                self._metrics.summary_emitted(final=final)
                if final:
                    log.info(
                        "ECG %s analysed: %d window(s)",
                        key.decode(),
                        outcome.summary["n_windows"],
                        extra={"request_id": request_id_of(run[-1][0].message.headers)},
                    )
        closed = any(outcome.windows or outcome.summary for outcome in outcomes)
        if outcomes[-1].state.finished:
            live.summary = None  # the final summary is out
        elif any(outcome.windows for outcome in outcomes):
            live.summary = SummaryHead.of(chunk)
        version = checkpoints.applied(key, outcomes[-1].state, closed=closed, now=time.monotonic())
        checkpoints.track(message.partition, event, key, version)
        return (key, version) if together is not None else None

    async def _settle(self, *, every: bool) -> None:
        """Write the due checkpoints (the results they cover are acknowledged by now) and
        acknowledge the events they settle."""
        checkpoints = self.checkpoints
        now = time.monotonic()
        due = checkpoints.due(
            now, every=every, defer=not every and self.backlog.behind(now), most=CATCH_UP
        )
        # The provisional summaries owed, before the checkpoints that cover their chunks.
        sent = []
        for key in due:
            live = checkpoints.get(key)
            assert live is not None
            if live.summary is not None:
                assert live.state is not None
                assert live.state.analyser is not None
                summary = provisional_summary(live.summary, live.state.analyser)
                value = encode(Schema.ECG_SUMMARY, summary)
                sent.append(await self._summaries.send(key=key, value=value))
                self._metrics.summary_emitted(final=False)
                live.summary = None
        await asyncio.gather(*sent)
        for key in due:
            live = checkpoints.get(key)
            assert live is not None
            assert live.state is not None
            value = live.state.to_bytes()
            # What ``states[key] = value`` does, with the partition named: a table is
            # written from the event being processed, and a batch has many.
            self._states.send_changelog(live.partition, key, value)
            self._states.data[key] = value
            checkpoints.checkpointed(key)
        if self._stream is not None:
            for event in checkpoints.settled():
                await self._stream.ack(event)


class Backlog:
    """Whether the windows agent is behind: the oldest chunk of its last batch (taken
    within the last second) had waited longer than ``limit`` seconds since the gateway
    published it (the record's timestamp), judged when the batch is taken and again once
    its results are out. Its provisional summaries, window checkpoints and the sink's
    writes wait meanwhile."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._oldest: float | None = None  # the last batch's oldest timestamp
        self._taken_at = -math.inf  # time.monotonic() of the last batch
        self._behind = False
        self._not_behind = asyncio.Event()
        self._not_behind.set()

    def taken(self, timestamps: Iterable[float | None], now: float | None = None) -> None:
        """A batch was taken; ``timestamps``: its records' (seconds since the epoch, None
        when unknown); ``now``: ``time.time()``."""
        self._oldest = min((stamp for stamp in timestamps if stamp is not None), default=None)
        self._taken_at = time.monotonic()
        self.processed(now)

    def processed(self, now: float | None = None) -> None:
        """The last batch's results are out (``now``: ``time.time()``): a batch that the
        worker took in time may have taken it long enough to fall behind."""
        now = time.time() if now is None else now
        self._behind = self._oldest is not None and now - self._oldest > self.limit
        if self._behind:
            self._not_behind.clear()
        else:
            self._not_behind.set()

    def behind(self, now: float) -> bool:
        """``now``: ``time.monotonic()``."""
        return self._behind and now - self._taken_at < 1.0

    async def caught_up(self, limit: float) -> None:
        """Return once the worker is not behind, or after ``limit`` seconds. A verdict
        goes stale a second after its batch: with no batch since (a burst that ended),
        the worker has nothing left to catch up on. (Without this, every wait after a
        burst lasted its whole ``limit``: 8 pages of a re-analysis took 40 s more.)"""
        deadline = time.monotonic() + limit
        while (now := time.monotonic()) < deadline and self.behind(now):
            wait = min(deadline, self._taken_at + 1.0) - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._not_behind.wait(), wait)


class Checkpointer(faust.Service):
    """Ticks ``LiveAnalysers.tick``. A dependency of the app: it still runs while the app
    stops and waits for the events taken to be acknowledged."""

    def __init__(self, analysers: LiveAnalysers, interval: float) -> None:
        super().__init__()
        self._analysers = analysers
        self._interval = interval

    @faust.Service.task
    async def _tick(self) -> None:
        while not self.should_stop:
            await self.sleep(self._interval)
            await self._analysers.tick()


async def send_results(
    windows: TopicT, summaries: TopicT, key: bytes, outcome: Outcome, *, events: TopicT
) -> list[Awaitable[Any]]:
    """Hand an outcome's results to the producer: each window with the rhythm events it
    carries (``ecg.events.v1``), then its summary (provisional or final), under the same
    key. Returns what to wait for until Kafka has them: the events are waited for as
    the windows are, before the checkpoint that covers their chunk, so they are
    delivered at least once as the windows are."""
    sent: list[Awaitable[Any]] = []
    for window in outcome.windows:
        sent.append(await windows.send(key=key, value=encode(Schema.WINDOW_RESULT, window)))
        for event in event_records(window):
            sent.append(await events.send(key=key, value=encode(Schema.RHYTHM_EVENT, event)))
    if outcome.summary is not None:
        summary = encode(Schema.ECG_SUMMARY, outcome.summary)
        sent.append(await summaries.send(key=key, value=summary))
    return sent


def count_samples(chunk: dict[str, Any]) -> int:
    """The samples of every lead in a decoded chunk, from the lengths of its byte
    arrays (a chunk with a nonsensical width is refused later, not here)."""
    width: int = chunk["sample_width"]
    return sum(len(lead) for lead in chunk["samples"]) // max(1, width)


def dead_letter_kind(error: Exception) -> DeadLetterKind:
    if isinstance(error, DecodeError):
        return DeadLetterKind.UNDECODABLE
    if isinstance(error, ChunkGapError):
        return DeadLetterKind.CHUNK_GAP
    return DeadLetterKind.INVALID_CHUNK
