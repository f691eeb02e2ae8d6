"""Heart rate, RR intervals and time-domain heart-rate variability, from beat indices.

RR intervals are counted in samples and summed as Python integers (count, sum, sum
of squares, shortest, longest, successive differences, their squares, NN50), so the
sums of consecutive windows add up to the sums of the ECG exactly; milliseconds and
beats per minute appear only in ``rhythm_measures``. A window's intervals are those
that *end* at one of its beats, the first one reaching back to the previous beat
(carried across windows), and likewise for successive differences. Every beat
counts as a normal beat: there is no ectopic-beat filtering.

Definitions (Task Force of the ESC and NASPE, "Heart rate variability: standards of
measurement", Circulation 93(5):1043-1065, 1996): heart rate = 60 / mean RR (bpm);
SDNN = sample standard deviation of RR; RMSSD = root mean square of successive RR
differences; pNN50 = share of successive differences larger than 50 ms (%). Over a
10 s window these are "ultra-short-term" values, far noisier than 5-minute ones.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from streams.analysis.measures import NO_SAMPLING_RATE, Measure


@dataclass(frozen=True)
class RrSums:
    """Integer sums over RR intervals (in samples)."""

    beats: int = 0
    intervals: int = 0
    total: int = 0
    squares: int = 0
    shortest: int = 0  # meaningful when intervals > 0
    longest: int = 0
    differences: int = 0
    difference_squares: int = 0
    nn50: int = 0

    def __add__(self, other: RrSums) -> RrSums:
        if not self.intervals or not other.intervals:
            extremes = other if other.intervals else self
            shortest, longest = extremes.shortest, extremes.longest
        else:
            shortest = min(self.shortest, other.shortest)
            longest = max(self.longest, other.longest)
        return RrSums(
            beats=self.beats + other.beats,
            intervals=self.intervals + other.intervals,
            total=self.total + other.total,
            squares=self.squares + other.squares,
            shortest=shortest,
            longest=longest,
            differences=self.differences + other.differences,
            difference_squares=self.difference_squares + other.difference_squares,
            nn50=self.nn50 + other.nn50,
        )

    def to_ints(self) -> list[int]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_ints(cls, values: list[int]) -> RrSums:
        return cls(*values)


def sum_intervals(
    beats: NDArray[np.int64], previous_beat: int, previous_rr: int, sampling_rate: float
) -> tuple[RrSums, int, int]:
    """The sums over ``beats`` (ascending sample indices), the intervals reaching back
    to ``previous_beat`` (-1: none) and the differences to ``previous_rr`` (-1: none).
    Returns the sums and the last beat and interval to carry on."""
    indices = beats.tolist()
    if previous_beat >= 0:
        indices.insert(0, previous_beat)
    rrs = [b - a for a, b in itertools.pairwise(indices)]
    chained = ([previous_rr] if previous_rr >= 0 else []) + rrs
    steps = [b - a for a, b in itertools.pairwise(chained)]
    sums = RrSums(
        beats=beats.size,
        intervals=len(rrs),
        total=sum(rrs),
        squares=sum(rr * rr for rr in rrs),
        shortest=min(rrs, default=0),
        longest=max(rrs, default=0),
        differences=len(steps),
        difference_squares=sum(step * step for step in steps),
        # |difference| > 50 ms, i.e. 20 |difference| > fs: exact for integer differences.
        nn50=sum(1 for step in steps if 20 * abs(step) > sampling_rate),
    )
    last_beat = indices[-1] if indices else previous_beat
    return sums, last_beat, chained[-1] if chained else previous_rr


def sum_window_intervals(
    beats: NDArray[np.int64],
    counts: list[int],
    previous_beat: int,
    previous_rr: int,
    sampling_rate: float,
) -> tuple[list[RrSums], RrSums, int, int]:
    """``sum_intervals`` for one or more consecutive windows at once: window ``k`` has
    the next ``counts[k]`` of ``beats``. Returns the sums per window, their total, and the
    last beat and interval to carry on.

    Each interval and difference belongs to the beat it ends at, so a window's sums are
    differences of cumulative sums over the beats: int64 holds them exactly while every
    interval, ``previous_rr`` and all beats' span are below 2**30 (the sums of squares
    stay below 2**62), as always in an ECG; otherwise windows are summed one by one.
    """
    n = beats.size
    span = int(beats[-1]) - (previous_beat if previous_beat >= 0 else int(beats[0])) if n else 0
    if n == 0 or len(counts) < _BATCH or max(span, previous_rr) >= 2**30:
        return _sum_one_by_one(beats, counts, previous_beat, previous_rr, sampling_rate)
    first = 0 if previous_beat >= 0 else 1  # the first beat that ends an interval
    rr = np.zeros(n, dtype=np.int64)
    rr[first:] = beats[first:] - np.concatenate(([previous_beat], beats[:-1]))[first:]
    first_step = first if previous_rr >= 0 else first + 1  # the first that ends a difference
    steps = np.zeros(n, dtype=np.int64)
    if first_step < n:
        before = np.concatenate(([previous_rr], rr[first:-1]))  # the interval before each
        steps[first_step:] = rr[first_step:] - before[first_step - first :]
    cuts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=cuts[1:])
    totals = []
    for values in (rr, rr * rr, steps * steps, 20 * np.abs(steps) > sampling_rate):
        running = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(values, out=running[1:])
        totals.append(np.diff(running[cuts]).tolist())
    total, squares, difference_squares, nn50 = totals
    intervals = np.diff(np.maximum(cuts - first, 0)).tolist()
    differences = np.diff(np.maximum(cuts - first_step, 0)).tolist()
    shortest, longest = [0] * len(counts), [0] * len(counts)
    some = np.flatnonzero(np.diff(cuts))  # windows with beats, whose extremes are set
    starts = cuts[some]
    unset = rr.copy()  # for the minima: no interval ends at a first beat without one before
    unset[:first] = np.iinfo(np.int64).max
    lows = np.minimum.reduceat(unset, starts).tolist()
    highs = np.maximum.reduceat(rr, starts).tolist()  # intervals are >= 0 (as rr[:first])
    for k, low, high in zip(some.tolist(), lows, highs, strict=True):
        if intervals[k]:
            shortest[k], longest[k] = low, high
    windows = [
        RrSums(*values)
        for values in zip(
            counts,
            intervals,
            total,
            squares,
            shortest,
            longest,
            differences,
            difference_squares,
            nn50,
            strict=True,
        )
    ]
    measured = [k for k, count in enumerate(intervals) if count]
    all_windows = RrSums(
        beats=n,
        intervals=sum(intervals),
        total=sum(total),
        squares=sum(squares),
        shortest=min((shortest[k] for k in measured), default=0),
        longest=max((longest[k] for k in measured), default=0),
        differences=sum(differences),
        difference_squares=sum(difference_squares),
        nn50=sum(nn50),
    )
    last_rr = int(rr[-1]) if n > first else previous_rr
    return windows, all_windows, int(beats[-1]), last_rr


_BATCH = 8  # windows: for fewer, the vectorised passes cost more than they save


def _sum_one_by_one(
    beats: NDArray[np.int64],
    counts: list[int],
    previous_beat: int,
    previous_rr: int,
    sampling_rate: float,
) -> tuple[list[RrSums], RrSums, int, int]:
    windows: list[RrSums] = []
    cut = 0
    for count in counts:
        sums, previous_beat, previous_rr = sum_intervals(
            beats[cut : cut + count], previous_beat, previous_rr, sampling_rate
        )
        windows.append(sums)
        cut += count
    all_windows = windows[0]
    for sums in windows[1:]:
        all_windows += sums
    return windows, all_windows, previous_beat, previous_rr


@dataclass(frozen=True)
class Rhythm:
    beat_count: Measure
    heart_rate_bpm: Measure
    rr_count: Measure
    rr_mean_ms: Measure
    rr_min_ms: Measure
    rr_max_ms: Measure
    sdnn_ms: Measure
    rmssd_ms: Measure
    pnn50_percent: Measure


@functools.lru_cache(maxsize=64)
def missing_rhythm(reason: str) -> Rhythm:
    """Every measure missing for ``reason``: one shared instance per reason."""
    return Rhythm(*(Measure.missing(reason) for _ in fields(Rhythm)))


def rhythm_measures(sums: RrSums, sampling_rate: float | None) -> Rhythm:
    if sampling_rate is None:
        return missing_rhythm(NO_SAMPLING_RATE)
    ms = 1000 / sampling_rate
    n, total = sums.intervals, sums.total
    one = _needs(n, 1, "RR interval")
    two = _needs(n, 2, "RR interval")
    step = _needs(sums.differences, 1, "successive RR difference")
    return Rhythm(
        beat_count=Measure(sums.beats),
        heart_rate_bpm=one or Measure(60 * sampling_rate * n / total),
        rr_count=Measure(n),
        rr_mean_ms=one or Measure(total / n * ms),
        rr_min_ms=one or Measure(sums.shortest * ms),
        rr_max_ms=one or Measure(sums.longest * ms),
        sdnn_ms=two or Measure(math.sqrt((n * sums.squares - total * total) / (n * (n - 1))) * ms),
        rmssd_ms=step or Measure(math.sqrt(sums.difference_squares / sums.differences) * ms),
        pnn50_percent=step or Measure(100 * sums.nn50 / sums.differences),
    )


def _needs(have: int, needed: int, what: str) -> Measure | None:
    if have >= needed:
        return None
    plural = "s" if needed > 1 else ""
    return Measure.missing(f"needs {needed} {what}{plural}, has {have}")
