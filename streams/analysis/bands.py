"""Integer filters for the signal-quality rules: exact, so any chunking gives the same
sums, with no float state and no quantisation. With ``m = round(fs / 40)`` and
``j = round(fs / 160)`` samples:

- *QRS band*: ``d[n] = B[n] - B[n - m]``, ``B`` the sum of the last ``m`` samples (a
  difference of two 25 ms boxes): zero at DC and at multiples of 40 Hz, peak near
  15 Hz, side lobes damped by the box. Its mean ``|d|`` tracks QRS energy.
- *High band*: ``h[n] = x[n] - 2 x[n - j] + x[n - 2j]`` (a second difference at lag
  ``j``): zero at DC, ``|H(f)| = 4 sin^2(pi f j / fs)``, peak near 80 Hz, 19 dB down
  at 20 Hz. Its mean ``|h|`` tracks muscle noise and mains interference.
- *Baseline*: the mean of the last 16 blocks of ``round(fs / 10)`` samples (a 1.6 s
  moving average, sampled every 0.1 s): it passes respiration and motion (< 0.3 Hz) and
  damps the heartbeat itself (< 7 % at 75 bpm).

The filters need ``history`` samples before each output (carried between chunks as a
tail), so outputs start at sample ``history`` of the ECG. Being zero at DC, they run on
each lead's samples less a constant (its centre in the chunk), in the narrowest of
int16, int32 and int64 in which no intermediate can overflow (int16 for an 11-bit ADC
at up to 600 Hz, int32 for every ECG ADC of up to 20 bits): all give the same integers.
Blocks sit at fixed sample indices (block ``b`` is ``[b * block, (b + 1) * block)``);
the open block's sum and the last ``blocks - 1`` block sums are carried.

``Segments`` reduces an array per segment (window) of a chunk with a few vectorised
calls; its sums accumulate in int32 where no partial sum can overflow, else in int64:
integer sums, so both give the same integers in any order.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

BASELINE_BLOCKS = 16
BLOCKS_PER_SECOND = 10

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Ints = NDArray[np.signedinteger[Any]]


@dataclass(frozen=True)
class Bands:
    """Filter lags and block lengths, in samples, for one sampling rate."""

    high_lag: int
    band_lag: int
    block: int
    blocks: int = BASELINE_BLOCKS

    @property
    def history(self) -> int:
        return 2 * max(self.high_lag, self.band_lag)


class Segments:
    """The segments ``[bounds[k], bounds[k + 1])`` of the positions of a chunk (the last
    axis of a leads-by-positions array of ``bounds[-1]`` positions), reduced per
    segment: all non-empty segments at once by ``ufunc.reduceat``, or, to compare them
    with a value per segment, consecutive non-empty segments of one length (the whole
    windows inside a chunk) at once, as a (leads, segments, length) view."""

    runs: list[tuple[int, int, int, int]]  # (first segment, how many, first position, length)

    def __init__(self, bounds: Sequence[int]) -> None:
        if len(bounds) == 2:  # the usual case of a short chunk, quickly
            n = bounds[1] - bounds[0]
            self.lengths, self.longest = [n], n
            self.nonempty, self.starts = ([0], [bounds[0]]) if n > 0 else ([], [])
            self.runs = [(0, 1, bounds[0], n)] if n > 0 else []
            return
        self.lengths = [b - a for a, b in itertools.pairwise(bounds)]
        self.longest = max(self.lengths, default=0)
        self.nonempty = [k for k, n in enumerate(self.lengths) if n > 0]
        self.starts = [bounds[k] for k in self.nonempty]
        self.runs = []
        first = size = length = 0  # the open run
        for k, n in enumerate(self.lengths):
            if size and n == length:
                size += 1
                continue
            if size:
                self.runs.append((first, size, bounds[first], length))
            first, size, length = k, int(n > 0), n
        if size:
            self.runs.append((first, size, bounds[first], length))

    def reduce(
        self, ufunc: np.ufunc, values: NDArray[Any], out: NDArray[Any], dtype: Any = None
    ) -> None:
        """``out[k]`` (segments by leads) = ``ufunc`` over segment ``k`` of ``values``
        (leads by positions), for the non-empty segments; the others are left as they are."""
        if not self.starts:
            return
        # Each start's segment runs to the next start: empty segments in between add
        # nothing, and the last one runs to the end of the positions.
        reduced = ufunc.reduceat(values, self.starts, axis=1, dtype=dtype).T
        if len(self.starts) == len(self.lengths):
            out[:] = reduced
        else:
            out[self.nonempty] = reduced

    def sums(self, values: Ints, bound: int, out: Int64s) -> None:
        """Integer sums per segment into ``out``; ``bound`` bounds ``|values|``."""
        narrow = values.dtype.itemsize <= 4 and bound * self.longest < 2**31
        self.reduce(np.add, values, out, np.int32 if narrow else np.int64)

    def counts(self, marks: NDArray[np.bool_], out: Int64s) -> None:
        """How many positions of each segment are marked, into ``out``."""
        self.reduce(
            np.add, marks.view(np.uint8), out, np.uint16 if self.longest < 2**16 else np.int32
        )

    def count_equal(self, values: Ints, targets: Int64s, out: Int64s) -> None:
        """How many values of each segment equal its target (``targets``: segments by
        leads, within the values' type), into ``out``."""
        rows = values.shape[0]
        wanted = targets.astype(values.dtype)
        kind = np.uint16 if self.longest < 2**16 else np.int32
        for first, size, a, n in self.runs:
            if size == 1:
                equal = values[:, a : a + n] == wanted[first][:, None]
                out[first] = np.add.reduce(equal.view(np.uint8), axis=1, dtype=kind)
                continue
            part = values[:, a : a + size * n].reshape(rows, size, n)
            equal = part == wanted[first : first + size].T[:, :, None]
            counted = np.add.reduce(equal.view(np.uint8), axis=2, dtype=kind)
            out[first : first + size] = counted.T


@functools.lru_cache(maxsize=64)
def bands_for(sampling_rate: float | None) -> Bands | None:
    """The filters for ``sampling_rate`` (Hz); None without a rate or below 80 Hz,
    where a 40 Hz boundary is not below the Nyquist frequency."""
    if sampling_rate is None or sampling_rate < 80:
        return None
    return Bands(
        high_lag=max(1, round(sampling_rate / 160)),
        band_lag=max(1, round(sampling_rate / 40)),
        block=max(1, round(sampling_rate / BLOCKS_PER_SECOND)),
    )


@dataclass(frozen=True, eq=False)
class BandSums:
    """Per segment (segments by leads): the sums of |h| and of |d|, and how many
    outputs each holds (per segment)."""

    high: Int64s
    band: Int64s
    outputs: list[int]


def band_sums(
    x: Ints,
    start: int,
    bounds: list[int],
    tail: Int32s,
    bands: Bands,
    lows: Int64s,
    highs: Int64s,
) -> tuple[BandSums, Int32s]:
    """The sums per segment ``[bounds[k], bounds[k + 1])`` of the chunk ``x`` (leads by
    samples from sample ``start``), and the new tail. ``tail`` holds the last
    ``history`` samples before the chunk, right-aligned; ``lows`` and ``highs`` are each
    lead's extremes in ``x`` (of any signed integer type)."""
    history = bands.history
    rows, length = x.shape
    held = min(history, start)
    total = held + length
    recent = x if length >= history else np.concatenate((tail[:, history - held :], x), axis=1)
    kept = min(history, recent.shape[1])
    new_tail = np.zeros_like(tail)
    new_tail[:, history - kept :] = recent[:, recent.shape[1] - kept :]
    segments = len(bounds) - 1
    nothing = BandSums(
        np.zeros((segments, rows), np.int64), np.zeros((segments, rows), np.int64), [0] * segments
    )
    if total <= history:
        return nothing, new_tail
    j, m = bands.high_lag, bands.band_lag
    if held:
        lows = np.minimum(lows, tail[:, history - held :].min(axis=1))
        highs = np.maximum(highs, tail[:, history - held :].max(axis=1))
    # The filters ignore a constant: they run on each lead's samples less its centre, in
    # the narrowest type that holds them (|h| <= 4 s and |d| <= 2 m s for a spread s),
    # most often int16, whose passes move half the bytes of int32.
    centres = (lows + highs) // 2
    spread = int((highs - centres).max())
    largest = spread * 2 * max(m, 2)
    kind = np.int16 if largest < 2**15 else np.int32 if largest < 2**31 else np.int64
    xc: Ints = np.empty((rows, total), dtype=kind)
    # The differences fit the kind, so any wider type of the samples computes them too.
    shift = centres[:, None].astype(np.promote_types(x.dtype, kind))
    np.subtract(tail[:, history - held :], shift, out=xc[:, :held], casting="unsafe")
    np.subtract(x, shift, out=xc[:, held:], casting="unsafe")
    outputs = total - history
    # h[n] = e[n] - e[n - j] with e[n] = x[n] - x[n - j]: two passes, not three.
    steps = xc[:, history - j :] - xc[:, history - 2 * j : total - j]
    high = np.subtract(steps[:, j:], steps[:, :outputs])
    np.abs(high, out=high)
    boxes = box_sums(xc, m)  # boxes[:, -1] ends at the last sample
    width = boxes.shape[1]
    band = boxes[:, width - outputs :] - boxes[:, width - outputs - m : width - m]
    np.abs(band, out=band)
    # Output i is the sample at chunk position i + history - held.
    offset = history - held
    per_output = Segments([min(max(bound - offset, 0), outputs) for bound in bounds])
    per_output.sums(high, 4 * spread, nothing.high)
    per_output.sums(band, 2 * m * spread, nothing.band)
    nothing.outputs[:] = per_output.lengths
    return nothing, new_tail


def box_sums(x: Ints, width: int) -> Ints:
    """Sums of ``width`` consecutive samples, one per window that fits (the first one
    starting at the first sample), by doubling: about 2 log2(width) vectorised passes
    instead of a serial cumulative sum. May be a view of ``x`` (for a width of 1)."""
    n_out = x.shape[1] - width + 1
    result: Ints | None = None
    span, power, done = x, 1, 0  # span[:, i]: the sum of `power` samples from i on
    while True:
        if width & power:
            part = span[:, done : done + n_out]
            if result is None:
                result = part  # a view: the next term makes a new array
            elif result.flags.owndata:
                np.add(result, part, out=result)
            else:
                result = result + part
            done += power
        if power * 2 > width:
            break
        span = span[:, :-power] + span[:, power:]
        power *= 2
    assert result is not None
    return result


@dataclass(frozen=True, eq=False)
class BaselineRange:
    """Per segment (segments by leads): the smallest and largest baseline moving sum
    (of ``blocks`` blocks) whose block ends in the segment, and how many there are
    (per segment; where there are none, the extremes are meaningless)."""

    lowest: Int64s
    highest: Int64s
    points: list[int]


def baseline_range(
    x: Int32s,
    start: int,
    bounds: list[int],
    recent: Int64s,
    open_sum: Int64s,
    bands: Bands,
    magnitude: int = 2**31,
) -> tuple[BaselineRange, Int64s, Int64s]:
    """The baseline's range per segment, the last ``blocks - 1`` block sums and the
    open block's sum, after the chunk ``x`` (leads by samples from sample ``start``);
    ``magnitude`` bounds |x|."""
    size, count = bands.block, bands.blocks
    rows, length = x.shape
    segments = len(bounds) - 1
    found = BaselineRange(
        np.zeros((segments, rows), np.int64), np.zeros((segments, rows), np.int64), [0] * segments
    )
    head = (-start) % size
    if length < head or (head == 0 and length < size):
        return found, recent.copy(), open_sum + x.sum(axis=1, dtype=np.int64)
    completed = []
    if head:
        completed.append((open_sum + x[:, :head].sum(axis=1, dtype=np.int64))[:, None])
    full = (length - head) // size
    blocks = x[:, head : head + full * size].reshape(rows, full, size)
    narrow = magnitude * size < 2**31  # exact in int32 too
    wide = blocks if narrow else blocks.astype(np.int64)
    if full > 64:  # einsum sums a short last axis far faster, in the input's type
        block_sums: Ints = np.einsum("ijk->ij", wide)
    else:  # and np.add.reduce has less overhead
        block_sums = np.add.reduce(wide, axis=2)
    completed.append(block_sums)
    new = np.concatenate(completed, axis=1)
    sequence = np.concatenate((recent, new), axis=1)
    moving = box_sums(sequence, count)  # one per new block
    block_numbers = start // size + np.arange(new.shape[1])
    ends = (block_numbers + 1) * size - 1 - start  # chunk positions of the blocks' ends
    first_valid = max(0, count - 1 - start // size)  # blocks with `count` blocks behind
    edges = np.searchsorted(ends[first_valid:], bounds).tolist()
    per_block = Segments(edges)
    valid = moving[:, first_valid:]
    per_block.reduce(np.minimum, valid, found.lowest)
    per_block.reduce(np.maximum, valid, found.highest)
    found.points[:] = per_block.lengths
    rest = x[:, head + full * size :].sum(axis=1, dtype=np.int64)
    return found, sequence[:, sequence.shape[1] - (count - 1) :], rest
