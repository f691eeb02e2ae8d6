"""The online analyser of one ECG: chunks in, the results of completed windows out.

An ECG arrives as a sequence of chunks. Chunk ``k`` holds, for every lead, the next
samples from the same start index on; a lead with fewer samples than the longest one
of a chunk has ended and gets no more. ``feed`` takes the analyser's memory and one chunk
(one sample to a whole record) and returns its new memory and the windows that the
chunk completed; ``finish`` closes the ECG; ``summary_so_far`` is the ECG's result
over the windows closed so far (what a live lookup shows). Window ``w`` covers samples
``[w * W, (w + 1) * W)``. A window closes once its samples are in and, with a
sampling rate, once the beat detector has finalised every beat before its end and each
of its beats has its class (``beat_classes``: decided with the next beat); its beats are
those with an index in the window, and the rhythm events they decided (``events``).

Chunk invariance: every statistic is an integer sum, minimum or maximum (see
``lead_stats``, ``rhythm``), the detector is chunk invariant by contract, and floats
appear only when a result is emitted, so any chunking gives bitwise the results of
one-shot processing. The memory holds a few numbers per lead, the windows that wait
for the detector, their beats, and the detector's memory: bounded by the window length
and the detector's look-ahead, whatever the ECG's length (``state_size`` in
``bench/analysis.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from streams.analysis.analyser import (
    N_TOTALS,
    TOTAL_CROSSINGS,
    TOTAL_MAX,
    TOTAL_MIN,
    TOTAL_VERDICTS,
    AnalyserMemory,
    AnalysisConfig,
)
from streams.analysis.bands import bands_for
from streams.analysis.beat_classes import (
    CLASS_LETTERS,
    N_CLASS,
    classify_beats,
    finish_classes,
    start_classes,
)
from streams.analysis.detector import BeatDetector, DetectorMemory, qrs_detector
from streams.analysis.events import (
    EVENT_TYPES,
    VERDICTS,
    RhythmEvent,
    finish_events,
    follow_beats,
    start_events,
)
from streams.analysis.lead_stats import (
    INT64_MAX,
    INT64_MIN,
    Carry,
    Int32s,
    Int64s,
    LeadCarry,
    Stat,
    accumulate,
    empty_stats,
    merge_stats,
)
from streams.analysis.measures import NO_SAMPLING_RATE, Measure
from streams.analysis.quality import VERDICTS as QUALITY_VERDICTS
from streams.analysis.quality import LeadScale, judge_ecg, judge_windows
from streams.analysis.results import EcgResult, WindowResult, lead_result
from streams.analysis.rhythm import (
    Carried,
    Rhythm,
    RrSums,
    missing_rhythm,
    rhythm_measures,
    sum_window_intervals,
)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
PIECE_VALUES = 2**17  # samples over all leads per piece of a chunk (see feed)
STATS_PIECES = 2  # pieces per call of accumulate (see feed)
# The statistics that a window's result shows (an index array, as in lead_stats).
_SHOWN = np.array([Stat.SAMPLES, Stat.ZERO_CROSSINGS, Stat.SUM, Stat.MIN, Stat.MAX])

__all__ = [
    "PIECE_VALUES",
    "AnalyserMemory",
    "AnalysisConfig",
    "feed",
    "finish",
    "start_analysis",
    "summary_so_far",
]


def start_analysis(
    n_leads: int, config: AnalysisConfig, detector: BeatDetector | None = None
) -> AnalyserMemory:
    """The memory before an ECG's first sample; ``detector`` defaults to the QRS detector."""
    config.check(n_leads)
    rate = config.sampling_rate
    memory: DetectorMemory | None = None
    reason: str | None = NO_SAMPLING_RATE
    if rate is not None:
        detector = detector or qrs_detector()
        try:
            memory, reason = detector.start(n_leads, rate), None
        except ValueError as exc:
            reason = f"no beat detection: {exc}"
    totals = np.zeros((N_TOTALS, n_leads), dtype=np.int64)
    totals[TOTAL_MIN], totals[TOTAL_MAX] = INT64_MAX, INT64_MIN
    return AnalyserMemory(
        config=config,
        frontier=0,
        next_window=0,
        open=empty_stats(n_leads),
        carry=LeadCarry.start(n_leads, bands_for(rate)),
        lead_samples=np.zeros(n_leads, dtype=np.int64),
        totals=totals,
        sums=(0,) * n_leads,
        detector=memory,
        no_beats_reason=reason,
        finalized=0,
        pending_beats=np.zeros(0, dtype=np.int64),
        previous=Carried(),
        rr=RrSums(),
        beat_detector=detector if memory is not None else None,
        events=start_events() if memory is not None else None,
        classes=start_classes(n_leads, rate) if memory is not None and rate else None,
        pending_classes=_NO_CLASSES,
    )


