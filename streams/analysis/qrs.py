"""Online multi-lead QRS detection: beats at their R peaks, exact under any chunking.

Feed an ECG's leads chunk by chunk (one sample to the whole record) to
``detect_beats``, then call ``finish_detector`` at its end. Every beat is
reported once, at its R peak (a sample index from the ECG's start), as soon as
the detector is sure of it; ``finalized_until`` says up to where the beats are
complete. The method (Pan-Tompkins-style energy detection on the leads'
SNR-weighted sum, with adaptive thresholds and search-back) is described in
``qrs_feature`` and ``qrs_decision``.

The state is bounded whatever the ECG's length: a band-pass filter state and
block statistics per lead, a 200-ms tail of the combined feature and the few
candidates that a search-back may still take (at most 2 s of them). A beat is
final at most about 2 s after its samples arrive (the search-back wait), and
typically one RR interval after.

Leads of unequal length in one call: only the samples common to all leads are
used (the frontier advances by the shortest lead); the rest of the longer leads
is ignored, so a ragged last chunk loses its unmatched tail.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from streams.analysis.qrs_decision import (
    DecisionState,
    decide,
    earliest_pending,
    finish_decisions,
)
from streams.analysis.qrs_feature import (
    FeatureState,
    compute_feature,
    lowest_future_r_peak,
    start_feature,
)
from streams.analysis.qrs_params import DetectorParams, detector_params

_VERSION = 1
_HEADER = struct.Struct("<BHdqq")
_DECISION = struct.Struct("<?ddqdqqHH")


@dataclass(frozen=True, eq=False)
class DetectorState:
    """Everything the detector carries between chunks of one ECG."""

    sampling_rate: float
    frontier: int  # samples seen so far (per lead)
    finalized: int  # every beat below this sample has been reported
    feature: FeatureState
    decision: DecisionState  # never mutated once in a DetectorState

    @property
    def n_leads(self) -> int:
        return int(self.feature.zi.shape[0])

    @property
    def params(self) -> DetectorParams:
        return detector_params(self.sampling_rate)

    def to_bytes(self) -> bytes:
        f, d = self.feature, self.decision
        parts = [
            _HEADER.pack(_VERSION, self.n_leads, self.sampling_rate, self.frontier, self.finalized),
            _DECISION.pack(
                d.learned,
                d.signal_level,
                d.noise_level,
                d.last_beat,
                d.last_peak,
                d.last_r,
                d.searchback_at,
                len(d.rr),
                len(d.pending),
            ),
            np.asarray(d.rr, dtype="<i8").tobytes(),
            np.array([(c[0], c[3]) for c in d.pending], dtype="<i8").tobytes(),
            np.array([(c[1], c[2]) for c in d.pending], dtype="<f8").tobytes(),
        ]
        for array in (f.zi, f.last_u, f.sub_max, f.block_peak, f.block_floor, f.peaks, f.floors):
            parts.append(np.ascontiguousarray(array, dtype="<f8").tobytes())
        parts.append(f.q_tail.astype("<i8").tobytes())
        parts.append(f.r_tail.astype("<f8").tobytes())
        parts.append(f.m_tail.astype("<i8").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> DetectorState:
        version, n_leads, rate, frontier, finalized = _HEADER.unpack_from(data)
        if version != _VERSION:
            raise ValueError(f"unknown QRS detector state version {version}")
        params = detector_params(rate)
        offset = _HEADER.size
        learned, signal, noise, last_beat, last_peak, last_r, searchback, n_rr, n_pending = (
            _DECISION.unpack_from(data, offset)
        )
        offset += _DECISION.size

        def take(dtype: str, count: int) -> NDArray[Any]:
            nonlocal offset
            array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += array.nbytes
            return array

        rr = take("<i8", n_rr).tolist()
        pending_i = take("<i8", 2 * n_pending).reshape(-1, 2).tolist()
        pending_f = take("<f8", 2 * n_pending).reshape(-1, 2).tolist()
        order = params.a.size - 1
        zi = take("<f8", n_leads * order).reshape(n_leads, order)
        last_u, sub_max, block_peak, block_floor = (take("<f8", n_leads) for _ in range(4))
        peaks, floors = (take("<f8", n_leads * 8).reshape(n_leads, 8) for _ in range(2))
        q_tail = take("<i8", params.window)
        r_tail = take("<f8", params.locator_span)
        m_tail = take("<i8", 2)
        if offset != len(data):
            raise ValueError("QRS detector state has unexpected trailing bytes")
        feature = FeatureState(
            zi=zi.astype(np.float64),
            last_u=last_u.astype(np.float64),
            sub_max=sub_max.astype(np.float64),
            block_peak=block_peak.astype(np.float64),
            block_floor=block_floor.astype(np.float64),
            peaks=peaks.astype(np.float64),
            floors=floors.astype(np.float64),
            q_tail=q_tail.astype(np.int64),
            r_tail=r_tail.astype(np.float64),
            m_tail=m_tail.astype(np.int64),
        )
        decision = DecisionState(
            learned=learned,
            signal_level=signal,
            noise_level=noise,
            last_beat=last_beat,
            last_peak=last_peak,
            last_r=last_r,
            searchback_at=searchback,
            rr=rr,
            pending=[
                (int(i[0]), float(x[0]), float(x[1]), int(i[1]))
                for i, x in zip(pending_i, pending_f, strict=True)
            ],
        )
        return cls(rate, frontier, finalized, feature, decision)


def start_detector(n_leads: int, sampling_rate: float) -> DetectorState:
    """The state before an ECG's first sample; ``sampling_rate`` in Hz, 100 to 2000."""
    if n_leads < 1:
        raise ValueError("an ECG needs at least one lead")
    params = detector_params(float(sampling_rate))
    return DetectorState(
        sampling_rate=params.sampling_rate,
        frontier=0,
        finalized=0,
        feature=start_feature(n_leads, params),
        decision=DecisionState(),
    )


