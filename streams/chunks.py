"""From one decoded sample chunk and the ECG's state to the events to emit.

This is the windows agent without Faust: it neutralises redelivered chunks by
their sequence number, refuses gaps and inconsistent chunks, feeds the analysis
core and turns its results into ``WindowResult`` and ``EcgSummary`` records.
Everything here is pure, so it is tested without a broker.

A chunk that closes at least one window but does not end the ECG also yields a
provisional summary (``final`` false): the totals over the windows closed so far, for
a live lookup. One per such chunk, not per chunk: most chunks of a device's stream
close nothing, and the summary changes only when a window closes. The final chunk
yields the final summary (``final`` true), which replaces any provisional one.

With ``provisional=False`` the provisional summary is left to the caller: it is
``provisional_summary`` of the state at any time until the ECG's next window closes
(it reads only the closed windows' totals), so the windows agent makes it at the ECG's
checkpoint, out of the way of the window results when the worker is behind.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schemas.codec import DecodeError, decode_samples
from schemas.sample_chunks import MAX_SAMPLING_RATE
from streams.analysis.results import WindowResult
from streams.analysis.windows import (
    AnalyserMemory,
    AnalysisConfig,
    feed,
    finish,
    start_analysis,
    summary_so_far,
)
from streams.records import summary_record, window_record

_STATE = struct.Struct("<BqBq")
_VERSION = 2


class InvalidChunkError(ValueError):
    """The chunk cannot be applied; the reason goes to the dead-letter topic."""


class ChunkGapError(InvalidChunkError):
    """Chunks ``expected`` to ``arrived - 1`` have not been applied yet."""

    def __init__(self, expected: int, arrived: int) -> None:
        super().__init__(f"chunk seq {arrived} arrived while seq {expected} was expected")
        self.expected = expected
        self.arrived = arrived


@dataclass(frozen=True)
class StreamState:
    """An ECG's state, the value of the windows agent's table: the next expected
    sequence number, whether the final chunk was seen, the Kafka offset of the last
    chunk applied (-1 before the first), and the analyser's memory."""

    next_seq: int
    finished: bool
    analyser: AnalyserMemory | None
    last_offset: int = -1

    def to_bytes(self) -> bytes:
        head = _STATE.pack(_VERSION, self.next_seq, self.finished, self.last_offset)
        return head + (b"" if self.analyser is None else self.analyser.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> StreamState:
        """Raises ``InvalidChunkError`` for a state this code cannot read (one written by
        an incompatible version): the ECG's next chunks go to the dead-letter topic."""
        try:
            version, next_seq, finished, last_offset = _STATE.unpack_from(data)
            if version != _VERSION:
                raise ValueError(f"unknown stream state version {version}")
            rest = data[_STATE.size :]
            analyser = AnalyserMemory.from_bytes(rest) if rest else None
        except (ValueError, struct.error) as exc:
            raise InvalidChunkError(f"the ECG's carried state cannot be read: {exc}") from exc
        return cls(next_seq, bool(finished), analyser, last_offset)


@dataclass(frozen=True)
class Outcome:
    """What applying one chunk gives: the new state, the windows it closed and, when it
    closed any or ended the ECG, the summary so far (provisional) or the final one."""

    state: StreamState
    windows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    duplicate: bool = False


def apply_chunk(
    state: StreamState | None,
    chunk: dict[str, Any],
    window_samples: Callable[[float | None], int],
    offset: int = -1,
    *,
    provisional: bool = True,
) -> Outcome:
    """Apply one ``SampleChunk`` record, read at Kafka ``offset``, to the ECG's state.

    ``window_samples`` maps the ECG's sampling rate (or None) to its window
    length in samples; ``provisional``: whether the outcome carries the provisional
    summary of a chunk that closed a window. Raises ``ChunkGapError`` when earlier
    chunks are missing and ``InvalidChunkError`` for a chunk that does not fit.
    """
    seq = chunk["seq"]
    if state is not None and (state.finished or seq < state.next_seq):
        if _ends_after_a_late_chunk(state, chunk):
            assert state.analyser is not None
            return _outcome(state.analyser, [], chunk, state.next_seq, offset, provisional)
        return Outcome(state=state, duplicate=True)
    expected = 0 if state is None else state.next_seq
    if seq != expected:
        raise ChunkGapError(expected, seq)
    names = [lead["name"] for lead in chunk["leads"]]
    try:
        samples = decode_samples(chunk["samples"], chunk["sample_width"])
    except DecodeError as exc:
        raise InvalidChunkError(str(exc)) from exc
    if len(samples) != len(names):
        raise InvalidChunkError(f"chunk has {len(samples)} sample arrays for {len(names)} leads")

    analyser = state.analyser if state is not None else None
    if analyser is None:
        analyser = _start(chunk, window_samples)
    if analyser.n_leads != len(names):
        raise InvalidChunkError(f"chunk has {len(names)} leads, the ECG has {analyser.n_leads}")
    if chunk["start_sample"] != analyser.frontier:
        raise InvalidChunkError(
            f"chunk starts at sample {chunk['start_sample']}, expected {analyser.frontier}"
        )

    try:
        analyser, closed = feed(analyser, samples)
    except ValueError as exc:
        raise InvalidChunkError(str(exc)) from exc
    return _outcome(analyser, closed, chunk, seq + 1, offset, provisional)


def _outcome(
    analyser: AnalyserMemory,
    closed: list[WindowResult],
    chunk: dict[str, Any],
    next_seq: int,
    offset: int,
    provisional: bool,
) -> Outcome:
    """What fed ``analyser`` up to ``chunk`` (the last chunk fed, at ``offset``) gives:
    the windows it closed and, when it closed any or ended the ECG, the summary."""
    names = [lead["name"] for lead in chunk["leads"]]
    summary = None
    if chunk["final"]:
        last, ecg = finish(analyser)
        closed = closed + last
        summary = summary_record(chunk, names, ecg)
    elif closed and provisional:
        summary = summary_record(chunk, names, summary_so_far(analyser), final=False)
    windows = [window_record(chunk, names, window) for window in closed]
    # Once finished, only the marker is kept: later duplicates are recognised
    # without holding the analyser's state.
    new_state = StreamState(
        next_seq=next_seq,
        finished=bool(chunk["final"]),
        analyser=None if chunk["final"] else analyser,
        last_offset=offset,
    )
    return Outcome(state=new_state, windows=windows, summary=summary)


def apply_run(
    state: StreamState | None,
    run: Sequence[tuple[int, dict[str, Any]]],
    *,
    provisional: bool = True,
) -> Outcome | None:
    """Apply consecutive chunks of one ECG (``(offset, record)``, in order) with one call
    of the analyser: the same windows as chunk by chunk (the analysis is chunk
    invariant), one summary for the run. None when the run is not plainly the ECG's next
    chunks (a duplicate, a gap, a lead that ends, a chunk that does not fit, the ECG's
    first chunk): those take ``apply_chunk``, one at a time, which says why."""
    if state is None or state.finished or state.analyser is None or len(run) < 2:
        return None
    analyser = state.analyser
    seq, start = state.next_seq, analyser.frontier
    parts: list[list[Any]] = [[] for _ in range(analyser.n_leads)]
    for index, (_, chunk) in enumerate(run):
        if (
            chunk["seq"] != seq
            or chunk["start_sample"] != start
            or (chunk["final"] and index < len(run) - 1)
            or len(chunk["leads"]) != analyser.n_leads
        ):
            return None
        try:
            samples = decode_samples(chunk["samples"], chunk["sample_width"])
        except DecodeError:
            return None
        if len(samples) != analyser.n_leads or len({lead.size for lead in samples}) != 1:
            return None
        for part, lead in zip(parts, samples, strict=True):
            part.append(lead)
        seq, start = seq + 1, start + samples[0].size
    try:
        analyser, closed = feed(analyser, [np.concatenate(part) for part in parts])
    except ValueError:
        return None
    offset, last = run[-1]
    return _outcome(analyser, closed, last, seq, offset, provisional)


def _ends_after_a_late_chunk(state: StreamState, chunk: dict[str, Any]) -> bool:
    """Whether ``chunk`` is the empty final chunk of a stream whose applied chunks
    already took its seq: an end published at a position that Kafka had passed. Either
    a chunk the gateway answered 503 for (Kafka did not acknowledge it in time) was
    still delivered by the producer after the stream's end had been published at that
    seq; or a WebSocket's last acknowledged chunks never reached PostgreSQL (its
    gateway died, see ``gateway.devices.leases``) and the idle timeout ended the stream
    at the position written before them. The end must still end the ECG; the later
    chunks' samples stay in its results. An end is otherwise published only once the
    stream's last chunk is acknowledged and counted, at the next seq, so nothing else
    gives an unfinished ECG an empty final chunk below its next seq."""
    return (
        chunk["final"]
        and not state.finished
        and state.analyser is not None
        and chunk["seq"] < state.next_seq
        and not any(chunk["samples"])
    )


def _start(chunk: dict[str, Any], window_samples: Callable[[float | None], int]) -> AnalyserMemory:
    """The analyser for the ECG of its first chunk: its rate, and each lead's gain and
    baseline, checked before use (a message need not come from the gateway)."""
    leads, rate = chunk["leads"], chunk["sampling_rate"]
    if rate is not None and not (math.isfinite(rate) and 0 < rate <= MAX_SAMPLING_RATE):
        raise InvalidChunkError(
            f"sampling_rate must be a number of Hz above 0 and at most {MAX_SAMPLING_RATE:,}, "
            f"got {rate}"
        )
    try:
        config = AnalysisConfig(
            window_samples=window_samples(rate),
            sampling_rate=rate,
            gains=tuple(lead.get("gain") for lead in leads),
            baselines=tuple(lead.get("baseline") for lead in leads),
        )
        return start_analysis(len(leads), config)
    except (ValueError, OverflowError) as exc:
        raise InvalidChunkError(str(exc)) from exc


def catch_up(
    state: StreamState | None,
    earlier: Sequence[tuple[int, dict[str, Any]]],
    chunk: dict[str, Any],
    window_samples: Callable[[float | None], int],
    offset: int,
    *,
    provisional: bool = True,
) -> list[Outcome]:
    """Apply the ECG's chunks re-read from Kafka (``(offset, record)`` in offset
    order) that fill the gap before ``chunk``, then ``chunk`` itself.

    Raises ``ChunkGapError`` if chunks are still missing.
    """
    outcomes: list[Outcome] = []
    for earlier_offset, record in earlier:
        if record["seq"] >= chunk["seq"]:
            break
        current = outcomes[-1].state if outcomes else state
        outcome = apply_chunk(
            current, record, window_samples, earlier_offset, provisional=provisional
        )
        if not outcome.duplicate:
            outcomes.append(outcome)
    current = outcomes[-1].state if outcomes else state
    outcomes.append(apply_chunk(current, chunk, window_samples, offset, provisional=provisional))
    return outcomes


@dataclass(frozen=True)
class SummaryHead:
    """What an ECG's summary record takes from its chunks besides the analysis: the
    chunk's ``ecg_id``, ``date`` and ``sampling_rate``, and the lead names."""

    chunk: dict[str, Any]
    names: list[str]

    @classmethod
    def of(cls, chunk: dict[str, Any]) -> SummaryHead:
        head = {name: chunk[name] for name in ("ecg_id", "date", "sampling_rate")}
        return cls(head, [lead["name"] for lead in chunk["leads"]])


def provisional_summary(head: SummaryHead, analyser: AnalyserMemory) -> dict[str, Any]:
    """The provisional summary of an unfinished ECG: what ``apply_chunk`` gives with the
    chunk that closed its last window, as long as no later window has closed."""
    return summary_record(head.chunk, head.names, summary_so_far(analyser), final=False)
