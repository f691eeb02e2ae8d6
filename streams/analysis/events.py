"""Rhythm events, decided beat by beat as the final beats arrive with their classes:
atrial fibrillation, pauses, ventricular runs, bradycardia and tachycardia episodes.

The events follow the beats the detector has made final, in order, one beat at a time
(``_follow``, compiled): whatever the chunking, the same beats arrive in the same order,
so the same events are decided at the same beats. An event is reported when it is
decided, in the window of the beat that decided it: an episode twice, at its onset
(``end_sample`` None) and at its end, both with its ``number``; a pause once. The state
is a few integers, the last ``AF_INTERVALS`` intervals the AF check uses and the beats
that end them, and the last ``RATE_INTERVALS`` RR intervals, whatever the ECG's length.
Nothing is allocated per beat (the medians sort in a scratch array).

- **Pause**: an RR interval of at least ``PAUSE_S`` (2 s), from the beat before it to
  the beat after it.
- **Bradycardia** / **tachycardia**: the mean heart rate over the last ``RATE_INTERVALS``
  (8) RR intervals below ``BRADY_BPM`` (50) / above ``TACHY_BPM`` (120); the episode
  starts at the first beat of those intervals and ends when the rate over the last 8
  is back beyond ``BRADY_END_BPM`` (55) / ``TACHY_END_BPM`` (110), at that beat.
- **Ventricular run**: ``RUN_BEATS`` (3) or more V beats in a row (a triplet, or
  ventricular tachycardia), reported at its third beat and at the first beat after it.
- **Atrial fibrillation**: the RR intervals are irregular and follow no pattern.
  The method is after the RR-irregularity detectors of Tateno K, Glass L, "Automatic
  detection of atrial fibrillation using the coefficient of variation and density
  histograms of RR and deltaRR intervals", Med Biol Eng Comput 39:664-671, 2001, and
  Petrenas A, Marozas V, Sornmo L, "Low-complexity detection of atrial fibrillation in
  continuous long-term monitoring", Comput Biol Med 65:184-191, 2015: over the last
  ``AF_INTERVALS`` (32) RR intervals, the median absolute successive difference
  relative to the median interval measures the irregularity. Intervals next to a V, F
  or Q beat are left out, and so are both intervals around a beat that comes early
  and is followed by a compensating pause (``_ectopic``), so that ectopic beats do not
  read as irregularity. A regular pattern (bigeminy, trigeminy:
  few distinct successive-difference pairs) is not AF however large its differences:
  the pairs of successive differences, in cells of ``AF_CELL`` of the median interval,
  must fill at least ``AF_CELLS`` cells (after the Lorenz-plot "irregularity evidence"
  of Sarkar S, Ritscher D, Mehra R, "A detector for a chronic implantable atrial
  tachyarrhythmia monitor", IEEE Trans Biomed Eng 55(3):1219-1224, 2008). An episode
  starts where its window of intervals starts; it ends once the rhythm has looked
  regular (either measure below ``AF_END_RATIO`` of its threshold) for
  ``AF_CALM_BEATS`` (16) beats, at the middle of the window that first found it so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from numpy.typing import NDArray

from streams.analysis.beat_classes import F_CLASS, N_CLASS, Q_CLASS, V_CLASS
from streams.analysis.compiled import compiled

EVENT_TYPES: Final = ("af", "pause", "ventricular_run", "bradycardia", "tachycardia")
AF, PAUSE, VENTRICULAR_RUN, BRADYCARDIA, TACHYCARDIA = range(5)
VERDICTS: Final = ("normal", "af", "bradycardia", "tachycardia", "unknown")

PAUSE_S: Final = 2.0
RATE_INTERVALS: Final = 8
BRADY_BPM, BRADY_END_BPM = 50.0, 55.0
TACHY_BPM, TACHY_END_BPM = 120.0, 110.0
AF_INTERVALS: Final = 32
AF_IRREGULARITY: Final = 0.10
AF_END_RATIO: Final = 0.8
AF_CELL: Final = 0.06
AF_CELLS: Final = 16
ECTOPIC_EARLY, ECTOPIC_PAUSE, ECTOPIC_COMPENSATION = 0.85, 1.3, 0.2

Ints = NDArray[np.int64]
_NO_CLASSES = np.zeros(0, dtype=np.int8)

# Scalars of the state (the int64 array ``EventMemory.scalars``).
_LAST_BEAT, _INTERVALS, _NEXT_NUMBER, _PENDING, _AF_INTERVALS = range(5)
_EPISODE = 5  # then, per episode kind (af, bradycardia, tachycardia), _EPISODE_FIELDS
_ON, _START, _NUMBER, _BEATS, _RR_TOTAL, _LONGEST = range(6)
_EPISODE_FIELDS = 6
_KINDS = (AF, BRADYCARDIA, TACHYCARDIA)
_COUNTS = _EPISODE + _EPISODE_FIELDS * len(_KINDS)  # then the events started, per type
_AF_DONE = _COUNTS + len(EVENT_TYPES)  # samples of the AF episodes that ended
_AF_LAST_END = _AF_DONE + 1  # where the last one ended (a new one starts after it)
# The run of ventricular beats going on: its beats, first and last beat, the sum and
# the longest of its intervals, its event number; then the class of the last beat.
_RUN_BEATS, _RUN_FIRST, _RUN_LAST, _RUN_RR, _RUN_LONGEST, _RUN_NUMBER, _LAST_CLASS = range(
    _AF_LAST_END + 1, _AF_LAST_END + 8
)
_AF_CALM, _AF_CALM_END = _LAST_CLASS + 1, _LAST_CLASS + 2  # beats regular since where
N_SCALARS = _AF_CALM_END + 1
AF_CALM_BEATS: Final = 16
RUN_BEATS: Final = 3  # ventricular beats in a row that make a run

# Columns of a reported event row.
_TYPE, _ROW_NUMBER, _ROW_START, _ROW_END, _ROW_BEATS, _ROW_RR, _ROW_LONGEST = range(7)
_ROW_WIDTH = 8  # and the beat that decided it


@dataclass(frozen=True)
class RhythmEvent:
    """An event as decided at ``decided_at`` (a beat's sample index).

    ``number`` identifies the event within its ECG (onsets are numbered from 0 in
    order); an episode is reported at its onset with ``end_sample`` None and again
    once it has ended. ``beats`` counts the beats from its start to the beat that
    decided this report; ``heart_rate_bpm`` and ``longest_rr_ms`` are over their RR
    intervals."""

    type: str
    number: int
    start_sample: int
    end_sample: int | None
    beats: int
    heart_rate_bpm: float | None
    longest_rr_ms: float | None
    decided_at: int


@dataclass(frozen=True, eq=False)
class EventMemory:
    scalars: Ints  # (N_SCALARS,)
    intervals: Ints  # (AF_INTERVALS,) the last intervals without ectopic beats, oldest first
    ends: Ints  # (AF_INTERVALS,) the beat that ends each of them
    recent: Ints  # (RATE_INTERVALS,) the last RR intervals, oldest first (samples)

    @property
    def af_samples(self) -> int:
        """Samples within AF episodes so far (an ongoing one up to its last beat)."""
        s = self.scalars
        done = int(s[_AF_DONE])
        af = _EPISODE + _EPISODE_FIELDS * 0
        if s[af + _ON]:
            done += int(s[_LAST_BEAT] - s[af + _START])
        return done

    def counts(self) -> dict[str, int]:
        """Events started so far, per type."""
        return {kind: int(self.scalars[_COUNTS + k]) for k, kind in enumerate(EVENT_TYPES)}


def start_events() -> EventMemory:
    scalars = np.zeros(N_SCALARS, dtype=np.int64)
    scalars[_LAST_BEAT] = -1
    return EventMemory(
        scalars,
        np.zeros(AF_INTERVALS, dtype=np.int64),
        np.zeros(AF_INTERVALS, dtype=np.int64),
        np.zeros(RATE_INTERVALS, dtype=np.int64),
    )


def follow_beats(
    memory: EventMemory, beats: Ints, rate: float, classes: NDArray[np.int8] | None = None
) -> tuple[EventMemory, list[RhythmEvent], NDArray[np.int8]]:
    """Follow the next final ``beats`` (ascending). Returns the new memory, the events
    they decided (in order) and, per beat, the rhythm it was in when it came: an index
    into ``VERDICTS`` (normal, af, bradycardia, tachycardia)."""
    new = EventMemory(
        memory.scalars.copy(), memory.intervals.copy(), memory.ends.copy(), memory.recent.copy()
    )
    rows, states = _follow(
        np.ascontiguousarray(beats, dtype=np.int64),
        _NO_CLASSES if classes is None else np.ascontiguousarray(classes, dtype=np.int8),
        new.scalars,
        new.intervals,
        new.ends,
        new.recent,
        float(rate),
    )
    return new, [_event(row, rate) for row in rows.tolist()], states


def _event(row: list[int], rate: float) -> RhythmEvent:
    intervals = row[_ROW_BEATS] - 1
    rr_total = row[_ROW_RR]
    return RhythmEvent(
        type=EVENT_TYPES[row[_TYPE]],
        number=row[_ROW_NUMBER],
        start_sample=row[_ROW_START],
        end_sample=None if row[_ROW_END] < 0 else row[_ROW_END],
        beats=row[_ROW_BEATS],
        heart_rate_bpm=60 * rate * intervals / rr_total if intervals > 0 and rr_total else None,
        longest_rr_ms=1000 * row[_ROW_LONGEST] / rate if intervals > 0 else None,
        decided_at=row[_ROW_WIDTH - 1],
    )


@compiled()
def _push(ring: Ints, value: int) -> None:  # pragma: no cover - compiled
    """Append ``value`` to ``ring`` (oldest first), dropping the oldest."""
    for j in range(ring.size - 1):
        ring[j] = ring[j + 1]
    ring[ring.size - 1] = value


@compiled()
def _sorted_median(work: Ints, size: int) -> float:  # pragma: no cover - compiled
    """The median of ``work[:size]``, which it sorts in place (insertion sort: the
    arrays are a few dozen values, and nothing is allocated per beat)."""
    for i in range(1, size):
        value = work[i]
        j = i - 1
        while j >= 0 and work[j] > value:
            work[j + 1] = work[j]
            j -= 1
        work[j + 1] = value
    middle: float = 0.5 * (work[(size - 1) // 2] + work[size // 2])
    return middle


@compiled()
def _median(values: Ints, size: int, work: Ints) -> float:  # pragma: no cover - compiled
    """The median of ``values[:size]``, sorted in ``work``."""
    for j in range(size):
        work[j] = values[j]
    return _sorted_median(work, size)


@compiled()
def _ectopic(before: int, after: int, reference: float) -> bool:  # pragma: no cover
    """Whether the beat between intervals ``before`` and ``after`` looks ectopic: early
    against the ``reference`` interval, then a longer, compensating interval."""
    return (
        before < ECTOPIC_EARLY * reference
        and after > ECTOPIC_PAUSE * before
        and abs(before + after - 2 * reference) < ECTOPIC_COMPENSATION * 2 * reference
    )


@compiled()
def _cells(ring: Ints, median: float, codes: Ints) -> int:  # pragma: no cover - compiled
    """Distinct cells of ``AF_CELL`` x the median interval that the pairs of successive
    differences of the intervals fall in (a Lorenz plot of the differences); ``codes``
    is room for them."""
    size = ring.size
    cell = AF_CELL * median
    for j in range(size - 2):
        a = np.int64(np.floor((ring[j + 1] - ring[j]) / cell))
        b = np.int64(np.floor((ring[j + 2] - ring[j + 1]) / cell))
        codes[j] = a * 4096 + b
    _sorted_median(codes, size - 2)
    distinct = 1
    for j in range(1, size - 2):
        if codes[j] != codes[j - 1]:
            distinct += 1
    return distinct


@compiled()
def _episode(
    s: Ints,
    rows: Ints,
    used: int,
    slot: int,
    kind: int,
    onset: bool,
    ended: bool,
    start: int,
    end: int,
    beat: int,
    ring: Ints,
) -> int:  # pragma: no cover - compiled
    """Start or end the episode of ``kind`` (in state ``slot``) and report it."""
    e = _EPISODE + _EPISODE_FIELDS * slot
    if not s[e + _ON] and onset:
        s[e + _ON] = 1
        s[e + _START] = start
        s[e + _NUMBER] = s[_NEXT_NUMBER]
        s[_NEXT_NUMBER] += 1
        s[_COUNTS + kind] += 1
        s[e + _BEATS] = ring.size + 1
        total = 0
        longest = 0
        for j in range(ring.size):
            total += ring[j]
            if ring[j] > longest:
                longest = ring[j]
        s[e + _RR_TOTAL] = total
        s[e + _LONGEST] = longest
        end = -1
    elif s[e + _ON] and ended:
        s[e + _ON] = 0
        end = max(end, s[e + _START])
        if kind == AF:
            s[_AF_DONE] += end - s[e + _START]
            s[_AF_LAST_END] = end
    else:
        return used
    rows[used, _TYPE] = kind
    rows[used, _ROW_NUMBER] = s[e + _NUMBER]
    rows[used, _ROW_START] = s[e + _START]
    rows[used, _ROW_END] = end
    rows[used, _ROW_BEATS] = s[e + _BEATS]
    rows[used, _ROW_RR] = s[e + _RR_TOTAL]
    rows[used, _ROW_LONGEST] = s[e + _LONGEST]
    rows[used, _ROW_WIDTH - 1] = beat
    return used + 1


@compiled()
def _left_out(kind: int) -> bool:  # pragma: no cover - compiled
    """Whether the AF check leaves out the intervals next to a beat of this class."""
    return kind in (V_CLASS, F_CLASS, Q_CLASS)


@compiled()
def _run(s: Ints, rows: Ints, used: int, beat: int, kind: int, rr: int) -> int:  # pragma: no cover
    """Follow the run of ventricular beats: report it at its third beat and at its end
    (the first beat that is not ventricular)."""
    if kind == V_CLASS:
        if s[_RUN_BEATS] == 0:
            s[_RUN_FIRST], s[_RUN_RR], s[_RUN_LONGEST] = beat, 0, 0
        else:
            s[_RUN_RR] += rr
            s[_RUN_LONGEST] = max(s[_RUN_LONGEST], rr)
        s[_RUN_BEATS] += 1
        s[_RUN_LAST] = beat
        if s[_RUN_BEATS] != RUN_BEATS:
            return used
        s[_RUN_NUMBER] = s[_NEXT_NUMBER]
        s[_NEXT_NUMBER] += 1
        s[_COUNTS + VENTRICULAR_RUN] += 1
        end = -1
    else:
        run = s[_RUN_BEATS]
        s[_RUN_BEATS] = 0
        if run < RUN_BEATS:
            return used
        end = s[_RUN_LAST]
    rows[used, _TYPE] = VENTRICULAR_RUN
    rows[used, _ROW_NUMBER] = s[_RUN_NUMBER]
    rows[used, _ROW_START] = s[_RUN_FIRST]
    rows[used, _ROW_END] = end
    rows[used, _ROW_BEATS] = s[_RUN_BEATS] if end < 0 else run
    rows[used, _ROW_RR] = s[_RUN_RR]
    rows[used, _ROW_LONGEST] = s[_RUN_LONGEST]
    rows[used, _ROW_WIDTH - 1] = beat
    return used + 1


_FOLLOW = (
    "Tuple((int64[:, ::1], int8[::1]))"
    "(int64[::1], int8[::1], int64[::1], int64[::1], int64[::1], int64[::1], float64)"
)


@compiled(_FOLLOW)
def _follow(
    beats: Ints,
    classes: NDArray[np.int8],
    s: Ints,
    ring: Ints,
    ends: Ints,
    recent: Ints,
    rate: float,
) -> tuple[Ints, NDArray[np.int8]]:  # pragma: no cover - compiled; see follow_beats
    n = beats.size
    rows = np.zeros((4 * n + 4, _ROW_WIDTH), dtype=np.int64)
    states = np.zeros(n, dtype=np.int8)
    used = 0
    pause = PAUSE_S * rate
    size = ring.size
    work = np.empty(max(size, RATE_INTERVALS), dtype=np.int64)  # room to sort in
    for k in range(n):
        beat = beats[k]
        last = s[_LAST_BEAT]
        s[_LAST_BEAT] = beat
        kind = classes[k] if classes.size else N_CLASS
        last_kind = s[_LAST_CLASS]
        s[_LAST_CLASS] = kind
        rr = beat - last if last >= 0 else 0
        used = _run(s, rows, used, beat, kind, rr)
        if last < 0:
            continue
        for slot in range(3):
            e = _EPISODE + _EPISODE_FIELDS * slot
            if s[e + _ON]:
                s[e + _BEATS] += 1
                s[e + _RR_TOTAL] += rr
                if rr > s[e + _LONGEST]:
                    s[e + _LONGEST] = rr
        if rr >= pause:
            rows[used, _TYPE] = PAUSE
            rows[used, _ROW_NUMBER] = s[_NEXT_NUMBER]
            rows[used, _ROW_START] = last
            rows[used, _ROW_END] = beat
            rows[used, _ROW_BEATS] = 2
            rows[used, _ROW_RR] = rr
            rows[used, _ROW_LONGEST] = rr
            rows[used, _ROW_WIDTH - 1] = beat
            used += 1
            s[_NEXT_NUMBER] += 1
            s[_COUNTS + PAUSE] += 1
        # The intervals before this one, for the ectopic-beat check below.
        reference = 0.0
        if s[_INTERVALS] >= RATE_INTERVALS:
            reference = _median(recent, RATE_INTERVALS - 1, work)
        _push(recent, rr)
        s[_INTERVALS] += 1
        if s[_INTERVALS] >= RATE_INTERVALS:  # the heart rate over the last intervals
            total = 0
            for j in range(RATE_INTERVALS):
                total += recent[j]
            bpm = 60.0 * rate * RATE_INTERVALS / total
            first = beat - total  # the first beat of those intervals
            used = _episode(
                s,
                rows,
                used,
                1,
                BRADYCARDIA,
                bpm < BRADY_BPM,
                bpm >= BRADY_END_BPM,
                first,
                beat,
                beat,
                recent,
            )
            used = _episode(
                s,
                rows,
                used,
                2,
                TACHYCARDIA,
                bpm > TACHY_BPM,
                bpm <= TACHY_END_BPM,
                first,
                beat,
                beat,
                recent,
            )
        # Atrial fibrillation, on the intervals without ectopic beats: the interval
        # before (pending) is taken once this one shows that its beat was not premature
        # with a compensatory pause.
        pending = s[_PENDING]
        s[_PENDING] = rr
        if _left_out(kind) or _left_out(last_kind):
            s[_PENDING] = 0  # an interval next to a ventricular beat or an artefact
        if pending <= 0:
            continue_af = False
        elif reference > 0 and _ectopic(pending, rr, reference):
            s[_PENDING] = 0  # both intervals around the ectopic beat are left out
            continue_af = False
        else:
            _push(ring, pending)
            _push(ends, last)
            s[_AF_INTERVALS] += 1
            continue_af = s[_AF_INTERVALS] >= size
        if continue_af:
            median = _median(ring, size, work)
            for j in range(size - 1):
                work[j] = abs(ring[j + 1] - ring[j])
            irregularity = _sorted_median(work, size - 1) / median
            cells = _cells(ring, median, work)
            onset = irregularity > AF_IRREGULARITY and cells >= AF_CELLS
            ended = irregularity < AF_IRREGULARITY * AF_END_RATIO or cells < AF_CELLS * AF_END_RATIO
            window_start = max(ends[0] - ring[0], s[_AF_LAST_END])
            # An episode ends once the rhythm has stayed regular for AF_CALM_BEATS, where
            # it first looked regular: a short regular stretch does not cut it in two.
            if ended and s[_EPISODE + _ON]:
                if s[_AF_CALM] == 0:
                    s[_AF_CALM_END] = ends[size // 2]
                s[_AF_CALM] += 1
                ended = s[_AF_CALM] >= AF_CALM_BEATS
            else:
                s[_AF_CALM] = 0
            used = _episode(
                s, rows, used, 0, AF, onset, ended, window_start, s[_AF_CALM_END], beat, ring
            )
            if ended:
                s[_AF_CALM] = 0
        state = 0
        if s[_EPISODE + _ON]:
            state = 1
        elif s[_EPISODE + _EPISODE_FIELDS + _ON]:
            state = 2
        elif s[_EPISODE + 2 * _EPISODE_FIELDS + _ON]:
            state = 3
        states[k] = state
    return rows[:used].copy(), states


def finish_events(memory: EventMemory, rate: float) -> tuple[EventMemory, list[RhythmEvent]]:
    """The ECG has ended: every episode still going on ends at its last beat."""
    scalars = memory.scalars.copy()
    beat = int(scalars[_LAST_BEAT])
    events = []
    for slot, kind in enumerate(_KINDS):
        e = _EPISODE + _EPISODE_FIELDS * slot
        if not scalars[e + _ON]:
            continue
        scalars[e + _ON] = 0
        if kind == AF:
            scalars[_AF_DONE] += beat - scalars[e + _START]
        row = [kind, *scalars[[e + _NUMBER, e + _START]].tolist(), beat]
        row += [*scalars[[e + _BEATS, e + _RR_TOTAL, e + _LONGEST]].tolist(), beat]
        events.append(_event(row, rate))
    if scalars[_RUN_BEATS] >= RUN_BEATS:
        row = [VENTRICULAR_RUN, *scalars[[_RUN_NUMBER, _RUN_FIRST, _RUN_LAST, _RUN_BEATS]].tolist()]
        row += [*scalars[[_RUN_RR, _RUN_LONGEST]].tolist(), beat]
        events.append(_event(row, rate))
    scalars[_RUN_BEATS] = 0
    events.sort(key=lambda event: event.number)
    return replace(memory, scalars=scalars), events
