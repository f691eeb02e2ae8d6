"""The QRS detector's sense of rhythm: the RR interval it expects, and whether a
premature candidate is an ectopic beat or gives way to a beat at the expected time.

A candidate premature by more than a quarter of the RR interval (a running mean
of the RR intervals within 70-140 % of it) gives way to a candidate at the
expected time (0.8-1.25 RR after the last beat) unless it is 1.2 times stronger,
or the expected one looks ectopic itself, or it looks like the typical beat in
every lead (integral and peak energy within a factor 2: an early normal QRS, as
in atrial fibrillation, flutter or atrial runs), or its pattern over the leads
(relative integral per lead, within a factor 1.6 in each) repeats that of one of
the last four distinctive premature beats that stayed -- distinctive meaning 2.5
times the typical beat in a lead clean enough to vouch for it. Artefacts seldom
look like the typical beat in every lead, or repeat a pattern; an ectopic focus
does (bigeminy, couplets, interpolated beats).

**Rhythm first.** While the rhythm is steady (the last eight RR intervals within
15 % of the expected one) and some lead is noisy (its noise at least 15 % of its
typical beat), timing outweighs strength, as it does for a reader of a noisy strip:

- a premature candidate that is not distinctive gives way to a candidate that
  looks like the typical beat in every lead and comes on time (within 16 % of the
  RR interval of the expected time), however strong the premature one is: the
  rhythm goes on under an artefact, whereas a premature atrial beat mostly resets
  the sinus node, so that no typical beat comes on time after it (one that does
  not, as in MIT-BIH 220, is kept only because its leads are clean);
- candidates contending for one beat are weighed by their timing (``timing``),
  and a beat that moved to a later candidate stays open for a refractory period
  after it (at most two after its first candidate), so that the beat at the
  expected time can still take its place.

A clean record (every lead's noise below 15 %) or an irregular rhythm (atrial
fibrillation, frequent ectopy) never meets these rules.
"""

from __future__ import annotations

import math
import statistics

from streams.analysis.qrs.decision_memory import Candidate, DecisionMemory
from streams.analysis.qrs.fusion import Fusion
from streams.analysis.qrs.params import DetectorParams

PREMATURE = 0.75  # of the RR interval
EXPECTED = (0.8, 1.25)  # window of the next beat, in RR intervals
DOMINANT = 1.2  # a premature candidate this much stronger than the expected one stays
FAMILIAR = math.log(1.6)  # patterns within this factor in every lead are alike
ECTOPIC = 2.5  # a pattern is distinctive if some lead sees 2.5 times its typical beat
CLEAN = 0.2  # ... and that lead's noise is below this (relative to its typical beat)
RHYTHM_RANGE = (0.7, 1.4)
RR_HISTORY = 8
_ECTOPIC_PATTERNS = 4
TYPICAL = math.log(2.0)  # a candidate within this factor of the typical beat in every lead
STEADY = 0.15  # every RR interval known within this fraction of the expected one
NOISY = 0.15  # a lead's noise, relative to its typical beat, that calls for the rhythm first
ON_TIME = 0.16  # of the RR interval, either side of the expected time
TIMING = (2.0, 0.2)  # a candidate's weight: 1 - 2 x its RR intervals off time, at least 0.2


def add_rr(s: DecisionMemory, rr: int, params: DetectorParams) -> None:
    """A new RR interval (samples): the expected interval follows the intervals
    within the rhythm range, and restarts from the median after eight outliers."""
    s.rr.append(rr)
    if len(s.rr) > RR_HISTORY:
        del s.rr[:-RR_HISTORY]
    if len(s.rr) < 4:
        s.rr_mean = float(statistics.median(s.rr))
    elif RHYTHM_RANGE[0] * s.rr_mean <= rr <= RHYTHM_RANGE[1] * s.rr_mean:
        s.rr_mean += 0.125 * (rr - s.rr_mean)
        s.rr_outliers = 0
    else:
        s.rr_outliers += 1
        if s.rr_outliers >= RR_HISTORY:
            s.rr_mean = float(statistics.median(s.rr))
            s.rr_outliers = 0
    if params.max_rr < s.rr_mean:
        s.rr_mean = float(params.max_rr)


