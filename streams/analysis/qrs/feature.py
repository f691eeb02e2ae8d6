"""The QRS detector's front end: each lead's QRS energy and its candidate beats.

Per lead, a Butterworth band-pass (8-20 Hz, 4th order) keeps the QRS complex's
steep slopes and drops baseline wander, P and T waves and most mains and muscle
noise; the squared first difference of its output is the lead's QRS energy,
integrated over a 150-ms moving window (Pan J, Tompkins WJ, "A real-time QRS
detection algorithm", IEEE Trans Biomed Eng 32(3):230-236, 1985). The energy is
summed over frames of about 1/120 s before it is integrated: the integral has no
content that fast anyway, and the work after the filter shrinks by the frame
length. The local maxima of each lead's integral that top the lead's maxima of
the previous 100 ms, and are not topped by one in the next 100 ms, are candidate
beats; the leads' candidates are merged, and every candidate carries every lead's
measurements (integral, peak frame energy, and the band-pass extremum that
locates the R peak at full rate) for ``decision`` to weigh. A candidate is
measured when its maximum is found and held until the next 100 ms have shown
whether it stays (so candidates reach the decisions 100 ms later).

Everything here is exact under any chunking: the filter runs sample by sample
with carried memory; a frame's energy is summed from its own samples in a fixed
order (a frame cut by a chunk boundary waits for its last sample); each lead's
frame energies are divided by the median of its last eight 1-s maxima (blocks
fixed in absolute frame indices, so leads of any gain share one integer scale)
and quantised; the moving-window integral sums those integers with the window's
tail carried over.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from streams.analysis.compiled import as_argument
from streams.analysis.qrs import feature_pass
from streams.analysis.qrs.params import CAP, QUANTUM, DetectorParams

_HISTORY = 8  # blocks in the scale median
# Frame energies (ADC units squared) below this are rounding noise of the filter, not
# signal: a flat or saturated lead must not be scaled up into candidates.
_SMALLEST_SCALE = 1e-2

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Candidates:
    """Candidate beats confirmed by one chunk, in index order (C candidates, L leads)."""

    index: Ints  # (C,) last sample of the frame where a lead's integral peaked
    # Measurements are float32: they are carried in the memory while a candidate waits.
    value: NDArray[np.float32]  # (C, L) each lead's integral there, ADC units² per sample
    peak: NDArray[np.float32]  # (C, L) each lead's largest frame energy within the window
    r_index: Ints  # (C, L) each lead's band-pass extremum: the R peak it sees
    r_value: NDArray[np.float32]  # (C, L) |band-pass| at that extremum, ADC units

    @property
    def size(self) -> int:
        return int(self.index.size)


_CANDIDATE_FIELDS = tuple(f.name for f in fields(Candidates))


@dataclass(frozen=True, eq=False)
class FeatureMemory:
    """What the front end carries from one chunk to the next (L leads)."""

    zi: Floats  # (L, 4) band-pass filter state
    last_u: Floats  # (L,) last band-pass output
    partial: Floats  # (L, start % frame) energies of the open frame
    block_peak: Floats  # (L,) max frame energy of the open block so far
    peaks: Floats  # (L, 8) last closed blocks' max frame energies, oldest first, NaN if none
    last_scale: Floats  # (L,) the scale of the last frame
    q_tail: NDArray[np.int32]  # (L, window) last quantised frame energies
    u_tail: NDArray[np.float32]  # (L, locator window + frame) last band-pass outputs
    m_tail: Ints  # (L, 2) last two integrals (a local maximum needs its right neighbour)
    recent: Ints  # (K, 3) lead, frame, integral of each lead's local maxima in the
    #                last 2 x ``frame_thinning`` frames (candidates are compared with them)
    held: Candidates  # measured, waiting for the next ``frame_thinning`` frames
    last_candidate: int  # frame of the last candidate, merged or not


def start_feature(n_leads: int, params: DetectorParams) -> FeatureMemory:
    zeros = np.zeros(n_leads)
    return FeatureMemory(
        zi=np.zeros((n_leads, params.a.size - 1)),
        last_u=zeros,
        partial=np.zeros((n_leads, 0)),
        block_peak=zeros,
        peaks=np.full((n_leads, _HISTORY), np.nan),
        last_scale=np.ones(n_leads),
        q_tail=np.zeros((n_leads, params.window), dtype=np.int32),
        u_tail=np.zeros((n_leads, params.locator_window + params.frame), dtype=np.float32),
        m_tail=np.zeros((n_leads, 2), dtype=np.int64),
        recent=np.empty((0, 3), dtype=np.int64),
        held=_no_candidates(n_leads),
        last_candidate=-(2**40),
    )


def _segment_cuts(start: int, length: int, size: int) -> NDArray[np.intp]:
    """Starts, relative to ``start``, of the segments of [start, start + length) cut at
    multiples of ``size``; the first segment always starts at 0."""
    first = (start // size + 1) * size - start
    return np.concatenate(([0], np.arange(first, length, size))).astype(np.intp)


def _valid_median(history: Floats) -> Floats:
    """Median of the non-NaN values along the last axis (NaN where there are none)."""
    ordered = np.sort(history, axis=-1)  # NaN sort last
    size = history.shape[-1]
    if size and not np.isnan(ordered[..., -1]).any():  # no NaN: the same, fewer steps
        middle: Floats = 0.5 * (ordered[..., (size - 1) // 2] + ordered[..., size // 2])
        return middle
    count = np.count_nonzero(~np.isnan(history), axis=-1)
    low = np.take_along_axis(ordered, (np.maximum(count - 1, 0) // 2)[..., None], axis=-1)
    high = np.take_along_axis(ordered, (count // 2)[..., None], axis=-1)
    return np.where(count > 0, (0.5 * (low + high))[..., 0], np.nan)


def _frame_energies(memory: FeatureMemory, energy: Floats, frame: int) -> tuple[Floats, Floats]:
    """Energies of the frames this chunk completes, and the open frame's energies.

    A frame's energies are added in a fixed order, whatever the chunking: the open
    frame's carried energies, then the chunk's."""
    partial = memory.partial
    rows, held = partial.shape
    needed = frame - held if held else 0  # to complete the open frame
    if energy.shape[1] < needed:
        return np.empty((rows, 0)), np.concatenate((partial, energy), axis=1)
    rest = energy[:, needed:]
    n_frames = rest.shape[1] // frame
    end = n_frames * frame
    frames = np.empty((rows, n_frames + (1 if held else 0)))
    body = frames[:, 1:] if held else frames
    if frame == 1:
        body[:] = rest[:, :end]
    else:
        np.add(rest[:, 0:end:frame], rest[:, 1:end:frame], out=body)
    for offset in range(2, frame):
        body += rest[:, offset:end:frame]
    if held:
        first = partial[:, 0].copy()
        for column in [*partial.T[1:], *energy[:, :needed].T]:
            first += column
        frames[:, 0] = first
    return frames, rest[:, end:].copy()


def _scales(
    memory: FeatureMemory, frames: Floats, first_frame: int, params: DetectorParams
) -> tuple[Floats, Floats, Floats]:
    """Each frame's scale (the median of its lead's last eight 1-s maxima; in the
    first second, the lead's running maximum), the open block's max and the history."""
    n_leads, count = frames.shape
    cuts = _segment_cuts(first_frame, count, params.block)
    seg_max = np.maximum.reduceat(frames, cuts, axis=1)
    seg_max[:, 0] = np.maximum(seg_max[:, 0], memory.block_peak)
    closed = (first_frame + count) % params.block == 0
    new_peaks = seg_max if closed else seg_max[:, :-1]
    block_peak = np.zeros(n_leads) if closed else seg_max[:, -1].copy()
    history = np.concatenate((memory.peaks, new_peaks), axis=1)
    # Each segment's last eight block maxima: history[:, i : i + 8] for segment i.
    last_eight = history[:, np.arange(cuts.size)[:, None] + np.arange(_HISTORY)]
    # Floored per segment rather than per frame: the same scales, far fewer values.
    block_scale = np.maximum(_valid_median(last_eight), _SMALLEST_SCALE)
    if cuts.size == 1:
        scale = np.repeat(block_scale, count, axis=1)
        lengths = np.array([count])
    else:
        lengths = np.diff(np.append(cuts, count))
        scale = np.repeat(block_scale, lengths, axis=1)
    if first_frame < params.block:
        # The first second has no history: scale by the running maximum.
        n0 = int(lengths[0])
        running = np.maximum.accumulate(frames[:, :n0], axis=1)
        np.maximum(running, memory.block_peak[:, None], out=running)
        np.maximum(running, _SMALLEST_SCALE, out=scale[:, :n0])
    return scale, block_peak, history[:, -_HISTORY:].copy()


def _tops(maxima: Ints, thinning: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """For each (lead, frame, integral) row, rows sorted by lead, then frame: whether it
    tops every earlier maximum of its lead within ``thinning`` frames, and whether no
    later one within ``thinning`` frames tops it (a tie goes to the earlier)."""
    lead, index, value = maxima[:, 0], maxima[:, 1], maxima[:, 2]
    before = np.ones(lead.size, dtype=np.bool_)
    after = np.ones(lead.size, dtype=np.bool_)
    for k in range(1, lead.size):
        near = (lead[k:] == lead[:-k]) & (index[k:] - index[:-k] <= thinning)
        if not near.any():
            break
        before[k:] &= ~(near & (value[:-k] >= value[k:]))
        after[:-k] &= ~(near & (value[k:] > value[:-k]))
    return before, after


def local_maxima(
    recent: Ints, mx: Ints, first_frame: int, params: DetectorParams
) -> tuple[Ints, NDArray[np.bool_]]:
    """The local maxima of each lead's integral (``mx``: leads by frames from
    ``first_frame - 2``) at or above the floor, after the ``recent`` ones, as (lead,
    frame, integral) rows in (lead, frame) order, and which of them top their lead
    within the thinning distance on both sides: compiled (``feature_pass``), as
    ``local_maxima_reference`` finds them."""
    found: tuple[Ints, NDArray[np.bool_]] = feature_pass.local_maxima(
        as_argument(mx, np.int64),
        as_argument(recent, np.int64),
        first_frame,
        params.floor,
        params.frame_thinning,
    )
    return found


def local_maxima_reference(
    recent: Ints, mx: Ints, first_frame: int, params: DetectorParams
) -> tuple[Ints, NDArray[np.bool_]]:
    """``local_maxima`` in numpy: the reference of the compiled pass."""
    centre = mx[:, 1:-1]
    is_peak = (centre > mx[:, :-2]) & (centre >= mx[:, 2:]) & (centre >= params.floor)
    # (flatnonzero is many times quicker than a 2-D nonzero on these sparse rows)
    lead, position = np.divmod(np.flatnonzero(is_peak), centre.shape[1])
    found = np.stack((lead, position + first_frame - 1, centre[lead, position]), axis=1)
    found = found[found[:, 1] >= 1]  # frame 0 has no left neighbour
    # Both parts are in (lead, frame) order and every recent frame precedes the
    # chunk's: a stable sort by lead puts them in (lead, frame) order.
    maxima = np.concatenate((recent, found))
    maxima = maxima[np.argsort(maxima[:, 0], kind="stable")]
    topping, unbeaten = _tops(maxima, params.frame_thinning)
    return maxima, topping & unbeaten


def _merge(frames: Ints, last_candidate: int, params: DetectorParams) -> tuple[Ints, int]:
    """Leads peak within a few frames of each other at a QRS: one candidate will do
    (the first of a run whose members are each within the merging distance)."""
    if not frames.size:
        return frames, last_candidate
    previous = np.concatenate(([last_candidate], frames[:-1]))
    return frames[frames - previous > params.frame_merge], int(frames[-1])


def filter_frames(
    memory: FeatureMemory, leads: Floats, start: int, params: DetectorParams
) -> tuple[Floats, Floats, Floats, Floats]:
    """The band-pass output of the chunk ``leads`` (leads by samples, from sample
    ``start``), the filter's new state, the energies of the frames the chunk completes
    and those of the frame left open: compiled (``feature_pass``), as
    ``filter_frames_reference`` computes them."""
    zi = memory.zi
    if start == 0:  # start at rest under the first sample: no step transient
        zi = params.zi_unit[np.newaxis, :] * leads[:, :1]
    return feature_pass.filter_frames(
        as_argument(leads, np.float64),
        as_argument(zi, np.float64),
        params.b,
        params.a,
        as_argument(memory.last_u, np.float64),
        as_argument(memory.partial, np.float64),
        params.frame,
    )


def filter_frames_reference(
    memory: FeatureMemory, leads: Floats, start: int, params: DetectorParams
) -> tuple[Floats, Floats, Floats, Floats]:
    """``filter_frames`` in numpy and scipy: the reference of the compiled pass."""
    zi = memory.zi
    if start == 0:
        zi = params.zi_unit[np.newaxis, :] * leads[:, :1]
    u, zi = signal.lfilter(params.b, params.a, leads, axis=1, zi=zi)
    d = np.empty_like(u)
    d[:, 0] = u[:, 0] - memory.last_u
    np.subtract(u[:, 1:], u[:, :-1], out=d[:, 1:])
    np.multiply(d, d, out=d)
    frames, partial = _frame_energies(memory, d, params.frame)
    return u, zi, frames, partial


def compute_feature(
    memory: FeatureMemory, leads: Floats, start: int, params: DetectorParams
) -> tuple[FeatureMemory, Candidates]:
    """Run the front end on one chunk (leads x samples, starting at sample ``start``)."""
    length = leads.shape[1]
    k = params.frame
    u, zi, frames, partial = filter_frames(memory, leads, start, params)
    first_frame = (start - memory.partial.shape[1]) // k

    w = params.window
    u_tail = memory.u_tail
    empty = np.empty((0, 3), dtype=np.int64)
    index = np.empty(0, dtype=np.int64)
    qx = memory.q_tail
    mx = memory.m_tail
    block_peak, peaks, last_scale = memory.block_peak, memory.peaks, memory.last_scale
    held = memory.held
    maxima = memory.recent
    last_candidate = memory.last_candidate
    # Without a new complete frame nothing new is known, so nothing is decided.
    stay, due = index, -(2**40)
    if frames.shape[1]:
        scale, block_peak, peaks = _scales(memory, frames, first_frame, params)
        ratio = np.divide(frames, scale)
        np.minimum(ratio, CAP, out=ratio)
        ratio *= QUANTUM
        rows, count = frames.shape
        qx = np.empty((rows, w + count), dtype=np.int32)  # qx[:, j] is frame first_frame - w + j
        qx[:, :w] = memory.q_tail
        np.copyto(qx[:, w:], ratio, casting="unsafe")  # truncated, as astype would
        # Exact integer moving sums (int64 sums wrap on overflow, differences stay exact).
        csum = np.cumsum(qx, axis=1, dtype=np.int64)
        mx = np.empty((rows, 2 + count), dtype=np.int64)  # mx[:, j]: frame first - 2 + j
        mx[:, :2] = memory.m_tail
        np.subtract(csum[:, w:], csum[:, :-w], out=mx[:, 2:])  # the window ending at each frame
        thinning = params.frame_thinning
        # The new maxima that top their lead's last 100 ms, and that no later one has
        # topped yet, are measured now, while their samples are at hand; whether they
        # stay waits for the next 100 ms. (One topped already never stays: the maximum
        # that topped it is kept for as long as it is held.)
        maxima, staying = local_maxima(memory.recent, mx, first_frame, params)
        index = _sorted_unique(maxima[staying & (maxima[:, 1] >= first_frame - 1), 1])
        known = first_frame + frames.shape[1] - 2  # every maximum up to here is known
        due = known - thinning  # ... so every candidate up to here is decided
        stay = _sorted_unique(maxima[staying, 1])
        if index.size:  # every lead's measurements at every new candidate frame
            measured = _measure(
                u, u_tail, qx, mx, (last_scale, scale), index, first_frame, start, params
            )
            held = _joined(held, measured)
        last_scale = scale[:, -1].copy()
        maxima = maxima[maxima[:, 1] > due - thinning]  # what the held ones are compared with
    else:
        maxima = memory.recent

    span = u_tail.shape[1]
    held, candidates, last_candidate = _release(held, stay, due, last_candidate, params)
    if length >= span:
        u_tail = u[:, -span:].astype(np.float32)
    else:
        u_tail = np.concatenate((u_tail, u.astype(np.float32)), axis=1)[:, -span:]
    new_state = FeatureMemory(
        zi=np.asarray(zi, dtype=np.float64),
        last_u=u[:, -1].copy(),
        partial=partial,
        block_peak=block_peak,
        peaks=peaks,
        last_scale=last_scale,
        q_tail=qx[:, -w:].copy(),
        u_tail=u_tail,
        m_tail=mx[:, -2:].copy(),
        recent=maxima if maxima.size else empty,
        held=held,
        last_candidate=last_candidate,
    )
    return new_state, candidates


def _release(
    held: Candidates, stay: Ints, due: int, last_candidate: int, params: DetectorParams
) -> tuple[Candidates, Candidates, int]:
    """Decide the held candidates up to frame ``due``: those at frames in ``stay``
    (where some lead's maximum tops its lead's 100 ms on both sides) are merged and
    released. The ones still held, the released ones, and the new last candidate."""
    frames = (held.index + 1) // params.frame - 1
    decided = int(np.searchsorted(frames, due, side="right"))  # frames ascend
    if not decided:
        return held, _no_candidates(held.value.shape[1]), last_candidate
    frames = frames[:decided]
    merged, last_candidate = _merge(frames[_among(frames, stay)], last_candidate, params)
    released = _taken(held, np.flatnonzero(_among(frames, merged)))
    return _taken(held, slice(decided, None)), released, last_candidate


def _among(values: Ints, ordered: Ints) -> NDArray[np.bool_]:
    """Whether each of ``values`` is one of ``ordered`` (ascending); ``np.isin`` costs
    many times more on a few values."""
    if not ordered.size:
        return np.zeros(values.size, dtype=np.bool_)
    at = np.minimum(np.searchsorted(ordered, values), ordered.size - 1)
    found: NDArray[np.bool_] = ordered[at] == values
    return found


def _joined(first: Candidates, second: Candidates) -> Candidates:
    if not first.size:
        return second
    return Candidates(
        *(np.concatenate((getattr(first, f), getattr(second, f))) for f in _CANDIDATE_FIELDS)
    )


def _taken(candidates: Candidates, rows: NDArray[np.intp] | slice) -> Candidates:
    return Candidates(*(getattr(candidates, f)[rows] for f in _CANDIDATE_FIELDS))


def _sorted_unique(values: Ints) -> Ints:
    """``np.unique`` of integers, by sorting (faster for a few hundred)."""
    ordered = np.sort(values)
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _windows_at(values: NDArray[Any], starts: Ints, width: int) -> NDArray[Any]:
    """``values[:, s : s + width]`` for each ``s`` of ``starts``: (rows, starts, width)."""
    if starts.size * width < 4096:  # a gather is quicker for a few
        gathered: NDArray[Any] = values[:, starts[:, None] + np.arange(width)]
        return gathered
    rows, length = values.shape
    row_step, step = values.strides
    windows = np.lib.stride_tricks.as_strided(
        values, (rows, length - width + 1, width), (row_step, step, step), writeable=False
    )
    picked: NDArray[Any] = windows[:, starts]
    return picked


def _measure(
    u: Floats,
    u_tail: NDArray[np.float32],
    qx: NDArray[np.int32],
    mx: Ints,
    scales: tuple[Floats, Floats],
    index: Ints,
    first_frame: int,
    start: int,
    params: DetectorParams,
) -> Candidates:
    """``measure_reference``, compiled (``feature_pass``)."""
    value, peak, r_index, r_value = feature_pass.measure_candidates(
        as_argument(u, np.float64),
        as_argument(u_tail, np.float32),
        as_argument(qx, np.int32),
        as_argument(mx, np.int64),
        as_argument(scales[0], np.float64),
        as_argument(scales[1], np.float64),
        as_argument(index, np.int64),
        first_frame,
        start,
        params.frame,
        params.window,
        params.locator_window,
        params.delay,
    )
    n = (index + 1) * params.frame - 1
    return Candidates(n.astype(np.int64), value, peak, r_index, r_value)


def measure_reference(
    u: Floats,
    u_tail: NDArray[np.float32],
    qx: NDArray[np.int32],
    mx: Ints,
    scales: tuple[Floats, Floats],
    index: Ints,
    first_frame: int,
    start: int,
    params: DetectorParams,
) -> Candidates:
    """Every lead's measurements at the candidate frames ``index`` (see
    ``compute_feature`` for ``qx`` and ``mx``; ``scales``: the scale of the frame before
    the chunk's first, and of each of the chunk's frames)."""
    k, w, lw = params.frame, params.window, params.locator_window
    at = index - (first_frame - 1)
    n = (index + 1) * k - 1
    # The R peak: each lead's largest |band-pass| in the window ending at the candidate,
    # in float32 (as the carried tail is) wherever the window lies.
    span = u_tail.shape[1]
    lo = n - lw + 1
    in_chunk = lo >= start
    if in_chunk.all():
        r_windows = _windows_at(u, lo - start, lw).astype(np.float32)
    else:
        r_windows = np.empty((u.shape[0], n.size, lw), dtype=np.float32)
        r_windows[:, in_chunk] = _windows_at(u, lo[in_chunk] - start, lw)
        head = np.concatenate((u_tail, u[:, :lw].astype(np.float32)), axis=1)
        r_windows[:, ~in_chunk] = _windows_at(head, lo[~in_chunk] - (start - span), lw)
    np.abs(r_windows, out=r_windows)
    r_arg = np.argmax(r_windows, axis=2)
    r_value = np.take_along_axis(r_windows, r_arg[..., None], axis=2)[..., 0]
    r_index = np.maximum(n[None, :] - lw + 1 + r_arg - params.delay, 0)
    q_windows = _windows_at(qx, at, w)
    scale_at = scales[1][:, at - 1]
    if at[0] == 0:  # (``index`` ascends) the frame before the chunk's first
        scale_at[:, 0] = scales[0]
    return Candidates(
        index=n.astype(np.int64),
        value=(mx[:, at + 1] * (scale_at / (w * k * QUANTUM))).T.astype(np.float32),
        peak=(q_windows.max(axis=2, initial=0) * (scale_at / (k * QUANTUM))).T.astype(np.float32),
        r_index=r_index.T.astype(np.int64),
        r_value=r_value.T.astype(np.float32),
    )


def final_candidates(memory: FeatureMemory, frontier: int, params: DetectorParams) -> Candidates:
    """At the end of the signal: the held candidates that stay against the maxima that
    came, and the last complete frame, if a lead's integral was still rising into it
    (a beat right at the end has no right neighbour to confirm it)."""
    k, w, lw = params.frame, params.window, params.locator_window
    thinning = params.frame_thinning
    maxima = memory.recent
    stay = _sorted_unique(maxima[np.logical_and(*_tops(maxima, thinning)), 1])
    end = frontier // k
    _, released, last_candidate = _release(memory.held, stay, end, memory.last_candidate, params)
    frame = end - 1
    m = memory.m_tail
    rising = (m[:, 1] > m[:, 0]) & (m[:, 1] >= params.floor)
    for lead, other_frame, value in maxima.tolist():
        if frame - other_frame <= thinning and value >= m[lead, 1]:
            rising[lead] = False
    if frame < 1 or not rising.any() or frame - last_candidate <= params.frame_merge:
        return released
    n = (frame + 1) * k - 1
    lo = n - lw + 1 - (frontier - memory.u_tail.shape[1])
    window = np.abs(memory.u_tail[:, lo : lo + lw])
    r_arg = np.argmax(window, axis=1)
    scale = memory.last_scale
    last = Candidates(
        index=np.array([n], dtype=np.int64),
        value=(m[:, 1] * (scale / (w * k * QUANTUM)))[np.newaxis, :].astype(np.float32),
        peak=(memory.q_tail.max(axis=1) * (scale / (k * QUANTUM)))[np.newaxis, :].astype(
            np.float32
        ),
        r_index=np.maximum(n - lw + 1 + r_arg - params.delay, 0)[np.newaxis, :].astype(np.int64),
        r_value=window[np.arange(window.shape[0]), r_arg][np.newaxis, :].astype(np.float32),
    )
    return _joined(released, last)


def _no_candidates(n_leads: int) -> Candidates:
    return Candidates(
        index=np.empty(0, dtype=np.int64),
        value=np.empty((0, n_leads), dtype=np.float32),
        peak=np.empty((0, n_leads), dtype=np.float32),
        r_index=np.empty((0, n_leads), dtype=np.int64),
        r_value=np.empty((0, n_leads), dtype=np.float32),
    )


def first_unconfirmed(frontier: int, params: DetectorParams) -> int:
    """The lowest sample at which a candidate may still appear, once ``frontier``
    samples have been seen (the last complete frame awaits its right neighbour, and a
    candidate the next 100 ms of frames)."""
    return (frontier // params.frame - params.frame_thinning) * params.frame - 1


def lowest_future_r_index(frontier: int, params: DetectorParams) -> int:
    """No candidate confirmed after ``frontier`` can locate an R peak below this sample."""
    return first_unconfirmed(frontier, params) - params.locator_window + 1 - params.delay
