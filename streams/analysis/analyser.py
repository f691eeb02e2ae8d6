"""What the analyser carries from one chunk of an ECG to the next, and its compact
bytes for the per-ECG Faust table.

Byte layout (version 3): a fixed header of scalars; each lead's gain and baseline; the
statistics of the windows not emitted yet, row by row in the narrowest integer width
each row needs; the per-lead carry, the last samples of the filters, the baseline block
sums, the per-lead totals and the pending beats, each in the narrowest width; sums that
may outgrow int64 as 16-byte integers; the rhythm events' integers (empty without a
detector); the reason why there is no beat detector; the
detector's own bytes.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from streams.analysis.beat_classes import (
    CLASS_LETTERS,
    N_TEMPLATES,
    Q_CLASS,
    ClassMemory,
    shape_for,
    start_classes,
)
from streams.analysis.detector import BeatDetector, DetectorMemory, qrs_detector
from streams.analysis.events import EventMemory, start_events
from streams.analysis.lead_stats import INT64_MAX, INT64_MIN, N_STATS, Int64s, LeadCarry, Stat
from streams.analysis.packing import Reader, Writer
from streams.analysis.quality import VERDICTS
from streams.analysis.rhythm import Carried, RrSums

VERSION = 4  # of the byte layout
_READABLE = (2, 3, 4)  # 2: no rhythm events or classes; 2 and 3: RR sums without NN ones
_HEADER = struct.Struct("<BHqdqqIqqq??")
_OLD_HEADER = struct.Struct("<BHqdqqIqqq?")  # versions 2 and 3
_CONFIG_BYTES = slice(3, 19)  # the window length and the sampling rate in the header
# Minima and maxima of windows without samples (or without baseline points) are
# sentinels; they travel as 0 and are restored from the counts.
_SENTINELS = (
    (Stat.MIN, Stat.SAMPLES, INT64_MAX),
    (Stat.MAX, Stat.SAMPLES, INT64_MIN),
    (Stat.BASE_MIN, Stat.BASE_POINTS, INT64_MAX),
    (Stat.BASE_MAX, Stat.BASE_POINTS, INT64_MIN),
)
# The same as index arrays and a column, to treat all four rows at once.
_SENTINEL_ROWS = np.array([value for value, _, _ in _SENTINELS])
_COUNT_ROWS = np.array([count for _, count, _ in _SENTINELS])
_SENTINEL_VALUES = np.array([[sentinel] for _, _, sentinel in _SENTINELS], dtype=np.int64)


_NO_INTS = np.zeros(0, dtype=np.int64)
_NO_INT8 = np.zeros(0, dtype=np.int8)
_NO_FLOATS = np.zeros(0)
_NO_TOTALS = np.zeros(len(CLASS_LETTERS), dtype=np.int64)
_NO_TOTALS.flags.writeable = False

# Rows of the per-lead totals over the windows closed so far.
TOTAL_CROSSINGS, TOTAL_MIN, TOTAL_MAX = 0, 1, 2
TOTAL_VERDICTS = 3  # then one row per verdict, in the order of quality.VERDICTS
N_TOTALS = TOTAL_VERDICTS + len(VERDICTS)
MAX_WINDOW_SAMPLES = 2**24  # keeps every window's sums of |filter outputs| within int64


@dataclass(frozen=True)
class AnalysisConfig:
    """``gains`` (ADC units per mV) and ``baselines`` (ADC value of 0 mV) per lead;
    empty means none given for any lead."""

    window_samples: int
    sampling_rate: float | None = None
    gains: tuple[float | None, ...] = ()
    baselines: tuple[int | None, ...] = ()

    def check(self, n_leads: int) -> None:
        """Raises ``ValueError`` unless this configures an ECG of ``n_leads`` leads."""
        if n_leads < 1:
            raise ValueError("an ECG needs at least one lead")
        if not 1 <= self.window_samples <= MAX_WINDOW_SAMPLES:
            raise ValueError(f"window_samples must be within [1, {MAX_WINDOW_SAMPLES}]")
        for values, name in ((self.gains, "gains"), (self.baselines, "baselines")):
            if values and len(values) != n_leads:
                raise ValueError(f"{name} has {len(values)} entries for {n_leads} leads")
        rate = self.sampling_rate
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"sampling_rate must be a positive number, got {rate}")
        for lead, gain in enumerate(self.gains):
            if gain is not None and not (math.isfinite(gain) and gain > 0):
                raise ValueError(f"the gain of lead {lead} must be a positive number, got {gain}")

    def scale(self, lead: int) -> tuple[float | None, int | None]:
        """The lead's gain and baseline, each None when not given."""
        gain = self.gains[lead] if self.gains else None
        baseline = self.baselines[lead] if self.baselines else None
        return gain, baseline