def _copy(decision: DecisionState) -> DecisionState:
    return replace(decision, rr=list(decision.rr), pending=list(decision.pending))


def _finalized(state: DetectorState, decision: DecisionState, frontier: int) -> int:
    bound = lowest_future_r_peak(frontier, state.params)
    pending = earliest_pending(decision)
    if pending is not None:
        bound = min(bound, pending)
    return max(state.finalized, bound)


def detect_beats(
    state: DetectorState, leads: Sequence[NDArray[np.integer[Any]]]
) -> tuple[DetectorState, NDArray[np.int64], int]:
    """Feed the next samples of every lead (ADC units, starting at ``state.frontier``).

    Returns the new state, the R peaks (sample indices, ascending) that became
    final, and ``finalized_until``: every beat below it has been reported, now or
    before, and no later call reports one below it.
    """
    if len(leads) != state.n_leads:
        raise ValueError(f"expected {state.n_leads} leads, got {len(leads)}")
    length = min(int(np.asarray(lead).size) for lead in leads)
    if length == 0:
        return state, np.empty(0, dtype=np.int64), state.finalized
    params = state.params
    x = np.stack([np.asarray(lead, dtype=np.float64)[:length] for lead in leads])
    feature, candidates = compute_feature(state.feature, x, state.frontier, params)
    frontier = state.frontier + length
    decision = _copy(state.decision)
    beats = decide(decision, candidates, frontier - 1, params)
    finalized = _finalized(state, decision, frontier)
    new_state = DetectorState(params.sampling_rate, frontier, finalized, feature, decision)
    return new_state, np.array(beats, dtype=np.int64), finalized


def finish_detector(state: DetectorState) -> NDArray[np.int64]:
    """The ECG has ended: the beats not reported yet (all of them are final now)."""
    decision = _copy(state.decision)
    beats = finish_decisions(decision, state.frontier, state.params)
    return np.array([b for b in beats if b >= 0], dtype=np.int64)
