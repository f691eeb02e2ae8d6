"""Online multi-lead QRS detection: beats at their R peaks, exact under any chunking.

Feed an ECG's leads chunk by chunk (one sample to the whole record) to
``detect_beats``, then call ``finish_detector`` at its end. Every beat is
reported once, at its R peak (a sample index from the ECG's start), as soon as
the detector is sure of it; ``finalized_until`` says up to where the beats are
complete. The method -- Pan-Tompkins energy detection per lead, fused across
leads by their noise, with adaptive thresholds, search-back, a rhythm check
for premature candidates and, in a steady rhythm amid noise, the rhythm first --
is described in ``feature``, ``decision``, ``fusion`` and
``rhythm``.

The memory is bounded whatever the ECG's length: per lead the band-pass filter's
state, eight 1-s maxima, the last ~0.25 s of band-pass output and ~150 ms of
frame energies, the lead's integral maxima of the last 200 ms; then the few
candidates still undecided (at most about 2 s of them, and those of the last
100 ms, held by the front end). About 9 KiB for 12 leads at 500 Hz, 14 KiB at most.

Detection delay: ``finalized_until`` trails the samples by the 150-ms integral,
50 ms and the 100 ms a candidate waits for its lead's next maxima in the usual
case (0.34 s median on MIT-BIH), by up to 1.25 RR
intervals while a premature candidate waits to see whether a beat comes at the
expected time, and by at most about 2.3 s while a search-back may still take a
candidate (it waits 1.4 RR intervals, at most 2 s). The first 2 s are a
learning period: nothing is final before them.

Leads of unequal length in one call: only the samples common to all leads are
used (the frontier advances by the shortest lead); the rest of the longer leads
is ignored, so a ragged last chunk loses its unmatched tail.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from streams.analysis.qrs.decision import decide, earliest_r_peak, finish_decisions
from streams.analysis.qrs.decision_memory import DecisionMemory, start_decisions
from streams.analysis.qrs.encoding import (
    HEADER,
    VERSION,
    pack_decision,
    pack_feature,
    reader_after_header,
    unpack_decision,
    unpack_feature,
)
from streams.analysis.qrs.feature import (
    FeatureMemory,
    compute_feature,
    final_candidates,
    first_unconfirmed,
    lowest_future_r_index,
    start_feature,
)
from streams.analysis.qrs.params import DetectorParams, detector_params


@dataclass(frozen=True, eq=False)
class QrsMemory:
    """Everything the detector carries between chunks of one ECG."""

    sampling_rate: float
    frontier: int  # samples seen so far (per lead)
    finalized: int  # every beat below this sample has been reported
    feature: FeatureMemory
    decision: DecisionMemory  # never mutated once in a QrsMemory

    @property
    def n_leads(self) -> int:
        return int(self.feature.zi.shape[0])

    @property
    def params(self) -> DetectorParams:
        return detector_params(self.sampling_rate)

    def to_bytes(self) -> bytes:
        header = HEADER.pack(
            VERSION, self.n_leads, self.sampling_rate, self.frontier, self.finalized
        )
        return header + pack_decision(self.decision) + pack_feature(self.feature)

    @classmethod
    def from_bytes(cls, data: bytes) -> QrsMemory:
        try:
            version, n_leads, rate, frontier, finalized = HEADER.unpack_from(data)
            if version != VERSION:
                raise ValueError(f"unknown QRS detector memory version {version}")
            reader = reader_after_header(data)
            decision = unpack_decision(reader, n_leads)
            feature = unpack_feature(reader, n_leads, frontier, detector_params(rate))
        except struct.error as error:
            raise ValueError(f"QRS detector memory is truncated: {error}") from error
        if reader.offset != len(data):
            raise ValueError("QRS detector memory has unexpected trailing bytes")
        return cls(rate, frontier, finalized, feature, decision)


def start_detector(n_leads: int, sampling_rate: float) -> QrsMemory:
    """The memory before an ECG's first sample; ``sampling_rate`` in Hz, 100 to 2000."""
    if n_leads < 1:
        raise ValueError("an ECG needs at least one lead")
    params = detector_params(float(sampling_rate))
    return QrsMemory(
        sampling_rate=params.sampling_rate,
        frontier=0,
        finalized=0,
        feature=start_feature(n_leads, params),
        decision=start_decisions(n_leads, params),
    )


def detect_beats(
    memory: QrsMemory, leads: Sequence[NDArray[np.integer[Any]]] | NDArray[np.integer[Any]]
) -> tuple[QrsMemory, NDArray[np.int64], int]:
    """Feed the next samples of every lead (ADC units, starting at ``memory.frontier``):
    one array per lead, or a matrix of leads by samples.

    Returns the new memory, the R peaks (sample indices, ascending) that became
    final, and ``finalized_until``: every beat below it has been reported, now or
    before, and no later call reports one below it.
    """
    if len(leads) != memory.n_leads:
        raise ValueError(f"expected {memory.n_leads} leads, got {len(leads)}")
    if isinstance(leads, np.ndarray):  # a matrix: leads by samples
        x = leads.astype(np.float64)
    else:
        length = min(int(np.asarray(lead).size) for lead in leads)
        x = np.empty((len(leads), length))
        for row, lead in zip(x, leads, strict=True):
            row[:] = lead[:length]
    length = x.shape[1]
    if length == 0:
        return memory, np.empty(0, dtype=np.int64), memory.finalized
    params = memory.params
    feature, candidates = compute_feature(memory.feature, x, memory.frontier, params)
    frontier = memory.frontier + length
    decision = memory.decision.copy()
    beats = decide(decision, candidates, first_unconfirmed(frontier, params), params)
    bound = lowest_future_r_index(frontier, params)
    waiting = earliest_r_peak(decision)
    finalized = max(memory.finalized, bound if waiting is None else min(bound, waiting))
    new_state = QrsMemory(params.sampling_rate, frontier, finalized, feature, decision)
    return new_state, np.array(beats, dtype=np.int64), finalized


def finish_detector(memory: QrsMemory) -> NDArray[np.int64]:
    """The ECG has ended: the beats not reported yet (all of them are final now)."""
    params = memory.params
    last = final_candidates(memory.feature, memory.frontier, params)
    decision = memory.decision.copy()
    return np.array(finish_decisions(decision, last, memory.frontier, params), dtype=np.int64)
