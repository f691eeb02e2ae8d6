"""The per-window lead statistics of a chunk in one compiled pass per lead.

``lead_stats.accumulate_reference`` computes them with vectorised numpy passes (some
forty of them, plus their per-call costs, for a 1-s chunk); ``statistics_pass`` reads
each lead's samples once or twice in a loop compiled by numba, keeping every sum in
int64. Every statistic is an integer count, sum, minimum or maximum, so the two give
the same integers (``tests/unit/streams/analysis/test_lead_pass.py`` checks that on
arbitrary signals, chunkings and filter lengths). The definitions are those of
``lead_stats``, ``bands`` and ``zero_crossings``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streams.analysis.compiled import compiled
from streams.analysis.stat_rows import Carry, Stat

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]

# Rows as plain integers: constants in the compiled code.
_SAMPLES, _CROSSINGS, _SUM = int(Stat.SAMPLES), int(Stat.ZERO_CROSSINGS), int(Stat.SUM)
_MIN, _MAX, _AT_MIN, _AT_MAX = int(Stat.MIN), int(Stat.MAX), int(Stat.AT_MIN), int(Stat.AT_MAX)
_REPEATS, _HIGH, _QRS = int(Stat.REPEATS), int(Stat.HIGH_BAND), int(Stat.QRS_BAND)
_FILTERED, _BASE_MIN = int(Stat.FILTERED), int(Stat.BASE_MIN)
_BASE_MAX, _BASE_POINTS = int(Stat.BASE_MAX), int(Stat.BASE_POINTS)
_SIGN, _LAST, _BLOCK_SUM = int(Carry.SIGN), int(Carry.LAST), int(Carry.BLOCK_SUM)


# Every loop runs over slices from index 0: numba then knows that no index is negative,
# and the compiler vectorises the loops that have no branches.


@compiled()
def _sum(values: NDArray[np.integer], a: int, b: int) -> int:
    part = values[a:b]
    total = 0
    for i in range(part.size):
        total += part[i]
    return total


@compiled()
def _crossings(part: Int32s, sign: int, zeros: int) -> tuple[int, int]:
    """The zero crossings in ``part`` after the sign ``sign`` of the last non-zero
    sample before it (0: none), and the sign after it."""
    first = part[0]
    crossings = 0
    if first != 0 and sign != 0 and (first > 0) != (sign > 0):
        crossings = 1
    if zeros == 0:  # sign changes between neighbours
        before, after = part[:-1], part[1:]
        for i in range(after.size):
            crossings += (after[i] ^ before[i]) < 0
        return crossings, 1 if part[-1] > 0 else -1
    crossings = 0
    for i in range(part.size):
        v = part[i]
        if v != 0:
            s = 1 if v > 0 else -1
            crossings += sign != 0 and s != sign
            sign = s
    return crossings, sign


@compiled()
def _samples(part: Int32s, before: Int32s) -> tuple[int, int, int, int, int, int, int]:
    """Minimum, maximum, sum, how many at the minimum, at the maximum, how many repeat
    the sample before them (``before``: the samples before each, all but the first),
    how many zeros."""
    low = high = part[0]
    summed = 0
    for i in range(part.size):
        v = part[i]
        low = min(low, v)
        high = max(high, v)
        summed += v
    at_low = at_high = zeros = repeats = 0
    for i in range(part.size):
        v = part[i]
        at_low += v == low
        at_high += v == high
        zeros += v == 0
    after = part[part.size - before.size :]
    for i in range(before.size):
        repeats += after[i] == before[i]
    return low, high, summed, at_low, at_high, repeats, zeros


@compiled()
def _band_sums(
    ext: Int64s, running: Int64s, first: int, end: int, j: int, m: int
) -> tuple[int, int]:
    """Sums of |h| and |d| over the outputs ``[first, end)`` of ``ext``."""
    x0, x1, x2 = ext[first:end], ext[first - j : end - j], ext[first - 2 * j : end - 2 * j]
    r0, r1 = running[first:end], running[first - m : end - m]
    r2 = running[first - 2 * m : end - 2 * m]
    high = band = 0
    for i in range(x0.size):
        high += abs(x0[i] - 2 * x1[i] + x2[i])
        # The difference of the boxes of m samples ending at n and at n - m.
        band += abs(r0[i] - 2 * r1[i] + r2[i])
    return high, band


# Compiled when imported (from numba's cache after the first time), for these types only.
_SIGNATURE = (
    "void(int32[:, ::1], int64, int64[::1], int64[:, ::1], int32[:, ::1], int64[:, ::1],"
    " int64, int64, int64, int64[:, :, ::1])"
)


@compiled(_SIGNATURE)
def statistics_pass(
    x: Int32s,
    start: int,
    bounds: Int64s,
    values: Int64s,
    tail: Int32s,
    blocks: Int64s,
    high_lag: int,
    band_lag: int,
    block: int,
    stats: Int64s,
) -> None:
    """Fill ``stats`` (segments by N_STATS by leads, as ``empty_stats`` makes it) for the
    samples ``x`` (leads by samples, from sample ``start``) per segment ``[bounds[k],
    bounds[k + 1])``, and update in place the carry: ``values`` (N_CARRY by leads),
    ``tail`` and ``blocks`` (leads by the filters' history, by the baseline's blocks
    less one). ``high_lag`` 0: no filters and no baseline."""
    rows, length = x.shape
    segments = bounds.size - 1
    history = tail.shape[1]
    held = min(history, start)
    total = held + length
    ext = np.empty(total, dtype=np.int64)  # the held tail, then the chunk
    running = np.empty(total, dtype=np.int64)  # its running sums
    kept = blocks.shape[1]
    n_blocks = kept + 1
    head = (-start) % block if high_lag else 0
    full = (length - head) // block if high_lag else 0
    with_blocks = high_lag > 0 and not (length < head or (head == 0 and length < block))
    new_count = (1 if head else 0) + full
    sequence = np.empty(kept + new_count, dtype=np.int64)
    for r in range(rows):
        row = x[r]
        sign = values[_SIGN, r]
        for k in range(segments):
            a, b = bounds[k], bounds[k + 1]
            stats[k, _SAMPLES, r] = b - a
            if b <= a:
                continue
            part = row[a:b]
            before = row[max(a, 1) - 1 : b - 1]
            low, high, summed, at_low, at_high, repeats, zeros = _samples(part, before)
            if a == 0 and start > 0:
                repeats += row[0] == values[_LAST, r]
            stats[k, _MIN, r], stats[k, _MAX, r] = low, high
            stats[k, _AT_MIN, r], stats[k, _AT_MAX, r] = at_low, at_high
            stats[k, _SUM, r], stats[k, _REPEATS, r] = summed, repeats
            stats[k, _CROSSINGS, r], sign = _crossings(part, sign, zeros)
        values[_SIGN, r] = sign
        values[_LAST, r] = row[length - 1]
        if not high_lag:
            continue
        # The filters: output n (of ext, chunk position n - held) needs the history before it.
        ext[:held] = tail[r, history - held :]
        ext[held:] = row
        summed = 0
        for i in range(total):
            summed += ext[i]
            running[i] = summed
        for k in range(segments):
            first, end = max(history, bounds[k] + held), bounds[k + 1] + held
            if end > first:
                sums = _band_sums(ext, running, first, end, high_lag, band_lag)
                stats[k, _HIGH, r], stats[k, _QRS, r] = sums
                stats[k, _FILTERED, r] = end - first
        last = min(history, total)
        tail[r, : history - last] = 0
        tail[r, history - last :] = ext[total - last :]
        # The baseline: moving sums of n_blocks block sums, one per completed block.
        if not with_blocks:
            values[_BLOCK_SUM, r] += _sum(row, 0, length)
            continue
        sequence[:kept] = blocks[r]
        at = kept
        if head:
            sequence[at] = values[_BLOCK_SUM, r] + _sum(row, 0, head)
            at += 1
        for f in range(full):
            sequence[at + f] = _sum(row, head + f * block, head + (f + 1) * block)
        first_number = start // block
        k = 0
        for q in range(new_count):
            if first_number + q < n_blocks - 1:
                continue  # fewer than n_blocks blocks behind it
            moving = _sum(sequence, q, q + n_blocks)
            end = (first_number + q + 1) * block - 1 - start  # its chunk position
            while end >= bounds[k + 1]:
                k += 1
            if stats[k, _BASE_POINTS, r] == 0:
                stats[k, _BASE_MIN, r] = stats[k, _BASE_MAX, r] = moving
            else:
                stats[k, _BASE_MIN, r] = min(stats[k, _BASE_MIN, r], moving)
                stats[k, _BASE_MAX, r] = max(stats[k, _BASE_MAX, r], moving)
            stats[k, _BASE_POINTS, r] += 1
        blocks[r] = sequence[new_count:]
        values[_BLOCK_SUM, r] = _sum(row, head + full * block, length)
