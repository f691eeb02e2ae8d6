"""The QRS detector's decisions: which candidates are beats, and where their R peaks are.

A sequential state machine over the candidates in index order:

- **Lead fusion.** A candidate's strength is the weighted mean, over leads, of
  its integral relative to that lead's typical beat (clipped at 2); each lead
  is weighted by 1 / (noise + 0.1), its noise being the running mean of its
  relative integral at the candidates that were not beats. A lead full of
  artefacts loses its say within a few beats, and a clean lead that sees
  nothing at a candidate vetoes it (signal-quality weighting of several
  sources, as in Li Q, Mark RG, Clifford GD, "Robust heart rate estimation
  from multiple asynchronous noisy sources using signal quality indices and a
  Kalman filter", Physiol Meas 29(1):15-32, 2008). The R peak comes from the
  lead with the largest weighted band-pass extremum.
- **Thresholds and search-back** after Pan J, Tompkins WJ, "A real-time QRS
  detection algorithm", IEEE Trans Biomed Eng 32(3):230-236, 1985: adaptive
  signal and noise levels, a 200-ms refractory period, T-wave rejection by
  peak energy within 360 ms of a beat, and a search-back at half the threshold
  once 1.66 RR intervals (at most 2 s) pass without a beat. The first 2 s set
  the per-lead references (learning period).
- **Grouping.** A candidate counts only if it is the strongest within 100 ms
  on either side; a beat stays tentative for 200 ms, and a stronger candidate
  in that time takes its place. Energy that goes on after a QRS moves the
  strongest candidate late, so the R peak is taken from the earliest candidate
  of the group that was at least 0.8 times as strong.
- **Rhythm.** A candidate premature by more than a quarter of the RR interval
  (a running mean of the RR intervals within 70-140 % of it) gives way to a
  candidate at the expected time (0.8-1.25 RR after the last beat) unless it
  is 1.2 times stronger, or the expected one looks ectopic itself, or its
  pattern over the leads (relative integral per lead, within a factor 1.6 in
  each) repeats that of one of the last four distinctive premature beats that
  stayed -- distinctive meaning 2.5 times the typical beat in a lead clean
  enough to vouch for it. Artefacts seldom repeat a pattern; an ectopic focus
  does (bigeminy, couplets, interpolated beats). A premature candidate that
  gave way does not count as noise for its leads: it may have been a beat.

Timers and look-aheads run on sample indices, never on wall time, and a
candidate is decided only once everything it looks at has arrived (a
candidate that must wait changes nothing), so the decisions are the same for
any chunking of the signal.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from streams.analysis.qrs_feature import Candidates
from streams.analysis.qrs_params import DetectorParams

NEVER = -(2**62)
CLIP = 2.0  # a lead's relative integral counts at most this much
NOISE_FLOOR = 0.1  # added to a lead's noise before weighting: no lead is ever trusted alone
PREMATURE = 0.75  # of the RR interval
EXPECTED = (0.8, 1.25)  # window of the next beat, in RR intervals
DOMINANT = 1.2  # a premature candidate this much stronger than the expected one stays
FAMILIAR = math.log(1.6)  # patterns within this factor in every lead are alike
EARLIER = 0.8  # an earlier candidate this strong places the R peak
ECTOPIC = 2.5  # a pattern is distinctive if some lead sees 2.5 times its typical beat
CLEAN = 0.2  # ... and that lead's noise is below this (relative to its typical beat)
RHYTHM_RANGE = (0.7, 1.4)
_RR_HISTORY = 8
_ECTOPIC_PATTERNS = 4

# A candidate: index, then per lead: integral, peak energy, R index, R value.
Candidate = tuple[int, list[float], list[float], list[int], list[float]]
# A below-threshold candidate kept for the search-back: index, strength, peak, R index.
Pending = tuple[int, float, float, int]


@dataclass
class DecisionState:
    """Mutable while a chunk is decided; ``qrs`` copies it before and freezes it after."""

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

    def copy(self) -> DecisionState:
        return DecisionState(
            n_leads=self.n_leads,
            learned=self.learned,
            learning_end=self.learning_end,
            signal_level=self.signal_level,
            noise_level=self.noise_level,
            ref_value=list(self.ref_value),
            ref_peak=list(self.ref_peak),
            ref_r=list(self.ref_r),
            lead_noise=list(self.lead_noise),
            beats_seen=self.beats_seen,
            last_beat=self.last_beat,
            last_peak=self.last_peak,
            last_r=self.last_r,
            rr=list(self.rr),
            rr_mean=self.rr_mean,
            rr_outliers=self.rr_outliers,
            searchback_at=self.searchback_at,
            pending=list(self.pending),
            queue=list(self.queue),
            tentative=self.tentative,
            tentative_strength=self.tentative_strength,
            tentative_peak=self.tentative_peak,
            tentative_r=self.tentative_r,
            tentative_anchor=self.tentative_anchor,
            group_index=self.group_index,
            group_strength=self.group_strength,
            ectopic=[list(x) for x in self.ectopic],
            runners_up=list(self.runners_up),
        )


def start_decisions(n_leads: int, params: DetectorParams) -> DecisionState:
    ones = [1.0] * n_leads
    return DecisionState(
        n_leads=n_leads,
        learning_end=params.learning,
        ref_value=list(ones),
        ref_peak=list(ones),
        ref_r=list(ones),
        lead_noise=[0.1] * n_leads,
    )


class _Decider:
    """One chunk's decisions on a state (mutated in place)."""

    def __init__(self, state: DecisionState, params: DetectorParams, confirmed: int) -> None:
        self.s = state
        self.p = params
        self.confirmed = confirmed  # every candidate below this sample is known
        self.beats: list[int] = []
        # Strengths depend on the references and the lead weights; ``version`` counts
        # their changes, so a candidate looked at twice is measured once.
        self.version = 0
        self.coefficients_version = -1
        self.coefficients: tuple[list[float], list[float], list[float], list[float]] = (
            [],
            [],
            [],
            [],
        )
        self.measured: dict[int, tuple[int, float, float]] = {}

    # -- measurements -----------------------------------------------------------------

    def _coefficients(self) -> tuple[list[float], list[float], list[float], list[float]]:
        if self.coefficients_version != self.version:
            s = self.s
            weights = [1.0 / (noise + NOISE_FLOOR) for noise in s.lead_noise]
            total = sum(weights)
            to_value, to_peak, clip, to_score = [], [], [], []
            for w, value, peak, r in zip(weights, s.ref_value, s.ref_peak, s.ref_r, strict=True):
                share = w / total
                to_value.append(share / value)
                to_peak.append(share / peak)
                clip.append(CLIP * share)
                to_score.append(share / r)
            self.coefficients = (to_value, to_peak, clip, to_score)
            self.coefficients_version = self.version
        return self.coefficients

    def _strength(self, c: Candidate) -> tuple[float, float]:
        """The candidate's strength and peak: the weighted means over leads of its
        integral and peak energy relative to the lead's typical beat, each clipped."""
        known = self.measured.get(c[0])
        if known is not None and known[0] == self.version:
            return known[1], known[2]
        to_value, to_peak, clip, _ = self._coefficients()
        strength = peak = 0.0
        for value, energy, a, b, limit in zip(c[1], c[2], to_value, to_peak, clip, strict=True):
            strength += min(value * a, limit)
            peak += min(energy * b, limit)
        self.measured[c[0]] = (self.version, strength, peak)
        return strength, peak

    def _relative(self, c: Candidate) -> list[float]:
        return [v / r for v, r in zip(c[1], self.s.ref_value, strict=True)]

    def _r_peak(self, c: Candidate) -> int:
        _, _, clip, to_score = self._coefficients()
        # Each lead's weight share times its extremum relative to its typical one, clipped
        # like the strength: a lead's artefact cannot outbid a clean lead's R peak.
        scores = [min(v * a, limit) for v, a, limit in zip(c[4], to_score, clip, strict=True)]
        return c[3][scores.index(max(scores))]

    def _threshold(self) -> float:
        s = self.s
        return s.noise_level + 0.25 * (s.signal_level - s.noise_level)

    def _rhythm(self) -> float:
        return self.s.rr_mean if len(self.s.rr) >= 4 else 0.0

    # -- updates ----------------------------------------------------------------------

    def _noise(self, c: Candidate, strength: float, leads: bool = True) -> None:
        """A candidate that is not a beat raises the noise level, and (unless it may
        well have been a beat) each lead's noise by what that lead saw of it."""
        s = self.s
        s.noise_level += 0.125 * (strength - s.noise_level)
        if leads:
            s.lead_noise = [
                n + 0.125 * (min(x, CLIP) - n)
                for n, x in zip(s.lead_noise, self._relative(c), strict=True)
            ]
            self.version += 1

    def _beat(self, index: int, r_peak: int, strength: float, peak: float, gain: float) -> bool:
        s, p = self.s, self.p
        if r_peak - s.last_r < p.refractory:
            return False  # the same QRS seen again
        s.signal_level += gain * (strength - s.signal_level)
        if s.last_beat != NEVER:
            self._add_rr(index - s.last_beat)
        s.last_beat, s.last_peak, s.last_r = index, peak, r_peak
        s.beats_seen += 1
        self.beats.append(r_peak)
        s.pending = [c for c in s.pending if c[0] > index]
        wait = min(1.66 * (self._rhythm() or p.sampling_rate), p.searchback)
        s.searchback_at = index + int(wait)
        return True

    def _propose(self, c: Candidate, strength: float, peak: float, anchor: int) -> None:
        s = self.s
        s.tentative, s.tentative_strength, s.tentative_peak = c, strength, peak
        s.tentative_anchor = anchor
        s.tentative_r = self._r_peak(c)
        # Energy that goes on after a QRS (an artefact, a wide complex) moves the
        # integral's peak late: the R peak is the one seen by the earliest candidate
        # of the group that was nearly as strong.
        for index, other, r_peak in s.runners_up:
            if index >= c[0] - self.p.refractory and other >= EARLIER * strength:
                s.tentative_r = r_peak
                break

    def _commit(self) -> None:
        s = self.s
        c = s.tentative
        if c is None:
            return
        s.tentative = None
        if self._beat(c[0], s.tentative_r, s.tentative_strength, s.tentative_peak, gain=0.125):
            self._learn_refs(c)

    def _add_rr(self, rr: int) -> None:
        s = self.s
        s.rr.append(rr)
        del s.rr[:-_RR_HISTORY]
        if len(s.rr) < 4:
            s.rr_mean = float(statistics.median(s.rr))
        elif RHYTHM_RANGE[0] * s.rr_mean <= rr <= RHYTHM_RANGE[1] * s.rr_mean:
            s.rr_mean += 0.125 * (rr - s.rr_mean)
            s.rr_outliers = 0
        else:
            s.rr_outliers += 1
            if s.rr_outliers >= _RR_HISTORY:
                s.rr_mean = float(statistics.median(s.rr))
                s.rr_outliers = 0
        s.rr_mean = min(s.rr_mean, float(self.p.max_rr))

    def _learn_refs(self, c: Candidate) -> None:
        s = self.s
        gain = 0.25 if s.beats_seen < _RR_HISTORY else 0.125
        # Running means of values clipped to half and twice the reference: an artefact
        # moves a reference by at most an eighth.
        for refs, values in ((s.ref_value, c[1]), (s.ref_peak, c[2]), (s.ref_r, c[4])):
            refs[:] = [
                ref + gain * (min(max(value, 0.5 * ref), 2.0 * ref) - ref)
                for ref, value in zip(refs, values, strict=True)
            ]
        self.version += 1

    # -- the machine ------------------------------------------------------------------

    def learn(self) -> None:
        """Set the per-lead references from the learning period's candidates."""
        s, p = self.s, self.p
        learning = [c for c in s.queue if c[0] < s.learning_end]
        s.learned = True
        n = s.n_leads
        columns = (
            (s.ref_value, [c[1] for c in learning]),
            (s.ref_peak, [c[2] for c in learning]),
            (s.ref_r, [c[4] for c in learning]),
        )
        for refs, rows in columns:
            refs[:] = [max((row[lead] for row in rows), default=0.0) for lead in range(n)]
            refs[:] = [max(v, 1e-12) for v in refs]
        s.lead_noise = [0.1] * n
        self.version += 1
        s.searchback_at = s.learning_end + int(1.66 * p.sampling_rate)

    def fire_timers(self, until: int) -> None:
        """Run what is due at or before sample ``until`` (every candidate below
        ``until`` has been decided, none at or above it): the tentative beat becomes
        final at the end of its refractory period, a search-back when it is due.
        Called before each candidate is decided and at the end of each chunk, and a
        candidate that must wait changes nothing, so the order of events never
        depends on the chunking."""
        s = self.s
        if s.tentative is None and s.searchback_at > until:
            return
        if s.tentative is not None:
            if s.tentative_anchor + self.p.refractory > until:
                return  # a beat was found: no search-back while it may still move
            self._commit()
        while s.searchback_at <= until:
            limit = 0.5 * self._threshold()
            due = [c for c in s.pending if c[0] < s.searchback_at and c[1] > limit]
            if due:
                best = max(due, key=lambda c: c[1])
                if self._beat(best[0], best[3], best[1], best[2], gain=0.25):
                    continue
                s.pending.remove(best)
                continue
            s.pending = [c for c in s.pending if c[0] >= s.searchback_at]
            s.searchback_at += int(self._rhythm() or self.p.sampling_rate)

    def process(self, position: int) -> bool:
        """Decide ``queue[position]``; False, changing nothing, if it must wait for
        candidates that have not arrived yet."""
        s, p = self.s, self.p
        queue = s.queue
        c = queue[position]
        index = c[0]
        if s.tentative is not None:  # within its refractory period (see fire_timers)
            strength, peak = self._strength(c)
            if strength > s.tentative_strength:
                self._propose(c, strength, peak, s.tentative_anchor)
            return True
        since = index - s.last_beat
        if since < p.refractory:
            return True
        strength, peak = self._strength(c)
        if index - s.group_index <= p.thinning and s.group_strength >= strength:
            return True  # a stronger candidate just before stands for this QRS
        threshold = self._threshold()
        rhythm = self._rhythm()
        premature = strength > threshold and rhythm > 0 and since < PREMATURE * rhythm
        horizon = index + p.thinning
        if premature:
            horizon = max(horizon, s.last_beat + int(EXPECTED[1] * rhythm))
        if horizon >= self.confirmed:
            return False
        s.group_index, s.group_strength = index, strength
        end = position + 1
        while end < len(queue) and queue[end][0] <= horizon:
            other = queue[end]
            if other[0] - index <= p.thinning and self._strength(other)[0] > strength:
                # A stronger candidate just after stands for this QRS.
                s.runners_up = [r for r in s.runners_up if r[0] >= index - p.refractory]
                s.runners_up.append((index, strength, self._r_peak(c)))
                return True
            end += 1
        if strength <= threshold:
            self._noise(c, strength)
            s.pending.append((index, strength, peak, self._r_peak(c)))
        elif since < p.t_wave and peak < 0.25 * s.last_peak:
            self._noise(c, strength)  # a T wave
        elif premature and self._displaced(c, strength, threshold, queue[position + 1 : end]):
            self._noise(c, strength, leads=False)
        else:
            self._propose(c, strength, peak, index)
        return True

    def _distinct(self, relative: list[float]) -> bool:
        """Whether some lead clean enough to vouch for it sees an abnormally large beat."""
        return any(
            x >= ECTOPIC and noise < CLEAN
            for x, noise in zip(relative, self.s.lead_noise, strict=True)
        )

    def _displaced(
        self, c: Candidate, strength: float, threshold: float, later: list[Candidate]
    ) -> bool:
        """Whether a premature candidate gives way to one at the expected time: it
        does unless it is clearly the stronger, or its pattern over the leads (its
        integral relative to each lead's typical beat) is that of an earlier
        premature beat that stayed -- a recurring ectopic focus."""
        s, p = self.s, self.p
        expected_start = s.last_beat + EXPECTED[0] * self._rhythm()
        best = 0.0
        for other in later:
            if (
                other[0] >= expected_start
                and other[0] - c[0] >= p.refractory
                and not self._distinct(self._relative(other))  # an ectopic beat is not expected
            ):
                best = max(best, self._strength(other)[0])
        pattern = [max(x, 0.05) for x in self._relative(c)]
        distinct = self._distinct(pattern)
        familiar = distinct and any(
            all(abs(math.log(x / y)) < FAMILIAR for x, y in zip(pattern, known, strict=True))
            for known in s.ectopic
        )
        if best > threshold and strength < DOMINANT * best and not familiar:
            return True
        if distinct:
            s.ectopic.append(pattern)
            del s.ectopic[:-_ECTOPIC_PATTERNS]
        return False


