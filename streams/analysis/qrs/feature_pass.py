"""The QRS front end's per-sample work in compiled loops: the band-pass filter, the
energy of its first difference and the frame sums (``filter_frames``), and the
measurements of candidate beats (``measure_candidates``).

Each does exactly the floating-point operations of its numpy reference, in the same
order (``feature.filter_frames_reference``: ``scipy.signal.lfilter``, whose direct
form II transposed loop this repeats, then the differences and the frames' sums from
first to last sample; ``feature.measure_reference``), so the results are bitwise the
same: ``tests/unit/streams/analysis/qrs/test_feature_pass.py`` holds them to it. What
it saves is numpy's per-call cost on a 1-s chunk, and the filter runs the leads side
by side instead of one after the other, each sample's output waiting on the last.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from streams.analysis.compiled import compiled
from streams.analysis.qrs.params import QUANTUM

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

_FILTER = (
    "Tuple((float64[:, ::1], float64[:, ::1], float64[:, ::1], float64[:, ::1]))("
    "float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], float64[::1],"
    " float64[:, ::1], int64)"
)


@compiled(_FILTER)
def filter_frames(
    x: Floats, zi: Floats, b: Floats, a: Floats, last_u: Floats, partial: Floats, frame: int
) -> tuple[Floats, Floats, Floats, Floats]:
    """The band-pass output ``u`` of ``x`` (leads by samples) from the filter state
    ``zi`` (``a[0]`` must be 1), its final state, the energies of the frames of ``frame``
    samples that the chunk completes (the open frame's carried energies ``partial``
    first), and the energies of the frame left open. ``last_u``: the output before."""
    rows, length = x.shape
    order = a.size - 1
    u = np.empty((rows, length))
    z = zi.copy()
    for i in range(length):  # every lead at each sample: their filters run side by side
        for r in range(rows):
            xn = x[r, i]
            y = z[r, 0] + b[0] * xn
            for n in range(order - 1):
                z[r, n] = z[r, n + 1] + xn * b[n + 1] - y * a[n + 1]
            z[r, order - 1] = xn * b[order] - y * a[order]
            u[r, i] = y
    held = partial.shape[1]
    needed = frame - held if held else 0  # samples that complete the open frame
    if length < needed:
        left = np.empty((rows, held + length))
        left[:, :held] = partial
        for r in range(rows):
            previous = last_u[r]
            for i in range(length):
                d = u[r, i] - previous
                left[r, held + i] = d * d
                previous = u[r, i]
        return u, z, np.empty((rows, 0)), left
    n_frames = (length - needed) // frame
    first = 1 if held else 0
    frames = np.empty((rows, first + n_frames))
    rest = length - needed - n_frames * frame
    left = np.empty((rows, rest))
    for r in range(rows):
        previous = last_u[r]
        i = 0
        if held:
            total = partial[r, 0]
            for h in range(1, held):
                total += partial[r, h]
            for _ in range(needed):
                d = u[r, i] - previous
                total += d * d
                previous = u[r, i]
                i += 1
            frames[r, 0] = total
        for f in range(n_frames):
            d = u[r, i] - previous
            total = d * d
            previous = u[r, i]
            i += 1
            for _ in range(frame - 1):
                d = u[r, i] - previous
                total += d * d
                previous = u[r, i]
                i += 1
            frames[r, first + f] = total
        for j in range(rest):
            d = u[r, i] - previous
            left[r, j] = d * d
            previous = u[r, i]
            i += 1
    return u, z, frames, left


_MEASURE = (
    "Tuple((float32[:, ::1], float32[:, ::1], int64[:, ::1], float32[:, ::1]))("
    "float64[:, ::1], float32[:, ::1], int32[:, ::1], int64[:, ::1], float64[::1],"
    " float64[:, ::1], int64[::1], int64, int64, int64, int64, int64, int64)"
)


@compiled(_MEASURE)
def measure_candidates(
    u: Floats,
    u_tail: NDArray[np.float32],
    qx: NDArray[np.int32],
    mx: Ints,
    last_scale: Floats,
    scale: Floats,
    index: Ints,
    first_frame: int,
    start: int,
    frame: int,
    window: int,
    locator_window: int,
    delay: int,
) -> tuple[NDArray[np.float32], NDArray[np.float32], Ints, NDArray[np.float32]]:
    """Each lead's integral, peak frame energy, R-peak index and |band-pass| there at
    each candidate frame of ``index`` (candidates by leads): ``feature.measure_reference``."""
    rows = u.shape[0]
    span = u_tail.shape[1]
    count = index.size
    value = np.empty((count, rows), dtype=np.float32)
    peak = np.empty((count, rows), dtype=np.float32)
    r_index = np.empty((count, rows), dtype=np.int64)
    r_value = np.empty((count, rows), dtype=np.float32)
    to_value = window * frame * QUANTUM
    to_peak = frame * QUANTUM
    for c in range(count):
        at = index[c] - (first_frame - 1)
        n = (index[c] + 1) * frame - 1
        lo = n - locator_window + 1
        for r in range(rows):
            s = last_scale[r] if at == 0 else scale[r, at - 1]
            value[c, r] = np.float32(mx[r, at + 1] * (s / to_value))
            top = 0
            for q in qx[r, at : at + window]:
                top = max(top, q)
            peak[c, r] = np.float32(top * (s / to_peak))
            # The R peak: the first largest |band-pass| in float32, as the tail holds it.
            best = np.float32(-1.0)
            where = 0
            for i in range(locator_window):
                sample = lo + i
                if sample >= start:
                    v = abs(np.float32(u[r, sample - start]))
                else:
                    v = abs(u_tail[r, sample - start + span])
                if v > best:
                    best, where = v, i
            r_index[c, r] = max(lo + where - delay, 0)
            r_value[c, r] = best
    return value, peak, r_index, r_value


_MAXIMA = "Tuple((int64[:, ::1], boolean[::1]))(int64[:, ::1], int64[:, ::1], int64, int64, int64)"


@compiled(_MAXIMA)
def local_maxima(
    mx: Ints, recent: Ints, first_frame: int, floor: int, thinning: int
) -> tuple[Ints, NDArray[np.bool_]]:
    """The local maxima of each lead's integral ``mx`` (leads by frames ``first_frame -
    2`` on) at or above ``floor``, after the lead's ``recent`` ones: (lead, frame,
    integral) rows in (lead, frame) order; and whether each row tops every other of its
    lead within ``thinning`` frames, the earlier one winning a tie
    (``feature.local_maxima_reference``)."""
    rows, width = mx.shape
    found = np.empty((recent.shape[0] + rows * width, 3), dtype=np.int64)
    m = 0
    at = 0
    for r in range(rows):
        while at < recent.shape[0] and recent[at, 0] == r:
            found[m] = recent[at]
            m += 1
            at += 1
        for p in range(1, width - 1):
            centre = mx[r, p]
            frame = p + first_frame - 2
            if centre > mx[r, p - 1] and centre >= mx[r, p + 1] and centre >= floor and frame >= 1:
                found[m, 0], found[m, 1], found[m, 2] = r, frame, centre
                m += 1
    maxima = found[:m].copy()
    staying = np.ones(m, dtype=np.bool_)
    for i in range(m):
        for j in range(i + 1, m):
            if maxima[j, 0] != maxima[i, 0] or maxima[j, 1] - maxima[i, 1] > thinning:
                break
            if maxima[i, 2] >= maxima[j, 2]:
                staying[j] = False  # topped by an earlier one
            else:
                staying[i] = False  # topped by a later one
    return maxima, staying
