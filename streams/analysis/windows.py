"""Online, chunk-invariant analysis of an ECG cut into fixed windows of samples.

An ECG arrives as a sequence of chunks. Chunk ``k`` holds, for every lead, the
samples from the same start index on; a lead that has ended holds fewer (or
none). Windows are defined on sample indices: window ``w`` covers
``[w * window_samples, (w + 1) * window_samples)``. ``feed`` takes the carried
state and one chunk and returns the new state and the windows the chunk
completed; ``finish`` closes the last, partial window and totals the ECG. The
state is a handful of numbers per lead whatever the ECG's length, and any
chunking of a signal yields exactly the windows and totals of the whole signal.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from streams.analysis.zero_crossings import mark_zero_crossings

_HEADER = struct.Struct("<BHqqq")
_VERSION = 1


@dataclass(frozen=True)
class WindowStats:
    """What one window holds, per lead (arrays are indexed by lead position)."""

    index: int
    start_sample: int
    end_sample: int
    number_of_samples: NDArray[np.int64]
    zero_crossings: NDArray[np.int64]


@dataclass(frozen=True)
class Totals:
    """Whole-ECG results per lead."""

    number_of_samples: NDArray[np.int64]
    zero_crossings: NDArray[np.int64]
    n_windows: int


@dataclass(frozen=True, eq=False)
class AnalyserState:
    window_samples: int
    frontier: int
    window_index: int
    last_signs: NDArray[np.int8]
    lead_samples: NDArray[np.int64]
    open_samples: NDArray[np.int64]
    open_crossings: NDArray[np.int64]
    total_crossings: NDArray[np.int64]

    @property
    def n_leads(self) -> int:
        return int(self.last_signs.size)

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(
            _VERSION, self.n_leads, self.window_samples, self.frontier, self.window_index
        )
        arrays = (
            self.last_signs.astype("<i1").tobytes()
            + np.stack(
                [self.lead_samples, self.open_samples, self.open_crossings, self.total_crossings]
            )
            .astype("<i8")
            .tobytes()
        )
        return header + arrays

    @classmethod
    def from_bytes(cls, data: bytes) -> AnalyserState:
        version, n_leads, window_samples, frontier, window_index = _HEADER.unpack_from(data)
        if version != _VERSION:
            raise ValueError(f"unknown analyser state version {version}")
        offset = _HEADER.size
        signs = np.frombuffer(data, dtype="<i1", count=n_leads, offset=offset).astype(np.int8)
        counters = np.frombuffer(data, dtype="<i8", count=4 * n_leads, offset=offset + n_leads)
        lead_samples, open_samples, open_crossings, total = counters.reshape(4, n_leads)
        return cls(
            window_samples=window_samples,
            frontier=frontier,
            window_index=window_index,
            last_signs=signs,
            lead_samples=lead_samples.astype(np.int64),
            open_samples=open_samples.astype(np.int64),
            open_crossings=open_crossings.astype(np.int64),
            total_crossings=total.astype(np.int64),
        )


def start_analysis(n_leads: int, window_samples: int) -> AnalyserState:
    """The state before an ECG's first sample."""
    if n_leads < 1:
        raise ValueError("an ECG needs at least one lead")
    if window_samples < 1:
        raise ValueError("window_samples must be positive")
    zeros = np.zeros(n_leads, dtype=np.int64)
    return AnalyserState(
        window_samples=window_samples,
        frontier=0,
        window_index=0,
        last_signs=np.zeros(n_leads, dtype=np.int8),
        lead_samples=zeros,
        open_samples=zeros,
        open_crossings=zeros,
        total_crossings=zeros,
    )


def feed(
    state: AnalyserState, leads: Sequence[NDArray[np.integer[Any]]]
) -> tuple[AnalyserState, list[WindowStats]]:
    """Add one chunk (one array per lead, starting at ``state.frontier``)."""
    if len(leads) != state.n_leads:
        raise ValueError(f"expected {state.n_leads} leads, got {len(leads)}")
    length = max(lead.size for lead in leads)
    if length == 0:
        return state, []
    size = state.window_samples
    open_start = state.window_index * size
    # Cut points, relative to the chunk start, where windows end inside the chunk.
    first_end = open_start + size - state.frontier
    ends = np.arange(first_end, length + 1, size, dtype=np.int64)
    cuts = np.concatenate(([0], ends, [length]))

    n = state.n_leads
    segment_samples = np.empty((n, cuts.size - 1), dtype=np.int64)
    segment_crossings = np.empty((n, cuts.size - 1), dtype=np.int64)
    signs = state.last_signs.copy()
    for position, lead in enumerate(leads):
        crossed, signs[position] = mark_zero_crossings(lead, int(signs[position]))
        clipped = np.minimum(cuts, lead.size)
        cumulative = np.concatenate(([0], np.cumsum(crossed, dtype=np.int64)))
        segment_samples[position] = np.diff(clipped)
        segment_crossings[position] = np.diff(cumulative[clipped])

    # Segment 0 continues the open window; every segment before the last closes one.
    segment_samples[:, 0] += state.open_samples
    segment_crossings[:, 0] += state.open_crossings
    closed = [
        WindowStats(
            index=state.window_index + i,
            start_sample=(state.window_index + i) * size,
            end_sample=(state.window_index + i + 1) * size,
            number_of_samples=segment_samples[:, i].copy(),
            zero_crossings=segment_crossings[:, i].copy(),
        )
        for i in range(ends.size)
    ]
    new_state = replace(
        state,
        frontier=state.frontier + length,
        window_index=state.window_index + ends.size,
        last_signs=signs,
        lead_samples=state.lead_samples + np.array([lead.size for lead in leads]),
        open_samples=segment_samples[:, -1].copy(),
        open_crossings=segment_crossings[:, -1].copy(),
        total_crossings=state.total_crossings
        + segment_crossings.sum(axis=1)
        - state.open_crossings,
    )
    return new_state, closed


def finish(state: AnalyserState) -> tuple[list[WindowStats], Totals]:
    """Close the ECG: its last, partial window (if any) and its totals."""
    size = state.window_samples
    last: list[WindowStats] = []
    if state.frontier > state.window_index * size:
        last.append(
            WindowStats(
                index=state.window_index,
                start_sample=state.window_index * size,
                end_sample=state.frontier,
                number_of_samples=state.open_samples.copy(),
                zero_crossings=state.open_crossings.copy(),
            )
        )
    totals = Totals(
        number_of_samples=state.lead_samples.copy(),
        zero_crossings=state.total_crossings.copy(),
        n_windows=state.window_index + len(last),
    )
    return last, totals