def rhythm_first(s: DecisionMemory) -> bool:
    """Whether the rhythm is steady while some lead is noisy: then timing outweighs
    strength (see the module's docstring)."""
    rhythm = s.rhythm
    if not rhythm or len(s.rr) < RR_HISTORY or max(s.lead_noise) < NOISY:
        return False
    limit = STEADY * rhythm
    return max(s.rr) - rhythm <= limit and rhythm - min(s.rr) <= limit


def timing(s: DecisionMemory, index: int) -> float:
    """How well a beat at sample ``index`` keeps the rhythm: 1 at the expected time,
    falling by 2 for each RR interval off it, and at least 0.2."""
    rhythm = s.rhythm
    off = abs(index - s.last_beat - rhythm) / rhythm
    return max(TIMING[1], 1.0 - TIMING[0] * off)


def _distinct(relative: list[float], lead_noise: list[float]) -> bool:
    """Whether some lead clean enough to vouch for it sees an abnormally large beat."""
    return any(
        x >= ECTOPIC and noise < CLEAN for x, noise in zip(relative, lead_noise, strict=True)
    )


def _typical(s: DecisionMemory, c: Candidate) -> bool:
    """Whether every lead sees the candidate as it sees its typical beat (integral and
    peak energy within a factor 2): a normal QRS arriving early, as in atrial
    fibrillation or a run of atrial premature beats, not an artefact."""
    for values, refs in ((c[1], s.ref_value), (c[2], s.ref_peak)):
        for value, ref in zip(values, refs, strict=True):
            if abs(math.log(max(value / ref, 0.05))) >= TYPICAL:
                return False
    return True


def displaced(
    s: DecisionMemory,
    fusion: Fusion,
    params: DetectorParams,
    c: Candidate,
    strength: float,
    later: list[Candidate],
) -> bool:
    """Whether a premature candidate gives way to one at the expected time (among
    ``later``, the candidates up to 1.25 RR after the last beat): it does unless it
    is clearly the stronger, or looks like the typical beat in every lead, or its
    pattern over the leads is that of an earlier premature beat that stayed -- a
    recurring ectopic focus; and, with the rhythm first, whenever it is not
    distinctive and a typical beat comes on time. A distinctive premature candidate
    that stays is remembered."""
    threshold = s.threshold
    expected_start = s.last_beat + EXPECTED[0] * s.rhythm
    best = 0.0
    for other in later:
        if (
            other[0] >= expected_start
            and other[0] - c[0] >= params.refractory
            and not _distinct(
                fusion.relative(other), s.lead_noise
            )  # an ectopic beat is not expected
        ):
            best = max(best, fusion.strength(other)[0])
    pattern = [max(x, 0.05) for x in fusion.relative(c)]
    distinct = _distinct(pattern, s.lead_noise)
    familiar = distinct and any(
        all(abs(math.log(x / y)) < FAMILIAR for x, y in zip(pattern, known, strict=True))
        for known in s.ectopic
    )
    if best > threshold and strength < DOMINANT * best and not familiar and not _typical(s, c):
        return True
    if not distinct and rhythm_first(s):
        rhythm = s.rhythm
        expected = s.last_beat + rhythm
        for other in later:
            if (
                abs(other[0] - expected) <= ON_TIME * rhythm
                and other[0] - c[0] >= params.refractory
                and _typical(s, other)
                and fusion.strength(other)[0] > threshold
            ):
                return True  # an artefact: the rhythm goes on under it
    if distinct:
        s.ectopic.append(pattern)
        del s.ectopic[:-_ECTOPIC_PATTERNS]
    return False
