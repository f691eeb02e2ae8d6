"""Heart rate, RR intervals and time-domain heart-rate variability, from beat indices.

RR intervals are counted in samples and summed as Python integers (count, sum,
shortest, longest; and over the NN intervals, those between two normal beats: count,
sum, sum of squares, successive differences, their sum and squares, NN50), so the
sums of consecutive windows add up to the sums of the ECG exactly; milliseconds and
beats per minute appear only in ``rhythm_measures``. A window's intervals are those
that *end* at one of its beats, the first one reaching back to the previous beat
(carried across windows), and likewise for successive differences.

Definitions (Task Force of the ESC and NASPE, "Heart rate variability: standards of
measurement", Circulation 93(5):1043-1065, 1996): heart rate = 60 / mean RR (bpm), over
every interval; the variability over NN intervals only, as the standard asks (an
interval touching an ectopic beat or an artefact, anything but an N beat, is left out,
and so is a difference touching such an interval): SDNN = sample standard deviation of
NN; RMSSD = root mean square of successive NN differences; pNN50 = share of successive
differences larger than 50 ms (%); SD1 and SD2 of the Poincare plot, with 2 minutes of
NN intervals or more. Over a 10 s window these are "ultra-short-term" values, far
noisier than 5-minute ones. Without classes every beat counts as normal.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from streams.analysis.measures import NO_SAMPLING_RATE, Measure


@dataclass(frozen=True)
class RrSums:
    """Integer sums over RR intervals (in samples): all of them (heart rate, RR
    statistics), and the NN intervals among them (HRV)."""

    beats: int = 0
    intervals: int = 0
    total: int = 0
    shortest: int = 0  # meaningful when intervals > 0
    longest: int = 0
    nn_intervals: int = 0
    nn_total: int = 0
    nn_squares: int = 0
    differences: int = 0  # successive differences of NN intervals
    difference_sum: int = 0
    difference_squares: int = 0
    nn50: int = 0

    def __add__(self, other: RrSums) -> RrSums:
        if not self.intervals or not other.intervals:
            extremes = other if other.intervals else self
            shortest, longest = extremes.shortest, extremes.longest
        else:
            shortest = min(self.shortest, other.shortest)
            longest = max(self.longest, other.longest)
        added = [a + b for a, b in zip(self.to_ints(), other.to_ints(), strict=True)]
        added[_SHORTEST], added[_LONGEST] = shortest, longest
        return RrSums(*added)

    def to_ints(self) -> list[int]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_ints(cls, values: list[int]) -> RrSums:
        return cls(*values)


_SHORTEST, _LONGEST = 3, 4  # (the fields' order)


@dataclass(frozen=True)
class Carried:
    """What the sums of the next windows reach back to: the last beat (-1: none),
    whether it was a normal beat, and the last interval if it was an NN interval (-1:
    none)."""

    beat: int = -1
    normal: bool = True
    nn: int = -1


def sum_intervals(
    beats: NDArray[np.int64],
    carried: Carried,
    sampling_rate: float,
    normal: NDArray[np.bool_] | None = None,
) -> tuple[RrSums, Carried]:
    """The sums over ``beats`` (ascending sample indices; ``normal``: which are normal
    beats, all when None), the first interval reaching back to ``carried``. Returns the
    sums and what the next beats reach back to."""
    indices = beats.tolist()
    kinds = [True] * len(indices) if normal is None else normal.tolist()
    rrs: list[int] = []
    nns: list[int] = []
    steps: list[int] = []
    last, last_normal, last_nn = carried.beat, carried.normal, carried.nn
    for beat, kind in zip(indices, kinds, strict=True):
        if last >= 0:
            rr = beat - last
            rrs.append(rr)
            if kind and last_normal:
                nns.append(rr)
                if last_nn >= 0:
                    steps.append(rr - last_nn)
                last_nn = rr
            else:
                last_nn = -1
        last, last_normal = beat, kind
    sums = RrSums(
        beats=len(indices),
        intervals=len(rrs),
        total=sum(rrs),
        shortest=min(rrs, default=0),
        longest=max(rrs, default=0),
        nn_intervals=len(nns),
        nn_total=sum(nns),
        nn_squares=sum(rr * rr for rr in nns),
        differences=len(steps),
        difference_sum=sum(steps),
        difference_squares=sum(step * step for step in steps),
        # |difference| > 50 ms, i.e. 20 |difference| > fs: exact for integer differences.
        nn50=sum(1 for step in steps if 20 * abs(step) > sampling_rate),
    )
    return sums, Carried(last, last_normal, last_nn)


def sum_window_intervals(
    beats: NDArray[np.int64],
    counts: list[int],
    carried: Carried,
    sampling_rate: float,
    normal: NDArray[np.bool_] | None = None,
) -> tuple[list[RrSums], RrSums, Carried]:
    """``sum_intervals`` for one or more consecutive windows at once: window ``k`` has
    the next ``counts[k]`` of ``beats``. Returns the sums per window, their total, and
    what the next beats reach back to.

    Each interval and difference belongs to the beat it ends at, so a window's sums are
    differences of cumulative sums over the beats: int64 holds them exactly while every
    interval and all beats' span are below 2**30 (the sums of squares stay below 2**62),
    as always in an ECG; otherwise windows are summed one by one.
    """
    n = beats.size
    previous = carried.beat
    span = int(beats[-1]) - (previous if previous >= 0 else int(beats[0])) if n else 0
    if n == 0 or len(counts) < _BATCH or max(span, carried.nn) >= 2**30:
        return _sum_one_by_one(beats, counts, carried, sampling_rate, normal)
    kind = np.ones(n, dtype=np.bool_) if normal is None else normal.astype(np.bool_)
    first = 0 if previous >= 0 else 1  # the first beat that ends an interval
    before = np.concatenate(([previous], beats[:-1]))
    has_rr = np.ones(n, dtype=np.bool_)
    has_rr[:first] = False
    rr = np.where(has_rr, beats - before, 0)
    kind_before = np.concatenate(([carried.normal], kind[:-1]))
    is_nn = has_rr & kind & kind_before
    nn = np.where(is_nn, rr, 0)
    nn_before = np.concatenate(([carried.nn], np.where(is_nn, rr, -1)[:-1]))
    has_step = is_nn & (nn_before >= 0)
    steps = np.where(has_step, rr - nn_before, 0)
    cuts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=cuts[1:])
    totals = []
    columns = (has_rr, rr, is_nn, nn, nn * nn, has_step, steps, steps * steps)
    for values in (*columns, has_step & (20 * np.abs(steps) > sampling_rate)):
        running = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(values, out=running[1:])
        totals.append(np.diff(running[cuts]).tolist())
    intervals, total, nn_count, nn_total, nn_squares, differences = totals[:6]
    difference_sum, difference_squares, nn50 = totals[6:]
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
            shortest,
            longest,
            nn_count,
            nn_total,
            nn_squares,
            differences,
            difference_sum,
            difference_squares,
            nn50,
            strict=True,
        )
    ]
    all_windows = windows[0]
    for sums in windows[1:]:
        all_windows += sums
    last_nn = int(rr[-1]) if is_nn[-1] else -1
    return windows, all_windows, Carried(int(beats[-1]), bool(kind[-1]), last_nn)


_BATCH = 8  # windows: for fewer, the vectorised passes cost more than they save


def _sum_one_by_one(
    beats: NDArray[np.int64],
    counts: list[int],
    carried: Carried,
    sampling_rate: float,
    normal: NDArray[np.bool_] | None,
) -> tuple[list[RrSums], RrSums, Carried]:
    windows: list[RrSums] = []
    cut = 0
    for count in counts:
        part = None if normal is None else normal[cut : cut + count]
        sums, carried = sum_intervals(beats[cut : cut + count], carried, sampling_rate, part)
        windows.append(sums)
        cut += count
    all_windows = windows[0]
    for sums in windows[1:]:
        all_windows += sums
    return windows, all_windows, carried


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
    nn_count: Measure
    sd1_ms: Measure
    sd2_ms: Measure


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
    nn, nn_total, m = sums.nn_intervals, sums.nn_total, sums.differences
    two = _needs(nn, 2, "NN interval")
    step = _needs(m, 1, "successive NN difference")
    sdnn = two or Measure(math.sqrt(_variance(nn, nn_total, sums.nn_squares)) * ms)
    # Poincare plot of NN(i+1) against NN(i): SD1^2 = var(dNN) / 2 across the identity
    # line, SD2^2 = 2 SDNN^2 - SD1^2 along it (Brennan M, Palaniswami M, Kamen P, "Do
    # existing measures of Poincare plot geometry reflect nonlinear features of heart
    # rate variability?", IEEE Trans Biomed Eng 48(11):1342-1347, 2001); over at least
    # POINCARE_S of NN intervals, as a short-term measure needs.
    long_enough = _needs_time(nn_total / sampling_rate, POINCARE_S)
    poincare = _needs(m, 2, "successive NN difference") or long_enough
    sd1_ms = sd2_ms = poincare or sdnn
    if poincare is None and sdnn.value is not None:
        sd1_squared = _variance(m, sums.difference_sum, sums.difference_squares) / 2
        sd1_ms = Measure(math.sqrt(sd1_squared) * ms)
        sd2_ms = Measure(math.sqrt(max(2 * (sdnn.value / ms) ** 2 - sd1_squared, 0.0)) * ms)
    return Rhythm(
        beat_count=Measure(sums.beats),
        heart_rate_bpm=one or Measure(60 * sampling_rate * n / total),
        rr_count=Measure(n),
        rr_mean_ms=one or Measure(total / n * ms),
        rr_min_ms=one or Measure(sums.shortest * ms),
        rr_max_ms=one or Measure(sums.longest * ms),
        sdnn_ms=sdnn,
        rmssd_ms=step or Measure(math.sqrt(sums.difference_squares / m) * ms),
        pnn50_percent=step or Measure(100 * sums.nn50 / m),
        nn_count=Measure(nn),
        sd1_ms=sd1_ms,
        sd2_ms=sd2_ms,
    )


POINCARE_S = 120.0  # of NN intervals, at least, for SD1 and SD2


def _variance(count: int, total: int, squares: int) -> float:
    """The sample variance from exact integer sums."""
    return (count * squares - total * total) / (count * (count - 1))


def _needs_time(have: float, needed: float) -> Measure | None:
    if have >= needed:
        return None
    return Measure.missing(f"needs {needed:g} s of NN intervals, has {have:.0f}")


def _needs(have: int, needed: int, what: str) -> Measure | None:
    if have >= needed:
        return None
    plural = "s" if needed > 1 else ""
    return Measure.missing(f"needs {needed} {what}{plural}, has {have}")
