"""Compact, versioned bytes for the QRS detector's memory.

Little-endian throughout: a header, the decision memory's scalars and lists, then
the front end's arrays, whose shapes follow from the lead count and the
sampling rate. Floats are stored at the width they are computed in, so a memory
read back continues exactly as the original would.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from streams.analysis.qrs.decision_memory import Candidate, DecisionMemory
from streams.analysis.qrs.feature import Candidates, FeatureMemory
from streams.analysis.qrs.params import DetectorParams

VERSION = 2
HEADER = struct.Struct("<BHdqq")  # version, leads, sampling rate, frontier, finalized
_SCALARS = struct.Struct("<?qddqqdqqdqHHH?ddqqdqHH")
_FEATURE_HEAD = struct.Struct("<HHq")
_ITEMSIZE = {"<f4": 4, "<f8": 8, "<i4": 4, "<i8": 8}


class _Reader:
    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def take(self, dtype: str, count: int) -> NDArray[Any]:
        end = self.offset + count * _ITEMSIZE[dtype]
        if end > len(self.data):
            raise ValueError("QRS detector memory is truncated")
        array = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset = end
        return array


def pack_decision(d: DecisionMemory) -> bytes:
    n = d.n_leads
    queue = ([d.tentative] if d.tentative is not None else []) + d.queue
    parts = [
        _SCALARS.pack(
            d.learned,
            d.learning_end,
            d.signal_level,
            d.noise_level,
            d.beats_seen,
            d.last_beat,
            d.last_peak,
            d.last_r,
            d.searchback_at,
            d.rr_mean,
            d.rr_outliers,
            len(d.rr),
            len(d.pending),
            len(d.queue),
            d.tentative is not None,
            d.tentative_strength,
            d.tentative_peak,
            d.tentative_r,
            d.group_index,
            d.group_strength,
            d.tentative_anchor,
            len(d.ectopic),
            len(d.runners_up),
        ),
        np.array(d.ref_value + d.ref_peak + d.ref_r + d.lead_noise, dtype="<f8").tobytes(),
        np.array(d.rr, dtype="<i8").tobytes(),
        np.array([(c[0], c[3]) for c in d.pending], dtype="<i8").tobytes(),
        np.array([(c[1], c[2]) for c in d.pending], dtype="<f8").tobytes(),
        np.array([[c[0], *c[3]] for c in queue], dtype="<i8").reshape(-1, n + 1).tobytes(),
        np.array([[*c[1], *c[2], *c[4]] for c in queue], dtype="<f4").tobytes(),
        np.array(d.ectopic, dtype="<f8").tobytes(),
        np.array([(r[0], r[2]) for r in d.runners_up], dtype="<i8").tobytes(),
        np.array([r[1] for r in d.runners_up], dtype="<f8").tobytes(),
    ]
    return b"".join(parts)


def unpack_decision(reader: _Reader, n_leads: int) -> DecisionMemory:
    fields = _SCALARS.unpack_from(reader.data, reader.offset)
    reader.offset += _SCALARS.size
    (learned, learning_end, signal, noise, seen, last_beat, last_peak, last_r) = fields[:8]
    searchback_at, rr_mean, rr_outliers, n_rr, n_pending, n_queue = fields[8:14]
    has_tentative, tentative_strength, tentative_peak, tentative_r = fields[14:18]
    group_index, group_strength, tentative_anchor, n_ectopic, n_runners = fields[18:]
    n_queue += has_tentative
    n = n_leads
    refs = reader.take("<f8", 4 * n).tolist()
    rr = reader.take("<i8", n_rr).tolist()
    pending_i = reader.take("<i8", 2 * n_pending).reshape(-1, 2).tolist()
    pending_f = reader.take("<f8", 2 * n_pending).reshape(-1, 2).tolist()
    queue_i = reader.take("<i8", n_queue * (n + 1)).reshape(-1, n + 1).tolist()
    queue_f = reader.take("<f4", n_queue * 3 * n).reshape(-1, 3 * n).tolist()
    queue: list[Candidate] = [
        (i[0], f[:n], f[n : 2 * n], i[1:], f[2 * n :])
        for i, f in zip(queue_i, queue_f, strict=True)
    ]
    ectopic = reader.take("<f8", n_ectopic * n).reshape(-1, n).tolist()
    runners_i = reader.take("<i8", 2 * n_runners).reshape(-1, 2).tolist()
    runners_f = reader.take("<f8", n_runners).tolist()
    runners_up = [(i[0], f, i[1]) for i, f in zip(runners_i, runners_f, strict=True)]
    tentative = queue.pop(0) if has_tentative else None
    return DecisionMemory(
        n_leads=n,
        learned=learned,
        learning_end=learning_end,
        signal_level=signal,
        noise_level=noise,
        ref_value=refs[:n],
        ref_peak=refs[n : 2 * n],
        ref_r=refs[2 * n : 3 * n],
        lead_noise=refs[3 * n :],
        beats_seen=seen,
        last_beat=last_beat,
        last_peak=last_peak,
        last_r=last_r,
        rr=rr,
        rr_mean=rr_mean,
        rr_outliers=rr_outliers,
        searchback_at=searchback_at,
        pending=[(i[0], f[0], f[1], i[1]) for i, f in zip(pending_i, pending_f, strict=True)],
        queue=queue,
        tentative=tentative,
        tentative_strength=tentative_strength,
        tentative_peak=tentative_peak,
        tentative_r=tentative_r,
        group_index=group_index,
        group_strength=group_strength,
        tentative_anchor=tentative_anchor,
        ectopic=ectopic,
        runners_up=runners_up,
    )


def pack_feature(f: FeatureMemory) -> bytes:
    held = f.held
    floats = (f.zi, f.last_u, f.partial, f.block_peak, f.peaks, f.last_scale)
    parts = [
        _FEATURE_HEAD.pack(f.recent.shape[0], held.size, f.last_candidate),
        np.concatenate([array.ravel() for array in floats]).astype("<f8", copy=False).tobytes(),
    ]
    parts.append(np.ascontiguousarray(f.q_tail, dtype="<i4").tobytes())
    parts.append(np.ascontiguousarray(f.u_tail, dtype="<f4").tobytes())
    parts.append(np.ascontiguousarray(f.m_tail, dtype="<i8").tobytes())
    parts.append(np.ascontiguousarray(f.recent, dtype="<i8").tobytes())
    for indices in (held.index, held.r_index):
        parts.append(np.ascontiguousarray(indices, dtype="<i8").tobytes())
    for measured in (held.value, held.peak, held.r_value):
        parts.append(np.ascontiguousarray(measured, dtype="<f4").tobytes())
    return b"".join(parts)


def unpack_feature(
    reader: _Reader, n_leads: int, frontier: int, params: DetectorParams
) -> FeatureMemory:
    n_recent, n_held, last_candidate = _FEATURE_HEAD.unpack_from(reader.data, reader.offset)
    reader.offset += _FEATURE_HEAD.size
    n, order, held_frame = n_leads, params.a.size - 1, frontier % params.frame
    # The six float arrays in one read and one copy, each a slice of it; None: one per lead.
    columns = (order, None, held_frame, None, 8, None)
    floats = reader.take("<f8", n * sum(1 if c is None else c for c in columns)).astype(np.float64)
    arrays, at = [], 0
    for width in columns:
        end = at + n * (1 if width is None else width)
        arrays.append(floats[at:end] if width is None else floats[at:end].reshape(n, width))
        at = end
    zi, last_u, partial, block_peak, peaks, last_scale = arrays
    q_tail = reader.take("<i4", n * params.window).reshape(n, -1).astype(np.int32)
    span = params.locator_window + params.frame
    u_tail = reader.take("<f4", n * span).reshape(n, -1).astype(np.float32)
    m_tail = reader.take("<i8", 2 * n).reshape(n, 2).astype(np.int64)
    recent = reader.take("<i8", 3 * n_recent).reshape(-1, 3).astype(np.int64)
    held_index = reader.take("<i8", n_held).astype(np.int64)
    held_r_index = reader.take("<i8", n_held * n).reshape(n_held, n).astype(np.int64)
    value, peak, r_value = (
        reader.take("<f4", n_held * n).reshape(n_held, n).astype(np.float32) for _ in range(3)
    )
    held = Candidates(held_index, value, peak, held_r_index, r_value)
    return FeatureMemory(
        zi=zi,
        last_u=last_u,
        partial=partial,
        block_peak=block_peak,
        peaks=peaks,
        last_scale=last_scale,
        q_tail=q_tail,
        u_tail=u_tail,
        m_tail=m_tail,
        recent=recent,
        held=held,
        last_candidate=last_candidate,
    )


def reader_after_header(data: bytes) -> _Reader:
    return _Reader(data, HEADER.size)
