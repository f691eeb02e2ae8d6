"""The QRS detector's decisions: which candidates are beats, and where their R peaks are.

A sequential state machine over the candidates in index order:

- **Lead fusion** (``fusion``): a candidate's strength is the noise-weighted
  mean over leads of its integral relative to each lead's typical beat.
- **Thresholds and search-back** after Pan J, Tompkins WJ, "A real-time QRS
  detection algorithm", IEEE Trans Biomed Eng 32(3):230-236, 1985: adaptive
  signal and noise levels, a 200-ms refractory period, T-wave rejection by
  peak energy within 360 ms of a beat, and a search-back at 0.4 of the threshold
  once 1.4 RR intervals (at most 2 s) pass without a beat (Pan and Tompkins: half
  the threshold, 1.66 intervals; these find 40 % of the beats they missed on the
  48 MIT-BIH records, with no more false detections on the five in data/). The first 2 s set
  the per-lead references (learning period), from the candidates after the first
  0.5 s when there are any: a beat in the first few hundred milliseconds is inflated
  by the front end's first-second scaling, and references taken from it put the next
  beats below the threshold (10-s recordings lost 3 % of their second beats).
- **Grouping.** A candidate counts only if it is the strongest within 100 ms
  on either side; a beat stays tentative for 200 ms, and a stronger candidate
  in that time takes its place. Energy that goes on after a QRS moves the
  strongest candidate late, so the R peak is taken from the earliest candidate
  of the group that was at least 0.8 times as strong.
- **Rhythm** (``rhythm``): a candidate premature by more than a quarter of
  the RR interval gives way to a candidate at the expected time unless it is
  clearly stronger or repeats the pattern of an earlier ectopic beat. A premature
  candidate that gave way does not count as noise for its leads: it may have
  been a beat. In a steady rhythm amid noise the rhythm comes first: timing
  weighs in the contest for a tentative beat, which stays open a refractory
  period after the candidate that holds it (at most two after the first).

Timers and look-aheads run on sample indices, never on wall time, and a
candidate is decided only once everything it looks at has arrived (a
candidate that must wait changes nothing), so the decisions are the same for
any chunking of the signal.
"""

from __future__ import annotations

from streams.analysis.qrs.decision_memory import NEVER, Candidate, DecisionMemory
from streams.analysis.qrs.feature import Candidates
from streams.analysis.qrs.fusion import Fusion
from streams.analysis.qrs.params import DetectorParams
from streams.analysis.qrs.rhythm import (
    EXPECTED,
    PREMATURE,
    TIMING,
    add_rr,
    displaced,
    rhythm_first,
    timing,
)

EARLIER = 0.8  # an earlier candidate this strong places the R peak
_SEARCHBACK_RR = 1.4  # a search-back once this many RR intervals pass without a beat
_SEARCHBACK_THRESHOLD = 0.4  # of the threshold: what a search-back may take
_T_WAVE_PEAK = 0.25  # of the last beat's peak: below it, a candidate soon after is a T wave
_RUNNERS_UP = 8
_SETTLED_S = 0.5  # after the front end's first-second scaling settles (see ``learn``)


