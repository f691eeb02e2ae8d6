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
tail), so outputs start at sample ``history`` of the ECG. They run in int32 when the
values are small enough for no intermediate to overflow (every ECG ADC of up to 20
bits), else in int64: both give the same integers. Blocks sit at fixed sample indices
(block ``b`` is ``[b * block, (b + 1) * block)``); the open block's sum and the last
``blocks - 1`` block sums are carried.
"""

from __future__ import annotations

import functools
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
    x: Int32s, start: int, bounds: list[int], tail: Int32s, bands: Bands, magnitude: int
) -> tuple[BandSums, Int32s]:
    """The sums per segment ``[bounds[k], bounds[k + 1])`` of the chunk ``x`` (leads by
    samples from sample ``start``), and the new tail. ``tail`` holds the last
    ``history`` samples before the chunk, right-aligned; ``magnitude`` bounds |x|."""
    history = bands.history
    held = min(history, start)
    xc = np.concatenate((tail[:, history - held :], x), axis=1)
    rows, total = xc.shape
    new_tail = np.zeros_like(tail)
    kept = min(history, total)
    if kept:
        new_tail[:, history - kept :] = xc[:, total - kept :]
    segments = len(bounds) - 1
    nothing = BandSums(
        np.zeros((segments, rows), np.int64), np.zeros((segments, rows), np.int64), [0] * segments
    )
    if total <= history:
        return nothing, new_tail
    j, m = bands.high_lag, bands.band_lag
    if held:
        magnitude = max(magnitude, int(np.abs(tail.astype(np.int64)).max()))
    # |h| <= 4 |x| and |d| <= 2 m |x|.
    kind = np.int64 if magnitude * 2 * max(m, 2) >= 2**31 else np.int32
    xk: Ints = xc.astype(kind, copy=False)
    outputs = total - history
    high = np.multiply(xk[:, history - j : total - j], -2)
    high += xk[:, history:]
    high += xk[:, history - 2 * j : total - 2 * j]
    np.abs(high, out=high)
    boxes = box_sums(xk, m)  # boxes[:, -1] ends at the last sample
    width = boxes.shape[1]
    band = boxes[:, width - outputs :] - boxes[:, width - outputs - m : width - m]
    np.abs(band, out=band)
    # Output i is the sample at chunk position i + history - held.
    offset = history - held
    for k in range(segments):
        low = min(max(bounds[k] - offset, 0), outputs)
        up = min(max(bounds[k + 1] - offset, 0), outputs)
        if up > low:
            nothing.high[k] = high[:, low:up].sum(axis=1, dtype=np.int64)
            nothing.band[k] = band[:, low:up].sum(axis=1, dtype=np.int64)
            nothing.outputs[k] = up - low
    return nothing, new_tail


def box_sums(x: Ints, width: int) -> Ints:
    """Sums of ``width`` consecutive samples, one per window that fits (the first one
    starting at the first sample), by doubling: about 2 log2(width) vectorised passes
    instead of a serial cumulative sum."""
    n_out = x.shape[1] - width + 1
    result: Ints | None = None
    span, power, done = x, 1, 0  # span[:, i]: the sum of `power` samples from i on
    while True:
        if width & power:
            part = span[:, done : done + n_out]
            result = part.copy() if result is None else np.add(result, part, out=result)
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
    x: Int32s, start: int, bounds: list[int], recent: Int64s, open_sum: Int64s, bands: Bands
) -> tuple[BaselineRange, Int64s, Int64s]:
    """The baseline's range per segment, the last ``blocks - 1`` block sums and the
    open block's sum, after the chunk ``x`` (leads by samples from sample ``start``)."""
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
    completed.append(blocks.sum(axis=2, dtype=np.int64))
    new = np.concatenate(completed, axis=1)
    sequence = np.concatenate((recent, new), axis=1)
    sums = np.zeros((rows, sequence.shape[1] + 1), dtype=np.int64)
    np.cumsum(sequence, axis=1, out=sums[:, 1:])
    moving = sums[:, count:] - sums[:, : sums.shape[1] - count]  # one per new block
    block_numbers = start // size + np.arange(new.shape[1])
    ends = (block_numbers + 1) * size - 1 - start  # chunk positions of the blocks' ends
    first_valid = max(0, count - 1 - start // size)  # blocks with `count` blocks behind
    edges = np.searchsorted(ends[first_valid:], bounds).tolist()
    for k in range(segments):
        a, b = edges[k] + first_valid, edges[k + 1] + first_valid
        if a < b:
            chosen = moving[:, a:b]
            found.lowest[k] = chosen.min(axis=1)
            found.highest[k] = chosen.max(axis=1)
            found.points[k] = b - a
    rest = x[:, head + full * size :].sum(axis=1, dtype=np.int64)
    return found, sequence[:, sequence.shape[1] - (count - 1) :], rest
