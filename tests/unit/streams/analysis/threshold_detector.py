"""A toy beat detector with the contract of ``streams.analysis.qrs``, for testing the
analyser without depending on the real detector's accuracy: a beat wherever lead 0
rises through ``THRESHOLD``, reported only once it is ``lag`` samples old, so windows
have to wait for it."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from streams.analysis.detector import BeatDetector, Leads

THRESHOLD = 100
_HEAD = struct.Struct("<qqqI")


@dataclass(frozen=True)
class ThresholdMemory:
    frontier: int
    last: int  # last sample of lead 0 (THRESHOLD before the first)
    lag: int
    pending: tuple[int, ...]

    def to_bytes(self) -> bytes:
        head = _HEAD.pack(self.frontier, self.last, self.lag, len(self.pending))
        return head + np.array(self.pending, dtype="<i8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ThresholdMemory:
        frontier, last, lag, count = _HEAD.unpack_from(data)
        pending = np.frombuffer(data, dtype="<i8", count=count, offset=_HEAD.size)
        return cls(frontier, last, lag, tuple(int(p) for p in pending))


def threshold_detector(lag: int) -> BeatDetector:
    def start(n_leads: int, sampling_rate: float) -> ThresholdMemory:
        return ThresholdMemory(0, THRESHOLD, lag, ())

    def detect(
        memory: ThresholdMemory, leads: Leads
    ) -> tuple[ThresholdMemory, NDArray[np.int64], int]:
        lead = np.asarray(leads[0], dtype=np.int64)
        before = np.concatenate(([memory.last], lead[:-1]))
        rising = np.flatnonzero((before < THRESHOLD) & (lead >= THRESHOLD)) + memory.frontier
        frontier = memory.frontier + lead.size
        pending = memory.pending + tuple(int(r) for r in rising)
        finalized = max(0, frontier - memory.lag)
        ready = tuple(p for p in pending if p < finalized)
        rest = tuple(p for p in pending if p >= finalized)
        last = int(lead[-1]) if lead.size else memory.last
        new = ThresholdMemory(frontier, last, memory.lag, rest)
        return new, np.array(ready, dtype=np.int64), finalized

    def finish(memory: ThresholdMemory) -> NDArray[np.int64]:
        return np.array(memory.pending, dtype=np.int64)

    return BeatDetector(start=start, detect=detect, finish=finish, load=ThresholdMemory.from_bytes)