@dataclass(frozen=True, eq=False)
class AnalyserMemory:
    config: AnalysisConfig
    frontier: int  # samples so far of the longest lead
    next_window: int  # index of the first window not emitted yet
    open: Int64s  # statistics of windows next_window .. frontier // W: (P, N_STATS, leads)
    carry: LeadCarry
    lead_samples: Int64s
    totals: Int64s  # (N_TOTALS, leads)
    sums: tuple[int, ...]  # per lead, sum of the samples of the windows closed so far
    detector: DetectorMemory | None
    no_beats_reason: str | None  # why there is no detector
    finalized: int  # the detector's finalized_until
    pending_beats: Int64s  # final beats of windows not emitted yet
    previous: Carried  # the last beat of the closed windows, for their RR sums
    rr: RrSums
    beat_detector: BeatDetector | None = None
    events: EventMemory | None = None  # with beats: the rhythm events' memory
    classes: ClassMemory | None = None  # with beats: the beat classes' memory
    # The classes of pending_beats, all but the last one while it waits for the next.
    pending_classes: NDArray[np.int8] = field(default_factory=lambda: _NO_INT8)
    class_totals: Int64s = field(default_factory=lambda: _NO_TOTALS)  # closed beats per class

    @property
    def n_leads(self) -> int:
        return int(self.lead_samples.size)

    def to_bytes(self) -> bytes:
        return _write(self)

    @classmethod
    def from_bytes(cls, data: bytes, detector: BeatDetector | None = None) -> AnalyserMemory:
        """``detector`` (the QRS detector by default) reads the detector's own bytes."""
        return _read(data, detector)


def _write(memory: AnalyserMemory) -> bytes:
    config, n = memory.config, memory.n_leads
    rate = config.sampling_rate
    header = _HEADER.pack(
        VERSION,
        n,
        config.window_samples,
        math.nan if rate is None else rate,
        memory.frontier,
        memory.next_window,
        memory.open.shape[0],
        memory.finalized,
        memory.previous.beat,
        memory.previous.nn,
        memory.detector is not None,
        memory.previous.normal,
    )
    # Row by statistic, the windows' leads side by side (a copy: the memory stays as it is).
    stats = memory.open.transpose(1, 0, 2).copy().reshape(N_STATS, -1)
    stats[_SENTINEL_ROWS] *= stats[_COUNT_ROWS] != 0  # sentinels to 0, other values as they are
    out = Writer()
    out.blob(header).array(_scale(config, n), "<f8")
    out.ints(stats, by_row=True)
    out.ints(memory.carry.values).ints(memory.carry.tail).ints(memory.carry.blocks)
    out.ints(memory.lead_samples).ints(memory.totals).ints(memory.pending_beats)
    out.bigs(list(memory.sums)).bigs(memory.rr.to_ints())
    events = memory.events
    for part in ("scalars", "intervals", "ends", "recent"):
        out.ints(_NO_INTS if events is None else getattr(events, part))
    classes = memory.classes
    out.ints(memory.class_totals).ints(memory.pending_classes)
    out.ints(_NO_INTS if classes is None else classes.ints)
    out.ints(_NO_INTS if classes is None else classes.partial)
    out.ints(_NO_INTS.reshape(0, 0) if classes is None else classes.ring, by_row=True)
    out.array(_NO_FLOATS if classes is None else classes.templates.reshape(-1), "<f4")
    numbers = _NO_FLOATS if classes is None else np.concatenate((classes.counts, classes.floats))
    out.array(numbers, "<f8")
    out.blob(b"" if memory.no_beats_reason is None else memory.no_beats_reason.encode())
    out.blob(b"" if memory.detector is None else memory.detector.to_bytes())
    return out.to_bytes()


@lru_cache(maxsize=1024)
def _scale(config: AnalysisConfig, n: int) -> NDArray[np.float64]:
    """Each lead's gain, then each lead's baseline, NaN where not given: the same in
    every chunk of an ECG, so built once."""
    scale = [math.nan if g is None else g for g in config.gains or (None,) * n]
    scale += [math.nan if b is None else float(b) for b in config.baselines or (None,) * n]
    array = np.array(scale)
    array.flags.writeable = False
    return array


