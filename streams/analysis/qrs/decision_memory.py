"""What the QRS detector's decisions carry from one chunk to the next.

A candidate travels as a tuple of plain Python numbers (the decisions look at
one candidate at a time, where numpy's per-call cost would dominate): its
sample index, then per lead its integral, peak frame energy, R-peak index and
band-pass extremum (see ``feature.Candidates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from streams.analysis.qrs.params import DetectorParams

NEVER = -(2**62)

# A candidate: index, then per lead: integral, peak energy, R index, R value.
Candidate = tuple[int, list[float], list[float], list[int], list[float]]
# A below-threshold candidate kept for the search-back: index, strength, peak, R index.
Pending = tuple[int, float, float, int]


@dataclass(slots=True)
class DecisionMemory:
    """Mutable while a chunk is decided; ``detector`` copies it before and freezes it after."""

    n_leads: int
    learned: bool = False
    learning_end: int = 0
    signal_level: float = 1.0
    noise_level: float = 0.125
    ref_value: list[float] = field(default_factory=list)
    ref_peak: list[float] = field(default_factory=list)
    ref_r: list[float] = field(default_factory=list)
    lead_noise: list[float] = field(default_factory=list)
    beats_seen: int = 0
    last_beat: int = NEVER  # candidate index of the last beat
    last_peak: float = 0.0  # its peak strength
    last_r: int = NEVER  # its R peak
    rr: list[int] = field(default_factory=list)
    rr_mean: float = 0.0
    rr_outliers: int = 0
    searchback_at: int = NEVER
    pending: list[Pending] = field(default_factory=list)
    queue: list[Candidate] = field(default_factory=list)
    # The last beat found, not yet final: a stronger candidate within its refractory
    # period takes its place.
    tentative: Candidate | None = None
    tentative_strength: float = 0.0
    tentative_peak: float = 0.0
    tentative_r: int = NEVER
    tentative_anchor: int = NEVER  # the first candidate it stood for
    # The last candidate judged (every candidate must top its neighbours within the
    # thinning distance to count at all).
    group_index: int = NEVER
    group_strength: float = 0.0
    ectopic: list[list[float]] = field(default_factory=list)
    # Candidates that gave way to a stronger one just after: index, strength, R peak.
    runners_up: list[tuple[int, float, int]] = field(default_factory=list)

    def copy(self) -> DecisionMemory:
        """A copy that shares nothing mutable (candidates are tuples and stay shared)."""
        return replace(
            self,
            ref_value=list(self.ref_value),
            ref_peak=list(self.ref_peak),
            ref_r=list(self.ref_r),
            lead_noise=list(self.lead_noise),
            rr=list(self.rr),
            pending=list(self.pending),
            queue=list(self.queue),
            ectopic=[list(x) for x in self.ectopic],
            runners_up=list(self.runners_up),
        )

    @property
    def threshold(self) -> float:
        return self.noise_level + 0.25 * (self.signal_level - self.noise_level)

    @property
    def rhythm(self) -> float:
        """The RR interval expected now, in samples; 0 before four intervals are known."""
        return self.rr_mean if len(self.rr) >= 4 else 0.0


def start_decisions(n_leads: int, params: DetectorParams) -> DecisionMemory:
    ones = [1.0] * n_leads
    return DecisionMemory(
        n_leads=n_leads,
        learning_end=params.learning,
        ref_value=list(ones),
        ref_peak=list(ones),
        ref_r=list(ones),
        lead_noise=[0.1] * n_leads,
    )
