"""The QRS detector's front end: filtered leads → one QRS feature → candidate peaks.

Per lead, a Butterworth band-pass (8-20 Hz, 4th order) keeps the QRS complex's
steep slopes and drops baseline wander, P and T waves and most mains and muscle
noise; the squared first difference of its output is the lead's QRS energy
(Pan J, Tompkins WJ, "A real-time QRS detection algorithm", IEEE Trans Biomed
Eng 32(3):230-236, 1985). Leads differ in gain and quality, so each lead's
energy is divided by its typical QRS peak (the median of its last eight 1-s
maxima) and weighted by its signal-to-noise ratio (that peak over the median
of its 1-s noise floors, the smallest of eight 125-ms maxima) before the leads
are summed (multi-lead energy in the spirit of Christov II, "Real time
electrocardiogram QRS detection using combined adaptive threshold", Biomed Eng
Online 3:28, 2004). The sum is integrated over a 150-ms moving window, and the
local maxima of that integral are the candidate beats that ``qrs_decision``
accepts or rejects.

Everything here is exact under any chunking: the filters run sample by sample
with carried state, the block statistics are maxima and medians on blocks fixed
in absolute sample indices, and the moving-window integral sums integers (the
feature quantised per sample) with the window's tail carried over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from streams.analysis.qrs_params import DetectorParams

# The feature is quantised to multiples of 2**-32 of a lead's typical QRS peak
# energy and capped at 2**16 of it: the integral of 2000 Hz * 150 ms of capped
# values still fits in an int64.
_QUANTUM = float(2**32)
_CAP = float(2**16)
_HISTORY = 8  # blocks in the scale and noise medians
_SUB_BLOCKS = 8  # sub-blocks per block


@dataclass(frozen=True, eq=False)
class FeatureState:
    """What the front end carries from one chunk to the next (L leads)."""

    zi: NDArray[np.float64]  # (L, 4) band-pass filter state
    last_u: NDArray[np.float64]  # (L,) last band-pass output
    sub_max: NDArray[np.float64]  # (L,) max energy of the open sub-block
    block_peak: NDArray[np.float64]  # (L,) max of the open block's closed sub-blocks
    block_floor: NDArray[np.float64]  # (L,) min of the open block's closed sub-blocks
    peaks: NDArray[np.float64]  # (L, 8) last closed blocks' peaks, oldest first, NaN if none
    floors: NDArray[np.float64]  # (L, 8) last closed blocks' floors
    q_tail: NDArray[np.int64]  # last W quantised feature values
    r_tail: NDArray[np.float64]  # last values of the R-peak locator trace
    m_tail: NDArray[np.int64]  # last two integral values (candidates need a neighbour)


@dataclass(frozen=True)
class Candidates:
    """Candidate beats confirmed by one chunk, in index order."""

    index: NDArray[np.int64]  # sample of the local maximum of the integral
    value: NDArray[np.float64]  # integral there, in units of typical QRS energy
    peak: NDArray[np.float64]  # the feature's maximum within the window
    r_peak: NDArray[np.int64]  # sample of the R peak that the candidate would be


def start_feature(n_leads: int, params: DetectorParams) -> FeatureState:
    nan = np.full((n_leads, _HISTORY), np.nan)
    zeros = np.zeros(n_leads)
    return FeatureState(
        zi=np.zeros((n_leads, params.a.size - 1)),
        last_u=zeros,
        sub_max=zeros,
        block_peak=zeros,
        block_floor=np.full(n_leads, np.inf),
        peaks=nan,
        floors=nan.copy(),
        q_tail=np.zeros(params.window, dtype=np.int64),
        r_tail=np.zeros(params.locator_span),
        m_tail=np.zeros(2, dtype=np.int64),
    )


def band_pass(
    state: FeatureState, x: NDArray[np.float64], params: DetectorParams, start: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Band-pass each lead (rows of ``x``); returns the outputs and the new filter state.

    At the very first sample the filter starts in its steady state for a
    constant input equal to that sample, so a baseline offset causes no transient.
    """
    zi = state.zi
    if start == 0:
        zi = params.zi_unit[np.newaxis, :] * x[:, :1]
    u, zf = signal.lfilter(params.b, params.a, x, axis=1, zi=zi)
    return np.asarray(u, dtype=np.float64), np.asarray(zf, dtype=np.float64)