@lru_cache(maxsize=1024)
def _config(data: bytes) -> AnalysisConfig:
    """The configuration from its bytes: the window length and rate of the header, then
    the gains and baselines. It is the same in every chunk of an ECG: read once."""
    window, rate = struct.unpack_from("<qd", data)
    scale = np.frombuffer(data, "<f8", offset=16).tolist()
    n = len(scale) // 2
    return AnalysisConfig(
        window_samples=window,
        sampling_rate=None if math.isnan(rate) else rate,
        gains=tuple(None if math.isnan(g) else g for g in scale[:n]),
        baselines=tuple(None if math.isnan(b) else int(b) for b in scale[n:]),
    )


def _nn_sums_of(old: list[int]) -> RrSums:
    """The RR sums of versions 2 and 3, which took every interval as an NN interval."""
    beats, intervals, total, squares, shortest, longest, differences, squared, nn50 = old
    return RrSums(
        beats, intervals, total, shortest, longest, intervals, total, squares,
        differences, 0, squared, nn50,
    )  # fmt: skip


def _read(data: bytes, detector: BeatDetector | None) -> AnalyserMemory:
    reader = Reader(data)
    header = reader.blob()
    if not header or header[0] not in _READABLE:
        raise ValueError(f"unknown analyser memory version {header[0] if header else None}")
    version = header[0]
    if version == 4:
        (_, n, _, _, frontier, next_window, n_open, finalized, previous_beat,
         previous_nn, has_detector, previous_normal) = _HEADER.unpack(header)  # fmt: skip
    else:
        (_, n, _, _, frontier, next_window, n_open, finalized, previous_beat,
         previous_nn, has_detector) = _OLD_HEADER.unpack(header)  # fmt: skip
        previous_normal = True
    config = _config(header[_CONFIG_BYTES] + reader.array_bytes("<f8"))
    rows = reader.ints(by_row=True)
    empty = rows[_COUNT_ROWS] == 0
    rows[_SENTINEL_ROWS] = np.where(empty, _SENTINEL_VALUES, rows[_SENTINEL_ROWS])
    stats = rows.reshape(N_STATS, n_open, n).transpose(1, 0, 2).copy()
    carry = LeadCarry(reader.ints(), reader.ints().astype(np.int32), reader.ints())
    lead_samples, totals, pending = reader.ints(), reader.ints(), reader.ints()
    sums, rr_ints = reader.bigs(), reader.bigs()
    rr = RrSums.from_ints(rr_ints) if version == 4 else _nn_sums_of(rr_ints)
    events: EventMemory | None = None
    classes: ClassMemory | None = None
    class_totals, pending_classes = _NO_TOTALS, _NO_INT8
    if header[0] >= 3:
        parts = [reader.ints() for _ in range(4)]
        events = EventMemory(*parts) if parts[0].size else None
        class_totals = reader.ints()
        pending_classes = reader.ints().astype(np.int8)
        if not class_totals.size:
            class_totals = _NO_TOTALS
        class_ints, partial, ring = reader.ints(), reader.ints(), reader.ints(by_row=True)
        templates = reader.array("<f4", np.float32)
        numbers = reader.array("<f8", np.float64)
        if class_ints.size and config.sampling_rate is not None:
            shape = shape_for(n, config.sampling_rate)
            classes = ClassMemory(
                ints=class_ints,
                partial=partial,
                ring=ring.reshape(shape.leads, shape.ring),
                templates=templates.reshape(N_TEMPLATES, shape.leads, shape.width),
                counts=numbers[:N_TEMPLATES].copy(),
                floats=numbers[N_TEMPLATES:].copy(),
            )
    reason = reader.blob().decode() or None
    detector_bytes = reader.blob()
    reader.done()
    detector_state = None
    if has_detector:
        detector = detector or qrs_detector()
        detector_state = detector.load(detector_bytes)
        if header[0] < 3 and config.sampling_rate is not None:
            # A memory of version 2 (before events and classes) goes on with both from
            # here; the beats waiting for their windows are unclassifiable.
            events = start_events()
            classes = start_classes(n, config.sampling_rate)
            pending_classes = np.full(pending.size, Q_CLASS, dtype=np.int8)
    return AnalyserMemory(
        config=config,
        frontier=frontier,
        next_window=next_window,
        open=stats,
        carry=carry,
        lead_samples=lead_samples,
        totals=totals,
        sums=tuple(sums),
        detector=detector_state,
        no_beats_reason=reason,
        finalized=finalized,
        pending_beats=pending,
        previous=Carried(previous_beat, previous_normal, previous_nn),
        rr=rr,
        beat_detector=detector if detector_state is not None else None,
        events=events,
        classes=classes,
        pending_classes=pending_classes,
        class_totals=class_totals,
    )
