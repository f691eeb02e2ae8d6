"""Beat classes, online: each final beat gets one of the AAMI EC57 classes N (normal and
bundle-branch), S (supraventricular ectopic), V (ventricular ectopic), F (fusion) or
Q (unclassifiable), from its timing and its shape against the ECG's own beats.

**Shape.** The first ``MAX_LEADS`` leads (two: MIT-BIH's MLII and V1/V5, a 12-lead
ECG's I and II), in block means of ``factor`` samples (about 125 Hz: 128 to 1000 Hz
records look alike), from ``PRE_S`` before the R peak to ``POST_S`` after it. The ECG's
running templates (``N_TEMPLATES``, each the running mean of the beats that match it,
by correlation at least ``MATCH`` over the best of ±``LAG`` blocks of alignment; a beat
that matches none replaces the least used one) follow its beat shapes; the *dominant*
template is the one with the most beats lately (a decaying count). Against it, each
beat has its correlation, its QRS width (the blocks between 10 % and 90 % of its
cumulative absolute slope), its peak-to-peak amplitude and its steepest slope, as
ratios to the template's, weighted by the template's energy per lead.

**Timing.** Prematurity: the RR interval before the beat against the running mean RR
of the beats shaped like the dominant (``rr_mean``); the pause after it: the next RR
interval against the same mean.

**Classes**, after the template-and-rhythm classifiers of Hamilton P, "Open source ECG
analysis", Computers in Cardiology 29:101-104, 2002 (EP Limited's OSEA) and of de
Chazal P, O'Dwyer M, Reilly RB, "Automatic classification of heartbeats using ECG
morphology and heartbeat interval features", IEEE Trans Biomed Eng 51(7):1196-1206,
2004 (for the features):

- Q: a beat far smaller and flatter than the dominant beats (amplitude and slope below
  ``SMALL`` of theirs: a T wave or noise taken for a beat), one too close to the ECG's
  start or end to be measured, or one before there is a dominant template;
- N or S: a beat of the dominant shape (it matches the dominant template, or correlates
  at least ``ALIKE`` with it, or at least ``NORMAL_CORRELATION`` with its width below
  ``WIDE`` and its amplitude within a factor ``AMPLITUDE`` of it): S when premature
  (below ``S_PREMATURE``), N otherwise;
- V: any other beat that comes early (prematurity below ``V_PREMATURE``), or is followed
  by a compensatory pause (above ``COMPENSATORY_PAUSE``) while not late;
- V or Q: any other beat that is wide and unlike the dominant shape (correlation below
  ``V_CORRELATION``, width at least ``V_WIDE``): V if its timing shows it at all (below
  ``V_UNLIKE_PREMATURE``, or a compensatory pause), Q in its usual place with no pause
  after it (mostly noise taken for a beat);
- N: the rest (a wider beat in its usual place: a rate-dependent bundle-branch block).

F is never given: fusion beats (0.8 % of MIT-BIH's) are counted as what they look like.

A beat's class is decided when the next beat is final (the pause after it is part of
it), or when the ECG ends. Everything runs beat by beat on values that any chunking
gives alike (block means at absolute block boundaries, the last ``RING_S`` seconds of
them carried), so the classes are the same for any chunking. The memory: the ring of
block means (about 1.1 KB for two leads), the templates in float32 (0.7 KB) and a few
numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from streams.analysis.compiled import compiled

CLASS_LETTERS: Final = "NSVFQ"
N_CLASS, S_CLASS, V_CLASS, F_CLASS, Q_CLASS = range(5)
MAX_LEADS: Final = 2
BLOCK_RATE: Final = 125.0
PRE_S, POST_S = 0.10, 0.15
# The detector makes most beats final within 1.5 s of their R peak, a search-back at
# most ~2.3 s; a beat older than the ring when it comes (rare) is Q. 2.2 s keeps the
# state of 12 leads at 500 Hz under 16 KiB.
RING_S: Final = 2.2
N_TEMPLATES: Final = 3
LAG: Final = 2
MATCH: Final = 0.9
ALIKE: Final = 0.93
NORMAL_CORRELATION: Final = 0.9
WIDE: Final = 1.3
AMPLITUDE: Final = 1.4
SMALL: Final = 0.45
S_PREMATURE: Final = 0.8
V_PREMATURE: Final = 0.85
V_CORRELATION: Final = 0.3
V_WIDE: Final = 1.5
V_UNLIKE_PREMATURE: Final = 0.95
COMPENSATORY_PAUSE: Final = 1.1
_DECAY = 0.995  # of a template's count, per beat
_MOST = 8.0  # a template follows a new beat by at least 1/8
_RR_FOLLOW = 0.1

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

# The int64 scalars.
_BLOCKS, _PARTIAL_COUNT, _LAST_BEAT, _PENDING_BEAT = range(4)
N_INTS = 4
# The float64 scalars: the running RR mean, then the pending beat's features.
_RR_MEAN, _PREMATURITY, _CORRELATION, _WIDTH, _AMPLITUDE, _SLOPE, _DOMINANT, _MEASURED = range(8)
N_FLOATS = 8


@dataclass(frozen=True)
class Shape:
    factor: int  # samples per block
    leads: int  # leads used (at most MAX_LEADS)
    pre: int  # blocks before the R peak's block
    post: int  # blocks from the R peak's block on
    ring: int  # blocks carried

    @property
    def width(self) -> int:
        return self.pre + self.post


def shape_for(n_leads: int, rate: float) -> Shape:
    factor = max(1, round(rate / BLOCK_RATE))
    block_rate = rate / factor
    return Shape(
        factor=factor,
        leads=min(n_leads, MAX_LEADS),
        pre=round(PRE_S * block_rate),
        post=round(POST_S * block_rate),
        ring=math.ceil(RING_S * block_rate),
    )


@dataclass(frozen=True, eq=False)
class ClassMemory:
    ints: Ints  # (N_INTS,) blocks so far, samples in the open block, last and pending beat
    partial: Ints  # (leads,) the open block's sums
    ring: Ints  # (leads, ring) the last block means, oldest first (block _BLOCKS - ring on)
    templates: NDArray[np.float32]  # (N_TEMPLATES, leads, width)
    counts: Floats  # (N_TEMPLATES,) each template's decaying count of beats, 0: unused
    floats: Floats  # (N_FLOATS,)

    @property
    def pending(self) -> int:
        """The beat whose class waits for the next beat (-1: none)."""
        return int(self.ints[_PENDING_BEAT])


def start_classes(n_leads: int, rate: float) -> ClassMemory:
    shape = shape_for(n_leads, rate)
    ints = np.zeros(N_INTS, dtype=np.int64)
    ints[_LAST_BEAT] = ints[_PENDING_BEAT] = -1
    return ClassMemory(
        ints=ints,
        partial=np.zeros(shape.leads, dtype=np.int64),
        ring=np.zeros((shape.leads, shape.ring), dtype=np.int64),
        templates=np.zeros((N_TEMPLATES, shape.leads, shape.width), dtype=np.float32),
        counts=np.zeros(N_TEMPLATES),
        floats=np.zeros(N_FLOATS),
    )


def _copy(memory: ClassMemory) -> ClassMemory:
    return ClassMemory(
        memory.ints.copy(),
        memory.partial.copy(),
        memory.ring.copy(),
        memory.templates.copy(),
        memory.counts.copy(),
        memory.floats.copy(),
    )


def classify_beats(
    memory: ClassMemory,
    samples: NDArray[np.int32],
    beats: Ints,
    rate: float,
    trace: Floats | None = None,
) -> tuple[ClassMemory, NDArray[np.int8]]:
    """Take the next ``samples`` (leads by samples, every lead; only the first
    ``MAX_LEADS`` are used), then the ``beats`` the detector made final with them
    (ascending, none beyond the samples). Returns the new memory and the classes decided
    (indices into ``CLASS_LETTERS``): one for each beat but the last, which waits for
    the next one, and first the one that was waiting, if any. ``trace`` (beats by
    ``N_FLOATS + 1``), for evaluation: row k gets the features of beat k - 1 and the
    pause after it."""
    shape = shape_for(samples.shape[0], rate)
    new = _copy(memory)
    classes = _classify(
        np.ascontiguousarray(samples[: shape.leads], dtype=np.int64),
        np.ascontiguousarray(beats, dtype=np.int64),
        new.ints,
        new.partial,
        new.ring,
        new.templates,
        new.counts,
        new.floats,
        shape.factor,
        shape.pre,
        shape.post,
        _NO_TRACE if trace is None else trace,
    )
    return new, classes


def finish_classes(memory: ClassMemory) -> tuple[ClassMemory, NDArray[np.int8]]:
    """The ECG has ended: the class of the beat that waited (none after it)."""
    new = _copy(memory)
    if new.ints[_PENDING_BEAT] < 0:
        return new, np.zeros(0, dtype=np.int8)
    new.ints[_PENDING_BEAT] = -1
    return new, np.array([_decide(new.floats, -1.0)], dtype=np.int8)


@compiled()
def _match(
    window: Floats,
    templates: NDArray[np.float32],
    counts: Floats,
    work: tuple[Floats, Floats, Floats, Ints, Floats, Floats],
) -> None:  # pragma: no cover - compiled
    """For each template in use: the best correlation of ``window`` (leads by the
    templates' width + 2 LAG blocks) with it over the alignments, and that alignment,
    into ``work``'s ``best`` and ``shifts``. Per lead the Pearson correlation, the leads
    weighted by the template's energy. ``work``: room for the window's sums and sums of
    squares per alignment and lead, the best correlations and alignments per template,
    and a template's centred values and energy per lead (nothing is allocated per beat).
    """
    sums, squares, best, shifts, centred, energy = work
    n_templates, leads, width = templates.shape
    lags = 2 * LAG + 1
    for lag in range(lags):
        for lead in range(leads):
            s1, s2 = 0.0, 0.0
            for j in range(width):
                v = window[lead, lag + j]
                s1 += v
                s2 += v * v
            sums[lag, lead], squares[lag, lead] = s1, s2
    for t in range(n_templates):
        best[t], shifts[t] = -2.0, 0
        if counts[t] <= 0:
            continue
        total = 0.0
        for lead in range(leads):
            mean = 0.0
            for j in range(width):
                mean += templates[t, lead, j]
            mean /= width
            energy[lead] = 0.0
            for j in range(width):
                centred[lead, j] = templates[t, lead, j] - mean
                energy[lead] += centred[lead, j] * centred[lead, j]
            total += energy[lead]
        if total <= 0:
            continue
        for lag in range(lags):
            c = 0.0
            for lead in range(leads):
                spread = squares[lag, lead] - sums[lag, lead] ** 2 / width
                if spread <= 0 or energy[lead] <= 0:
                    continue
                cross = 0.0
                for j in range(width):
                    cross += window[lead, lag + j] * centred[lead, j]
                c += energy[lead] * cross / math.sqrt(spread * energy[lead])
            c /= total
            if c > best[t]:
                best[t], shifts[t] = c, lag


@compiled()
def _width(x: Floats, lead: int, offset: int, width: int) -> int:  # pragma: no cover
    """The blocks between 10 % and 90 % of the cumulative absolute slope of
    ``x[lead, offset : offset + width]``."""
    total = 0.0
    for j in range(offset, offset + width - 1):
        total += abs(x[lead, j + 1] - x[lead, j])
    if total <= 0:
        return 0
    running, low, high = 0.0, 0, 0
    for j in range(offset, offset + width - 1):
        running += abs(x[lead, j + 1] - x[lead, j])
        if running < 0.1 * total:
            low += 1
        if running < 0.9 * total:
            high += 1
    return high - low


@compiled()
def _extent(
    x: Floats, lead: int, offset: int, width: int
) -> tuple[float, float]:  # pragma: no cover
    """Peak-to-peak amplitude and steepest slope of ``x[lead, offset : offset + width]``."""
    low = high = x[lead, offset]
    steepest = 0.0
    for j in range(offset, offset + width):
        v = x[lead, j]
        low, high = min(low, v), max(high, v)
        if j > offset:
            steepest = max(steepest, abs(v - x[lead, j - 1]))
    return high - low, steepest


@compiled()
def _ratios(
    x: Floats, shift: int, t: Floats, energy: Floats
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Width, peak-to-peak amplitude and steepest slope of ``x`` (from block ``shift``)
    over ``t``'s, the leads weighted by ``t``'s energy (``energy``: room for it)."""
    leads, width = t.shape
    total = 0.0
    for lead in range(leads):
        m = t[lead].mean()
        energy[lead] = 0.0
        for j in range(width):
            energy[lead] += (t[lead, j] - m) ** 2
        total += energy[lead]
    if total <= 0:
        return 1.0, 1.0, 1.0
    r_width, r_amplitude, r_slope = 0.0, 0.0, 0.0
    for lead in range(leads):
        share = energy[lead] / total
        r_width += share * (_width(x, lead, shift, width) + 1) / (_width(t, lead, 0, width) + 1)
        px, sx = _extent(x, lead, shift, width)
        pt, st = _extent(t, lead, 0, width)
        r_amplitude += share * (px + 1) / (pt + 1)
        r_slope += share * (sx + 1) / (st + 1)
    return r_width, r_amplitude, r_slope


@compiled()
def _decide(f: Floats, pause: float) -> int:  # pragma: no cover - compiled
    """The class of the beat whose features are in ``f``; ``pause``: the RR interval
    after it over the running mean (-1: none)."""
    if f[_MEASURED] == 0:
        return Q_CLASS
    prematurity, correlation = f[_PREMATURITY], f[_CORRELATION]
    width, amplitude, slope = f[_WIDTH], f[_AMPLITUDE], f[_SLOPE]
    if amplitude < SMALL and slope < SMALL:
        return Q_CLASS
    normal = (
        f[_DOMINANT] > 0
        or correlation >= ALIKE
        or (
            correlation >= NORMAL_CORRELATION
            and width < WIDE
            and 1 / AMPLITUDE < amplitude < AMPLITUDE
        )
    )
    if normal:
        return S_CLASS if prematurity < S_PREMATURE else N_CLASS
    compensated = pause > COMPENSATORY_PAUSE
    if prematurity < V_PREMATURE or (compensated and prematurity < 1.0):
        return V_CLASS
    if correlation < V_CORRELATION and width >= V_WIDE:
        # Wide and unlike the usual beats: ventricular if its timing shows it at all;
        # in its usual place with no pause after it, most likely an artefact.
        return V_CLASS if prematurity < V_UNLIKE_PREMATURE or compensated else Q_CLASS
    return N_CLASS


_NO_TRACE = np.zeros((0, N_FLOATS + 1))
_CLASSIFY = (
    "int8[::1](int64[:, ::1], int64[::1], int64[::1], int64[::1], int64[:, ::1],"
    " float32[:, :, ::1], float64[::1], float64[::1], int64, int64, int64, float64[:, ::1])"
)


@compiled(_CLASSIFY)
def _classify(
    x: Ints,
    beats: Ints,
    ints: Ints,
    partial: Ints,
    ring: Ints,
    templates: NDArray[np.float32],
    counts: Floats,
    f: Floats,
    factor: int,
    pre: int,
    post: int,
    trace: Floats,
) -> NDArray[np.int8]:  # pragma: no cover - compiled; see classify_beats
    leads, length = x.shape
    size = ring.shape[1]
    # The new complete blocks, after the carried ones: ext[:, j] is block first + j.
    held = ints[_PARTIAL_COUNT]
    n_new = (held + length) // factor
    ext = np.empty((leads, size + n_new), dtype=np.int64)
    ext[:, :size] = ring
    position = 0
    for b in range(n_new):
        take = factor - held if b == 0 else factor
        for lead in range(leads):
            total = partial[lead] if b == 0 else 0
            for j in range(position, position + take):
                total += x[lead, j]
            ext[lead, size + b] = total // factor
        position += take
        held = 0
    for lead in range(leads):
        if n_new:
            partial[lead] = 0
        for j in range(position, length):
            partial[lead] += x[lead, j]
    ints[_PARTIAL_COUNT] = (ints[_PARTIAL_COUNT] + length) % factor
    blocks = ints[_BLOCKS] + n_new
    first = ints[_BLOCKS] - size  # the block of ext[:, 0]
    width = pre + post
    out = np.empty(beats.size, dtype=np.int8)
    # Room for each beat's work, allocated once.
    window = np.empty((leads, width + 2 * LAG))
    t_dominant = np.empty((leads, width))
    lags = 2 * LAG + 1
    n_templates = templates.shape[0]
    work = (
        np.empty((lags, leads)),
        np.empty((lags, leads)),
        np.empty(n_templates),
        np.empty(n_templates, dtype=np.int64),
        np.empty((leads, width)),
        np.empty(leads),
    )
    decided = 0
    for k in range(beats.size):
        beat = beats[k]
        last = ints[_LAST_BEAT]
        ints[_LAST_BEAT] = beat
        rr = float(beat - last) if last >= 0 else 0.0
        pause = -1.0
        if ints[_PENDING_BEAT] >= 0:  # its class, now that the pause after it is known
            pause = rr / f[_RR_MEAN] if f[_RR_MEAN] > 0 else 1.0
            out[decided] = _decide(f, pause)
            decided += 1
        ints[_PENDING_BEAT] = beat
        if trace.shape[0] and k > 0:
            trace[k - 1, :N_FLOATS] = f
            trace[k - 1, N_FLOATS] = pause
        f[_MEASURED] = 0.0
        if last >= 0 and f[_RR_MEAN] == 0:
            f[_RR_MEAN] = rr
        r = beat // factor
        lo, hi = r - pre - LAG, r + post + LAG
        if last < 0 or lo < max(first, 0) or hi > blocks:
            continue
        for lead in range(leads):  # the beat's blocks, with LAG more on either side
            for j in range(hi - lo):
                window[lead, j] = ext[lead, lo - first + j]
        # The templates it matches, and the dominant one.
        _match(window, templates, counts, work)
        correlations, shifts = work[2], work[3]
        best, best_shift, match = -2.0, 0, -1
        dominant = -1
        for t in range(templates.shape[0]):
            if counts[t] <= 0:
                continue
            if dominant < 0 or counts[t] > counts[dominant]:
                dominant = t
            if correlations[t] > best:
                best, best_shift, match = correlations[t], shifts[t], t
        if dominant >= 0:
            c, shift = correlations[dominant], shifts[dominant]
            for lead in range(leads):
                for j in range(width):
                    t_dominant[lead, j] = templates[dominant, lead, j]
            r_width, r_amplitude, r_slope = _ratios(window, shift, t_dominant, work[5])
            f[_PREMATURITY] = rr / f[_RR_MEAN] if f[_RR_MEAN] > 0 else 1.0
            f[_CORRELATION] = c
            f[_WIDTH], f[_AMPLITUDE], f[_SLOPE] = r_width, r_amplitude, r_slope
            f[_DOMINANT] = 1.0 if (match == dominant and best >= MATCH) else 0.0
            f[_MEASURED] = 1.0
            if c > MATCH and rr > 0:
                f[_RR_MEAN] += _RR_FOLLOW * (rr - f[_RR_MEAN])
        # Follow the shapes: the matching template, or a new one in the least used slot.
        if match < 0 or best < MATCH:
            match = 0
            for t in range(templates.shape[0]):
                if counts[t] < counts[match]:
                    match = t
            counts[match] = 0.0
            best_shift = LAG
            for lead in range(leads):
                for j in range(width):
                    templates[match, lead, j] = np.float32(window[lead, LAG + j])
        for t in range(templates.shape[0]):
            counts[t] *= _DECAY
        counts[match] += 1.0
        step = np.float32(1.0 / min(counts[match], _MOST))
        for lead in range(leads):
            for j in range(width):
                held = templates[match, lead, j]
                templates[match, lead, j] = held + step * (
                    np.float32(window[lead, best_shift + j]) - held
                )
    # Carry the last blocks.
    if n_new:
        ring[:, :] = ext[:, n_new:]
    ints[_BLOCKS] = blocks
    return out[:decided].copy()
