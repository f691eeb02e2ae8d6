"""Per-lead, per-window statistics of an ECG, accumulated chunk by chunk in integers.

Every statistic is an integer reduction over the samples of a window (counts, sums,
minima, maxima), so adding up the pieces of a window that arrive in different chunks
gives bitwise the value of the whole window. What a statistic needs from before a
chunk is carried per lead: the sign of the last non-zero sample, the last sample,
the last ``history`` samples for the two integer FIR filters, the open 0.1 s block
sum and the last ``blocks - 1`` block sums for the baseline estimate.

The quality filters and the baseline estimate are integer FIRs and block sums (see
``streams.analysis.bands``).

Windows are ``[w * W, (w + 1) * W)`` on sample indices; a chunk is split into
*segments* at the window ends inside it, and statistics come out per segment.
Samples are int32 (the wire format's range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from streams.analysis.bands import Bands, Ints, Segments, band_sums, baseline_range
from streams.analysis.compiled import as_argument
from streams.analysis.lead_pass import statistics_pass
from streams.analysis.stat_rows import N_CARRY, N_STATS, Carry, Stat
from streams.analysis.zero_crossings import first_crossings, mark_lead_crossings

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "N_CARRY",
    "N_STATS",
    "Carry",
    "Int32s",
    "Int64s",
    "LeadCarry",
    "Stat",
    "accumulate",
    "accumulate_reference",
    "empty_stats",
    "merge_stats",
]

INT64_MIN = np.iinfo(np.int64).min
INT64_MAX = np.iinfo(np.int64).max

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]


def empty_stats(n_leads: int, count: int = 1) -> Int64s:
    """Statistics of ``count`` windows without samples: shape (count, N_STATS, n_leads)."""
    stats = np.zeros((count, N_STATS, n_leads), dtype=np.int64)
    stats[:, _LOWS] = INT64_MAX
    stats[:, _HIGHS] = INT64_MIN
    return stats


# Index arrays, not lists of Stat: numpy converts a list of enum members slowly.
_LOWS = np.array([Stat.MIN, Stat.BASE_MIN])
_HIGHS = np.array([Stat.MAX, Stat.BASE_MAX])


def merge_stats(first: Int64s, second: Int64s) -> Int64s:
    """The statistics of a window made of ``first`` and then ``second`` (N_STATS, n)."""
    out = first + second  # right for the counts and sums; the rest is replaced
    # Row by row (basic indexing): on a few leads, index arrays cost more than the work.
    for low in (Stat.MIN, Stat.BASE_MIN):
        np.minimum(first[low], second[low], out=out[low])
    for high in (Stat.MAX, Stat.BASE_MAX):
        np.maximum(first[high], second[high], out=out[high])
    # Samples at the extreme: those of each part whose extreme is the merged one.
    for extreme, count in ((Stat.MIN, Stat.AT_MIN), (Stat.MAX, Stat.AT_MAX)):
        merged = out[extreme]
        out[count] = first[count] * (first[extreme] == merged) + second[count] * (
            second[extreme] == merged
        )
    return out


@dataclass(frozen=True, eq=False)
class LeadCarry:
    """What a group of leads carries: ``values`` (N_CARRY, n), ``tail`` (n, history)
    right-aligned, ``blocks`` (n, blocks - 1) right-aligned."""

    values: Int64s
    tail: Int32s
    blocks: Int64s

    @classmethod
    def start(cls, n_leads: int, bands: Bands | None) -> LeadCarry:
        history = 0 if bands is None else bands.history
        n_blocks = 0 if bands is None else bands.blocks - 1
        return cls(
            values=np.zeros((N_CARRY, n_leads), dtype=np.int64),
            tail=np.zeros((n_leads, history), dtype=np.int32),
            blocks=np.zeros((n_leads, n_blocks), dtype=np.int64),
        )

    def rows(self, rows: Int64s | list[int]) -> LeadCarry:
        return LeadCarry(self.values[:, rows], self.tail[rows], self.blocks[rows])

    def put(self, rows: Int64s | list[int], other: LeadCarry) -> None:
        self.values[:, rows] = other.values
        self.tail[rows] = other.tail
        self.blocks[rows] = other.blocks


def accumulate(
    carry: LeadCarry, x: Int32s, start: int, bounds: list[int], bands: Bands | None
) -> tuple[Int64s, LeadCarry]:
    """Statistics of the samples ``x`` (leads by samples, all starting at sample ``start``
    and all preceded by ``start`` samples) per segment ``[bounds[k], bounds[k + 1])``.

    Returns the statistics, shape (segments, N_STATS, leads), and the new carry. One
    compiled pass over each lead (``lead_pass``); ``accumulate_reference`` is the same
    in numpy.
    """
    stats = empty_stats(x.shape[0], len(bounds) - 1)
    values, tail, blocks = carry.values.copy(), carry.tail.copy(), carry.blocks.copy()
    if x.shape[1]:
        lags = (0, 0, 0) if bands is None else (bands.high_lag, bands.band_lag, bands.block)
        samples, ends = as_argument(x, np.int32), np.array(bounds, dtype=np.int64)
        tail = as_argument(tail, np.int32)
        statistics_pass(samples, start, ends, values, tail, blocks, *lags, stats)
    return stats, LeadCarry(values, tail, blocks)


def accumulate_reference(
    carry: LeadCarry, x: Int32s, start: int, bounds: list[int], bands: Bands | None
) -> tuple[Int64s, LeadCarry]:
    """``accumulate`` in vectorised numpy passes: the reference of the compiled pass."""
    rows, length = x.shape
    stats = empty_stats(rows, len(bounds) - 1)
    values = carry.values.copy()
    if length == 0:
        return stats, LeadCarry(values, carry.tail.copy(), carry.blocks.copy())
    segments = Segments(bounds)
    stats[:, Stat.SAMPLES] = np.array(segments.lengths)[:, None]
    segments.reduce(np.minimum, x, stats[:, Stat.MIN])
    segments.reduce(np.maximum, x, stats[:, Stat.MAX])
    # Each lead's extremes in the chunk (those of empty segments are sentinels).
    lows, highs = stats[:, Stat.MIN].min(axis=0), stats[:, Stat.MAX].max(axis=0)
    magnitude = max(-int(lows.min()), int(highs.max()))
    segments.sums(x, magnitude, stats[:, Stat.SUM])
    # Comparisons are exact in any type that holds the samples; in int16 (that of most
    # ECG ADCs) they read half the bytes.
    compact: Ints = x.astype(np.int16) if magnitude < 2**15 else x
    segments.count_equal(compact, stats[:, Stat.MIN], stats[:, Stat.AT_MIN])
    segments.count_equal(compact, stats[:, Stat.MAX], stats[:, Stat.AT_MAX])
    repeats = np.empty((rows, length), dtype=bool)
    repeats[:, 0] = (x[:, 0] == values[Carry.LAST]) & (start > 0)
    np.equal(compact[:, 1:], compact[:, :-1], out=repeats[:, 1:])
    segments.counts(repeats, stats[:, Stat.REPEATS])
    if ((lows > 0) | (highs < 0)).all():
        # Leads of one sign throughout (as unsigned ADC values are) can cross zero only at
        # the first sample, against the sign carried into the chunk: no pass over them.
        stats[0, Stat.ZERO_CROSSINGS] = first_crossings(x[:, 0], values[Carry.SIGN])
        values[Carry.SIGN] = np.sign(highs)
    else:
        crossings, values[Carry.SIGN] = mark_lead_crossings(compact, values[Carry.SIGN])
        segments.counts(crossings, stats[:, Stat.ZERO_CROSSINGS])
    values[Carry.LAST] = x[:, -1]
    tail, blocks = carry.tail, carry.blocks
    if bands is not None:
        sums, tail = band_sums(compact, start, bounds, tail, bands, lows, highs)
        stats[:, Stat.HIGH_BAND], stats[:, Stat.QRS_BAND] = sums.high, sums.band
        stats[:, Stat.FILTERED] = np.array(sums.outputs)[:, None]
        baseline, blocks, values[Carry.BLOCK_SUM] = baseline_range(
            x, start, bounds, blocks, values[Carry.BLOCK_SUM], bands, magnitude
        )
        some = [k for k, points in enumerate(baseline.points) if points]
        stats[some, Stat.BASE_MIN] = baseline.lowest[some]
        stats[some, Stat.BASE_MAX] = baseline.highest[some]
        stats[:, Stat.BASE_POINTS] = np.array(baseline.points)[:, None]
    return stats, LeadCarry(values, tail, blocks)