def _as_candidates(candidates: Candidates) -> list[Candidate]:
    return list(
        zip(
            candidates.index.tolist(),
            candidates.value.tolist(),
            candidates.peak.tolist(),
            candidates.r_index.tolist(),
            candidates.r_value.tolist(),
            strict=True,
        )
    )


def decide(
    state: DecisionState, candidates: Candidates, confirmed: int, params: DetectorParams
) -> list[int]:
    """Decide what can be decided now that every candidate below sample ``confirmed``
    is known. Mutates ``state``; returns the new beats' R peaks, ascending."""
    state.queue.extend(_as_candidates(candidates))
    decider = _Decider(state, params, confirmed)
    if not state.learned:
        if confirmed < state.learning_end:
            return []
        while not any(c[0] < state.learning_end for c in state.queue):
            state.learning_end += params.learning  # nothing to learn from yet
            if confirmed < state.learning_end:
                return []
        decider.learn()
    done = 0
    queue = state.queue
    while done < len(queue):
        decider.fire_timers(queue[done][0])
        if not decider.process(done):
            break
        done += 1
    del queue[:done]
    decider.fire_timers(queue[0][0] if queue else confirmed)
    return decider.beats


def finish_decisions(
    state: DecisionState, last: Candidates, end: int, params: DetectorParams
) -> list[int]:
    """The signal ended at sample ``end``; ``last`` are the candidates only its end
    confirms. Decide everything that is left."""
    state.queue.extend(_as_candidates(last))
    far = end + 4 * params.searchback + 4 * params.max_rr
    if not state.learned and state.queue:
        _Decider(state, params, far).learn()
    if not state.learned:
        return []
    decider = _Decider(state, params, far)
    for position in range(len(state.queue)):
        decider.fire_timers(state.queue[position][0])
        decider.process(position)
    state.queue.clear()
    decider.fire_timers(end + params.refractory)
    return decider.beats


def earliest_r_peak(state: DecisionState) -> int | None:
    """The lowest R peak that a waiting or pending candidate could still report."""
    lows = [c[3] for c in state.pending] + [min(c[3]) for c in state.queue]
    if state.tentative is not None:
        lows.append(state.tentative_r)
    return min(lows, default=None)