class _Decider:
    """One chunk's decisions on a memory (mutated in place)."""

    __slots__ = ("beats", "confirmed", "fusion", "p", "s")

    def __init__(self, memory: DecisionMemory, params: DetectorParams, confirmed: int) -> None:
        self.s = memory
        self.p = params
        self.confirmed = confirmed  # every candidate below this sample is known
        self.beats: list[int] = []
        self.fusion = Fusion(memory)

    def _noise(self, strength: float) -> None:
        """A candidate that is not a beat raises the noise level (and, unless it may
        well have been a beat, each lead's noise: ``Fusion.add_noise``)."""
        s = self.s
        s.noise_level += 0.125 * (strength - s.noise_level)

    def _beat(self, index: int, r_peak: int, strength: float, peak: float, gain: float) -> bool:
        s, p = self.s, self.p
        if r_peak - s.last_r < p.refractory:
            return False  # the same QRS seen again
        s.signal_level += gain * (strength - s.signal_level)
        if s.last_beat != NEVER:
            add_rr(s, index - s.last_beat, p)
        s.last_beat, s.last_peak, s.last_r = index, peak, r_peak
        s.beats_seen += 1
        self.beats.append(r_peak)
        pending = s.pending
        if pending:  # in index order, and mostly all before this beat
            s.pending = [c for c in pending if c[0] > index] if pending[-1][0] > index else []
        wait = _SEARCHBACK_RR * (s.rhythm or p.sampling_rate)
        s.searchback_at = index + int(p.searchback if p.searchback < wait else wait)
        return True

    def _propose(self, c: Candidate, strength: float, peak: float, anchor: int) -> None:
        s = self.s
        s.tentative, s.tentative_strength, s.tentative_peak = c, strength, peak
        s.tentative_anchor = anchor
        # Energy that goes on after a QRS (an artefact, a wide complex) moves the
        # integral's peak late: the R peak is the one seen by the earliest candidate
        # of the group that was nearly as strong.
        earliest = c[0] - self.p.refractory
        for index, other, r_peak in s.runners_up:
            if index >= earliest and other >= EARLIER * strength:
                s.tentative_r = r_peak
                return
        s.tentative_r = self.fusion.r_peak(c)

    def _commit(self) -> None:
        s = self.s
        c = s.tentative
        if c is None:
            return
        s.tentative = None
        if self._beat(c[0], s.tentative_r, s.tentative_strength, s.tentative_peak, 0.125):
            self.fusion.learn_beat(c)

    def learn(self) -> None:
        """Set the per-lead references from the learning period's candidates."""
        s = self.s
        s.learned = True
        learning = [c for c in s.queue if c[0] < s.learning_end]
        # The front end scales its first second by its running maximum, which inflates
        # a beat in the first few hundred milliseconds: the references come from the
        # candidates after them, when there are any.
        settled = [c for c in learning if c[0] >= _SETTLED_S * self.p.sampling_rate]
        self.fusion.learn(settled or learning)
        s.searchback_at = s.learning_end + int(_SEARCHBACK_RR * self.p.sampling_rate)

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
            refractory, anchor = self.p.refractory, s.tentative_anchor
            if anchor + refractory > until:
                return  # a beat was found: no search-back while it may still move
            moved = s.tentative[0]
            if (
                moved > anchor
                and min(moved, anchor + refractory) + refractory > until
                and rhythm_first(s)
            ):
                return  # the beat moved to a later candidate: it stays open a while longer
            self._commit()
        while s.searchback_at <= until:
            limit = _SEARCHBACK_THRESHOLD * s.threshold
            due = [c for c in s.pending if c[0] < s.searchback_at and c[1] > limit]
            if due:
                best = max(due, key=lambda c: c[1])
                if self._beat(best[0], best[3], best[1], best[2], 0.25):
                    continue
                s.pending.remove(best)
                continue
            s.pending = [c for c in s.pending if c[0] >= s.searchback_at]
            s.searchback_at += int(s.rhythm or self.p.sampling_rate)

    def process(self, position: int) -> bool:
        """Decide ``queue[position]``; False, changing nothing, if it must wait for
        candidates that have not arrived yet."""
        s, p, fusion = self.s, self.p, self.fusion
        queue = s.queue
        c = queue[position]
        index = c[0]
        if s.tentative is not None:  # within its refractory period (see fire_timers)
            strength, peak = fusion.strength(c)
            held = s.tentative_strength
            if strength <= TIMING[1] * held:
                return True  # weaker than the held one, whatever the timing weights
            if rhythm_first(s):  # timing weighs in
                better = strength * timing(s, index) > held * timing(s, s.tentative[0])
            else:
                better = strength > held
            if better:
                self._propose(c, strength, peak, s.tentative_anchor)
            return True
        since = index - s.last_beat
        if since < p.refractory:
            return True
        strength, peak = fusion.strength(c)
        thinning = p.thinning
        if index - s.group_index <= thinning and s.group_strength >= strength:
            return True  # a stronger candidate just before stands for this QRS
        threshold = s.threshold
        rhythm = s.rhythm
        premature = strength > threshold and rhythm > 0 and since < PREMATURE * rhythm
        horizon = index + thinning
        if premature:
            horizon = max(horizon, s.last_beat + int(EXPECTED[1] * rhythm))
        if horizon >= self.confirmed:
            return False
        s.group_index, s.group_strength = index, strength
        end = position + 1
        size = len(queue)
        while end < size and queue[end][0] <= horizon:
            other = queue[end]
            if other[0] - index <= thinning and fusion.strength(other)[0] > strength:
                # A stronger candidate just after stands for this QRS.
                runners_up = s.runners_up
                if len(runners_up) >= _RUNNERS_UP:  # (``_propose`` skips the old ones)
                    s.runners_up = runners_up = [
                        r for r in runners_up if r[0] >= index - p.refractory
                    ]
                runners_up.append((index, strength, fusion.r_peak(c)))
                return True
            end += 1
        if strength <= threshold:
            self._noise(strength)
            s.pending.append((index, strength, peak, fusion.add_noise(c)))
        elif since < p.t_wave and peak < _T_WAVE_PEAK * s.last_peak:
            self._noise(strength)  # a T wave
            fusion.add_noise(c)
        elif premature and displaced(s, fusion, p, c, strength, queue[position + 1 : end]):
            self._noise(strength)  # not its leads' noise: it may well have been a beat
        else:
            self._propose(c, strength, peak, index)
        return True


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
    memory: DecisionMemory, candidates: Candidates, confirmed: int, params: DetectorParams
) -> list[int]:
    """Decide what can be decided now that every candidate below sample ``confirmed``
    is known. Mutates ``memory``; returns the new beats' R peaks, ascending."""
    memory.queue.extend(_as_candidates(candidates))
    if not memory.learned:
        if confirmed < memory.learning_end:
            return []
        while not any(c[0] < memory.learning_end for c in memory.queue):
            memory.learning_end += params.learning  # nothing to learn from yet
            if confirmed < memory.learning_end:
                return []
    decider = _Decider(memory, params, confirmed)
    if not memory.learned:
        decider.learn()
    done = 0
    queue = memory.queue
    size = len(queue)
    while done < size:
        index = queue[done][0]
        if memory.tentative is not None or memory.searchback_at <= index:
            decider.fire_timers(index)
        if not decider.process(done):
            break
        done += 1
    del queue[:done]
    decider.fire_timers(queue[0][0] if queue else confirmed)
    return decider.beats


def finish_decisions(
    memory: DecisionMemory, last: Candidates, end: int, params: DetectorParams
) -> list[int]:
    """The signal ended at sample ``end``; ``last`` are the candidates only its end
    confirms. Decide everything that is left."""
    memory.queue.extend(_as_candidates(last))
    far = end + 4 * params.searchback + 4 * params.max_rr
    if not memory.learned and memory.queue:
        _Decider(memory, params, far).learn()
    if not memory.learned:
        return []
    decider = _Decider(memory, params, far)
    for position in range(len(memory.queue)):
        decider.fire_timers(memory.queue[position][0])
        decider.process(position)
    memory.queue.clear()
    decider.fire_timers(end + params.refractory)
    return decider.beats


def earliest_r_peak(memory: DecisionMemory) -> int | None:
    """The lowest R peak that a waiting or pending candidate could still report."""
    lows = [c[3] for c in memory.pending] + [min(c[3]) for c in memory.queue]
    if memory.tentative is not None:
        lows.append(memory.tentative_r)
    return min(lows, default=None)