def feed(
    memory: AnalyserMemory, leads: Sequence[NDArray[np.integer[Any]]]
) -> tuple[AnalyserMemory, list[WindowResult]]:
    """Add one chunk (one array per lead, starting at ``memory.frontier``)."""
    if len(leads) != memory.n_leads:
        raise ValueError(f"expected {memory.n_leads} leads, got {len(leads)}")
    sizes = np.array([lead.size for lead in leads], dtype=np.int64)
    length = int(sizes.max())
    if length == 0:
        return memory, []
    ended = (memory.lead_samples < memory.frontier) & (sizes > 0)
    if ended.any():
        raise ValueError(f"lead {int(np.argmax(ended))} has ended and cannot take more samples")
    _check_range(leads)
    open_stats, carry = memory.open, memory.carry
    detector, finalized, beats = memory.detector, memory.finalized, memory.pending_beats
    classes, pending_classes = memory.classes, memory.pending_classes
    rate = memory.config.sampling_rate
    # Pieces of PIECE_VALUES samples over all leads keep the detector's passes in the CPU
    # cache (it is chunk invariant too, and twice as fast on 2-lead pieces of 64 Ki samples
    # as on a whole 30-minute record). The statistics take STATS_PIECES of them at a time:
    # much of their cost per piece is that of about a hundred numpy calls.
    step = max(1024, PIECE_VALUES // memory.n_leads)
    for a in range(0, length, STATS_PIECES * step):
        piece = _as_matrix(memory, leads, a, min(a + STATS_PIECES * step, length))
        open_stats, carry = _add_piece(
            memory,
            open_stats,
            carry,
            piece,
            np.minimum(np.maximum(sizes - a, 0), piece.shape[1]),
            a,
        )
        if detector is not None:
            assert memory.beat_detector is not None
            for b in range(0, piece.shape[1], step):
                part = piece[:, b : b + step]
                detector, found, finalized = memory.beat_detector.detect(detector, part)
                beats = _append_beats(beats, found, memory.previous.beat)
                if classes is not None and rate is not None:
                    classes, decided = classify_beats(classes, part, found, rate)
                    pending_classes = _append_classes(pending_classes, decided)
    size = memory.config.window_samples
    memory = replace(
        memory,
        frontier=memory.frontier + length,
        open=open_stats,
        carry=carry,
        lead_samples=memory.lead_samples + sizes,
        detector=detector,
        finalized=finalized,
        pending_beats=beats,
        classes=classes,
        pending_classes=pending_classes,
    )
    closable = memory.frontier if memory.detector is None else min(finalized, memory.frontier)
    if classes is not None and classes.pending >= 0:  # its window waits for its class
        closable = min(closable, classes.pending)
    return _close(memory, closable // size)


def finish(memory: AnalyserMemory) -> tuple[list[WindowResult], EcgResult]:
    """Close the ECG: its remaining windows (the last one may be partial) and its totals."""
    if memory.detector is not None:
        assert memory.beat_detector is not None
        last = memory.beat_detector.finish(memory.detector)
        memory = replace(
            memory,
            detector=None,
            pending_beats=_append_beats(memory.pending_beats, last, memory.previous.beat),
        )
        if memory.classes is not None and memory.config.sampling_rate is not None:
            nothing = np.zeros((memory.n_leads, 0), dtype=np.int32)
            classes, decided = classify_beats(
                memory.classes,
                nothing,
                np.asarray(last, dtype=np.int64),
                memory.config.sampling_rate,
            )
            classes, final = finish_classes(classes)
            pending = _append_classes(_append_classes(memory.pending_classes, decided), final)
            memory = replace(memory, classes=classes, pending_classes=pending)
    size = memory.config.window_samples
    memory, closed = _close(memory, -(-memory.frontier // size))
    if memory.events is not None and memory.config.sampling_rate is not None:
        events, ended = finish_events(memory.events, memory.config.sampling_rate)
        memory = replace(memory, events=events)
        if ended and closed:  # (the detector holds the last window open until finish)
            closed[-1] = replace(closed[-1], events=closed[-1].events + tuple(ended))
    return closed, summary_so_far(memory)


def summary_so_far(memory: AnalyserMemory) -> EcgResult:
    """The ECG's result over the windows closed so far: what ``finish`` would give for
    an ECG that ended at the end of its last closed window. The carried totals hold
    exactly those windows (``_close`` adds a window to them as it emits it), so this
    reads them without touching the open windows or the detector; once ``finish`` has
    closed every window it *is* the final result.

    A lead's samples are those within the closed windows (all of them once every window
    is closed), its zero crossings, mean, extremes and quality verdicts those of the
    closed windows, and the rhythm that of their beats.
    """
    closed_until = min(memory.next_window * memory.config.window_samples, memory.frontier)
    samples = np.minimum(memory.lead_samples, closed_until).tolist()
    leads = tuple(
        lead_result(
            samples[i],
            int(memory.totals[TOTAL_CROSSINGS, i]),
            memory.sums[i],
            (int(memory.totals[TOTAL_MIN, i]), int(memory.totals[TOTAL_MAX, i])),
            memory.config.scale(i),
            judge_ecg(memory.totals[TOTAL_VERDICTS:, i]),
        )
        for i in range(memory.n_leads)
    )
    burden, counts = _event_totals(memory, closed_until)
    classes = tuple(zip(CLASS_LETTERS, memory.class_totals.tolist(), strict=True))
    return EcgResult(memory.next_window, leads, _rhythm(memory, memory.rr), burden, counts, classes)


def _event_totals(
    memory: AnalyserMemory, closed_until: int
) -> tuple[Measure, tuple[tuple[str, int], ...]]:
    """The share of the closed windows' time in atrial fibrillation, and the events
    started so far per type."""
    if memory.events is None:
        reason = memory.no_beats_reason or NO_SAMPLING_RATE
        return Measure.missing(reason), tuple((kind, 0) for kind in EVENT_TYPES)
    counts = tuple(memory.events.counts().items())
    if closed_until <= 0:
        return Measure.missing("no window closed yet"), counts
    return Measure(100 * min(memory.events.af_samples, closed_until) / closed_until), counts


def _check_range(leads: Sequence[NDArray[np.integer[Any]]]) -> None:
    """Raises ``ValueError`` unless every sample fits the pieces' int32."""
    for i, lead in enumerate(leads):
        wide = lead.dtype.itemsize > 4 or lead.dtype == np.uint32
        if lead.size and wide and (int(lead.min()) < INT32_MIN or int(lead.max()) > INT32_MAX):
            raise ValueError(f"lead {i} has samples beyond the signed 32-bit range")


def _as_matrix(
    memory: AnalyserMemory, leads: Sequence[NDArray[np.integer[Any]]], a: int, b: int
) -> Int32s:
    """Samples ``[a, b)`` of the chunk as leads by samples (one piece at a time: the copy
    stays in the CPU cache for the passes over it); a lead that ends goes on with its
    last value, so the detector always sees every lead (its statistics use only its own
    samples)."""
    x = np.empty((len(leads), b - a), dtype=np.int32)
    for i, lead in enumerate(leads):
        n = max(min(lead.size, b) - a, 0)
        x[i, :n] = lead[a : a + n]
        if n < b - a:
            had = memory.lead_samples[i] > 0
            x[i, n:] = lead[-1] if lead.size else (memory.carry.values[Carry.LAST, i] if had else 0)
    return x


def _add_piece(
    memory: AnalyserMemory,
    open_stats: Int64s,
    carry: LeadCarry,
    x: Int32s,
    sizes: Int64s,
    offset: int,
) -> tuple[Int64s, LeadCarry]:
    """Add the piece ``x`` of a chunk (starting ``offset`` samples into it) to the
    statistics of the open windows; leads that end in it count only their samples."""
    start, size = memory.frontier + offset, memory.config.window_samples
    length, bands = x.shape[1], bands_for(memory.config.sampling_rate)
    ends = list(range((start // size + 1) * size - start, length + 1, size))
    bounds = [0, *ends, length]
    full = np.flatnonzero(sizes == length)
    if full.size == memory.n_leads:
        segments, carry = accumulate(carry, x, start, bounds, bands)
    else:
        segments = empty_stats(memory.n_leads, len(bounds) - 1)
        carry = LeadCarry(carry.values.copy(), carry.tail.copy(), carry.blocks.copy())
        ending = [np.array([i]) for i in np.flatnonzero((sizes > 0) & (sizes < length))]
        for rows in [full, *ending]:
            if rows.size == 0:
                continue
            n = int(sizes[rows[0]])
            clipped = [min(bound, n) for bound in bounds]
            stats, new = accumulate(carry.rows(rows), x[rows, :n], start, clipped, bands)
            segments[:, :, rows] = stats
            carry.put(rows, new)
    merged = open_stats.copy()
    merged[-1] = merge_stats(merged[-1], segments[0])
    return np.concatenate((merged, segments[1:])), carry


_NO_CLASSES = np.zeros(0, dtype=np.int8)
CLASS_LETTERS_ARRAY = np.frombuffer(CLASS_LETTERS.encode(), dtype=np.uint8)


def _append_classes(pending: NDArray[np.int8], decided: NDArray[np.int8]) -> NDArray[np.int8]:
    return np.concatenate((pending, decided)) if decided.size else pending


def _append_beats(pending: Int64s, found: NDArray[np.int64], previous: int) -> Int64s:
    found = np.asarray(found, dtype=np.int64)
    if found.size == 0:
        return pending
    last = int(pending[-1]) if pending.size else previous
    if int(found[0]) <= last or (found.size > 1 and bool(np.any(np.diff(found) <= 0))):
        raise ValueError("the beat detector reported beats out of order")
    return np.concatenate((pending, found))


def _close(memory: AnalyserMemory, until: int) -> tuple[AnalyserMemory, list[WindowResult]]:
    """Emit the windows before window index ``until``."""
    if until <= memory.next_window:
        return memory, []
    size, rate, n = memory.config.window_samples, memory.config.sampling_rate, memory.n_leads
    count = until - memory.next_window
    closing, remaining = memory.open[:count], memory.open[count:]
    if remaining.shape[0] == 0:
        remaining = empty_stats(n)
    # Each lead's range so far, at the end of each closing window.
    lows = np.minimum.accumulate(
        np.concatenate((memory.totals[None, TOTAL_MIN], closing[:, Stat.MIN])), axis=0
    )[1:]
    highs = np.maximum.accumulate(
        np.concatenate((memory.totals[None, TOTAL_MAX], closing[:, Stat.MAX])), axis=0
    )[1:]
    qualities = judge_windows(closing, [_lead_scale(memory, i) for i in range(n)], lows, highs)
    units = [memory.config.scale(i) for i in range(n)]
    first = memory.next_window
    starts = [index * size for index in range(first, until)]
    ends = [min(start + size, memory.frontier) for start in starts]
    beats = memory.pending_beats
    cuts = [0, *np.searchsorted(beats, ends).tolist()]
    mine = beats[: cuts[-1]]
    if memory.classes is not None and memory.pending_classes.size < mine.size:
        raise ValueError("a window closed before the classes of its beats were decided")
    letters = (
        CLASS_LETTERS_ARRAY[memory.pending_classes[: mine.size]].tobytes().decode()
        if memory.classes is not None
        else ""
    )
    class_totals = memory.class_totals
    if letters:
        class_totals = class_totals + np.bincount(
            memory.pending_classes[: mine.size], minlength=len(CLASS_LETTERS)
        )
    # A window's beats start at or after its start, which is the previous window's end,
    # unless it is the first one: a beat before it came too late.
    if mine.size and int(mine[0]) < starts[0]:
        raise ValueError(f"the beat detector reported beat {int(mine[0])} too late")
    previous, rr = memory.previous, memory.rr
    normal = memory.pending_classes[: mine.size] == N_CLASS if letters else None
    if rate is not None and memory.no_beats_reason is None:
        counts = [b - a for a, b in itertools.pairwise(cuts)]
        window_rr, added, previous = sum_window_intervals(mine, counts, previous, rate, normal)
        rr = rr + added
        rhythms = [rhythm_measures(sums, rate) for sums in window_rr]
    else:
        rhythms = [_rhythm(memory, RrSums())] * count  # immutable: one for every window
    events = memory.events
    window_events: list[tuple[RhythmEvent, ...]] = [()] * count
    rhythm_verdicts = ["unknown"] * count
    if events is not None and rate is not None:
        known = memory.pending_classes[: mine.size] if memory.classes is not None else None
        events, decided, states = follow_beats(events, mine, rate, known)
        if decided:
            at = np.searchsorted(ends, [event.decided_at for event in decided], side="right")
            pairs = zip(at.tolist(), decided, strict=True)
            for k, group in itertools.groupby(pairs, key=lambda pair: pair[0]):
                window_events[k] = tuple(event for _, event in group)
        for k, (a, b) in enumerate(itertools.pairwise(cuts)):
            if b > a:
                rhythm_verdicts[k] = VERDICTS[int(np.bincount(states[a:b], minlength=4).argmax())]
    verdicts = [[0] * n for _ in QUALITY_VERDICTS]
    verdict_rows = {verdict: row for row, verdict in enumerate(QUALITY_VERDICTS)}
    closed: list[WindowResult] = []
    for k, stats in enumerate(closing[:, _SHOWN].transpose(0, 2, 1).tolist()):  # [lead][stat]
        leads = []
        for i, (column, quality) in enumerate(zip(stats, qualities[k], strict=True)):
            verdicts[verdict_rows[quality.verdict]][i] += 1
            samples, crossings, total, low, high = column
            leads.append(lead_result(samples, crossings, total, (low, high), units[i], quality))
        window = WindowResult(
            first + k,
            starts[k],
            ends[k],
            tuple(leads),
            mine[cuts[k] : cuts[k + 1]],
            rhythms[k],
            rhythm_verdicts[k],
            window_events[k],
            letters[cuts[k] : cuts[k + 1]],
        )
        closed.append(window)
    totals = memory.totals.copy()
    totals[TOTAL_MIN], totals[TOTAL_MAX] = lows[-1], highs[-1]
    totals[TOTAL_CROSSINGS] += closing[:, Stat.ZERO_CROSSINGS].sum(axis=0)
    totals[TOTAL_VERDICTS:] += np.array(verdicts, dtype=np.int64)
    added_sums = [sum(lead) for lead in zip(*closing[:, Stat.SUM].tolist(), strict=True)]  # exact
    sums = [total + more for total, more in zip(memory.sums, added_sums, strict=True)]
    return (
        replace(
            memory,
            next_window=until,
            open=remaining,
            totals=totals,
            sums=tuple(sums),
            pending_beats=beats[cuts[-1] :],
            pending_classes=memory.pending_classes[cuts[-1] :]
            if letters
            else memory.pending_classes,
            class_totals=class_totals,
            previous=previous,
            rr=rr,
            events=events,
        ),
        closed,
    )


def _lead_scale(memory: AnalyserMemory, lead: int) -> LeadScale:
    rate = memory.config.sampling_rate
    return LeadScale(memory.config.scale(lead)[0], rate, bands_for(rate))


def _rhythm(memory: AnalyserMemory, sums: RrSums) -> Rhythm:
    if memory.no_beats_reason is not None:
        return missing_rhythm(memory.no_beats_reason)
    return rhythm_measures(sums, memory.config.sampling_rate)