def _segment_cuts(start: int, length: int, size: int) -> NDArray[np.intp]:
    """Starts, relative to ``start``, of the segments of [start, start + length) cut at
    multiples of ``size``; the first segment always starts at 0."""
    first = (start // size + 1) * size - start
    return np.concatenate(([0], np.arange(first, length, size))).astype(np.intp)


def _valid_median(history: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median of the non-NaN values of each row (NaN where a row has none)."""
    ordered = np.sort(history, axis=-1)  # NaN sort last
    count = np.count_nonzero(~np.isnan(history), axis=-1)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0)[..., None] // 2, axis=-1)
    high = np.take_along_axis(ordered, (count // 2)[..., None], axis=-1)
    median = (0.5 * (low + high))[..., 0]
    return np.where(count > 0, median, np.nan)


def compute_feature(
    state: FeatureState, leads: NDArray[np.float64], start: int, params: DetectorParams
) -> tuple[FeatureState, Candidates]:
    """Run the front end on one chunk (leads x samples, starting at sample ``start``)."""
    n_leads, length = leads.shape
    u, zi = band_pass(state, leads, params, start)
    d = np.diff(u, axis=1, prepend=state.last_u[:, np.newaxis])
    energy = d * d

    # Sub-block maxima; the first segment continues the open sub-block.
    sub = params.sub_block
    sub_cuts = _segment_cuts(start, length, sub)
    seg_max = np.maximum.reduceat(energy, sub_cuts, axis=1)
    seg_max[:, 0] = np.maximum(seg_max[:, 0], state.sub_max)
    last_closed = (start + length) % sub == 0
    closed_subs = seg_max if last_closed else seg_max[:, :-1]
    sub_max = np.zeros(n_leads) if last_closed else seg_max[:, -1].copy()
    first_sub = start // sub  # absolute index of the sub-block open at ``start``

    # Group the closed sub-blocks into blocks of eight; the first group continues
    # the open block.
    block_peak, block_floor = state.block_peak, state.block_floor
    peaks, floors = state.peaks, state.floors
    n_closed = closed_subs.shape[1]
    new_peaks = np.empty((n_leads, 0))
    new_floors = np.empty((n_leads, 0))
    if n_closed:
        cuts = _segment_cuts(first_sub, n_closed, _SUB_BLOCKS)
        group_max = np.maximum.reduceat(closed_subs, cuts, axis=1)
        group_min = np.minimum.reduceat(closed_subs, cuts, axis=1)
        group_max[:, 0] = np.maximum(group_max[:, 0], block_peak)
        group_min[:, 0] = np.minimum(group_min[:, 0], block_floor)
        block_closed = (first_sub + n_closed) % _SUB_BLOCKS == 0
        if block_closed:
            new_peaks, new_floors = group_max, group_min
            block_peak, block_floor = np.zeros(n_leads), np.full(n_leads, np.inf)
        else:
            new_peaks, new_floors = group_max[:, :-1], group_min[:, :-1]
            block_peak, block_floor = group_max[:, -1].copy(), group_min[:, -1].copy()

    # Scale and weight of every block that this chunk touches: medians over the
    # eight blocks before it.
    block = params.block
    first_block = start // block
    block_cuts = _segment_cuts(start, length, block)
    n_touched = block_cuts.size
    all_peaks = np.concatenate((peaks, new_peaks), axis=1)
    all_floors = np.concatenate((floors, new_floors), axis=1)
    windows = np.lib.stride_tricks.sliding_window_view
    scale = _valid_median(windows(all_peaks, _HISTORY, axis=1)[:, :n_touched])
    noise = _valid_median(windows(all_floors, _HISTORY, axis=1)[:, :n_touched])
    scale = np.maximum(scale, 1e-12)
    weight = scale / np.maximum(noise, scale * 1e-3)
    weight = np.where(np.isnan(weight), 1.0, weight)
    coefficient = weight / (weight.sum(axis=0) * scale)
    locator_coefficient = weight / (weight.sum(axis=0) * np.sqrt(scale))
    lengths = np.diff(np.append(block_cuts, length))
    coef = np.repeat(coefficient, lengths, axis=1)
    locator_coef = np.repeat(locator_coefficient, lengths, axis=1)
    if first_block == 0:
        # The first second has no history: scale each lead by its running maximum.
        n0 = int(lengths[0])
        running = np.maximum.accumulate(energy[:, :n0], axis=1)
        running = np.maximum(running, np.maximum(state.block_peak, state.sub_max)[:, None])
        running = np.maximum(running, 1e-12)
        coef[:, :n0] = 1.0 / (n_leads * running)
        locator_coef[:, :n0] = 1.0 / (n_leads * np.sqrt(running))

    feature = np.einsum("ij,ij->j", coef, energy)
    locator = np.einsum("ij,ij->j", locator_coef, np.abs(u))
    q = (np.minimum(feature, _CAP) * _QUANTUM).astype(np.int64)

    # Moving-window integral: exact integer sums over the carried tail + chunk
    # (int64 sums wrap on overflow, their differences stay exact).
    w = params.window
    qx = np.concatenate((state.q_tail, q))  # qx[k] is sample start - w + k
    csum = np.cumsum(qx)
    integral = csum[w:] - csum[:-w]  # sum of qx[i + 1 : i + w + 1], for chunk sample i

    # Local maxima of the integral, confirmed once their right neighbour is known.
    mx = np.concatenate((state.m_tail, integral))  # mx[k] is sample start - 2 + k
    centre = mx[1:-1]
    is_peak = (centre > mx[:-2]) & (centre >= mx[2:]) & (centre >= params.floor)
    positions = np.flatnonzero(is_peak) + 1  # indices into mx
    index = positions.astype(np.int64) + (start - 2)
    if start < 2:  # no neighbour before the first sample
        keep = index >= 1
        positions, index = positions[keep], index[keep]

    # Per-candidate measurements on the carried tails + chunk.
    rx = np.concatenate((state.r_tail, locator))  # rx[k] is sample start - span + k
    span = params.locator_span
    r_windows = windows(rx, params.locator_window)
    r_first = index - params.locator_window + 1 - (start - span)
    r_peak = r_first + np.argmax(r_windows[r_first], axis=1) + (start - span) - params.delay
    q_windows = windows(qx, w)
    q_first = index - start + 1
    peak = q_windows[q_first].max(axis=1) / _QUANTUM if index.size else np.empty(0)
    candidates = Candidates(
        index=index,
        value=mx[positions].astype(np.float64) / (w * _QUANTUM),
        peak=np.asarray(peak, dtype=np.float64),
        r_peak=np.maximum(r_peak, 0).astype(np.int64),
    )

    new_state = FeatureState(
        zi=zi,
        last_u=u[:, -1].copy(),
        sub_max=sub_max,
        block_peak=block_peak,
        block_floor=block_floor,
        peaks=all_peaks[:, -_HISTORY:].copy(),
        floors=all_floors[:, -_HISTORY:].copy(),
        q_tail=qx[qx.size - w :].copy(),
        r_tail=rx[rx.size - span :].copy(),
        m_tail=mx[-2:].copy(),
    )
    return new_state, candidates


def lowest_future_r_peak(frontier: int, params: DetectorParams) -> int:
    """No candidate confirmed after ``frontier`` can put an R peak below this sample."""
    return frontier - 1 - params.locator_window + 1 - params.delay


def as_float_leads(leads: list[NDArray[np.integer[Any]]], length: int) -> NDArray[np.float64]:
    return np.stack([np.asarray(lead[:length], dtype=np.float64) for lead in leads])
