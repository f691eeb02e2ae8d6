"""The QRS detector's sense of rhythm: when a premature candidate gives way, and when
the rhythm comes first."""

from __future__ import annotations

import pytest

from streams.analysis.qrs.decision_memory import Candidate, DecisionMemory, start_decisions
from streams.analysis.qrs.fusion import Fusion
from streams.analysis.qrs.params import detector_params
from streams.analysis.qrs.rhythm import RR_HISTORY, displaced, rhythm_first, timing

RATE = 360.0
RR = 360  # samples: 60 beats a minute
LAST = 100_000  # the last beat's candidate index
PARAMS = detector_params(RATE)


def steady_state(lead_noise: list[float], rr: list[int] | None = None) -> DecisionMemory:
    """Two leads whose typical beat is 1 in every measure, the last beat at ``LAST``."""
    s = start_decisions(2, PARAMS)
    s.learned = True
    s.signal_level, s.noise_level = 1.0, 0.125
    s.lead_noise = list(lead_noise)
    s.rr = list(rr) if rr is not None else [RR] * RR_HISTORY
    s.rr_mean = float(RR)
    s.last_beat = s.last_r = LAST
    s.last_peak = 1.0
    return s


def candidate(index: int, lead_0: float, lead_1: float) -> Candidate:
    """A candidate seen as ``lead_0`` and ``lead_1`` times the typical beat."""
    return (index, [lead_0, lead_1], [lead_0, lead_1], [index - 20] * 2, [lead_0, lead_1])


def gives_way(s: DecisionMemory, premature: Candidate, later: list[Candidate]) -> bool:
    fusion = Fusion(s)
    return displaced(s, fusion, PARAMS, premature, fusion.strength(premature)[0], later)


# A strong artefact halfway through the RR interval, 1.8 times the typical beat in
# MLII and 0.7 in V1; the typical beat comes on time after it.
ARTEFACT = candidate(LAST + RR // 2, 1.8, 0.7)
ON_TIME = candidate(LAST + RR + 10, 1.0, 1.0)


def test_in_a_steady_noisy_rhythm_an_artefact_gives_way_to_the_beat_on_time() -> None:
    assert gives_way(steady_state([0.05, 0.3]), ARTEFACT, [ON_TIME])


def test_with_clean_leads_a_strong_early_beat_stays() -> None:
    # Clean leads: a premature atrial beat that did not reset the sinus node (the next
    # beat still comes on time) stays, as it did before the rhythm-first rules.
    assert not gives_way(steady_state([0.05, 0.05]), ARTEFACT, [ON_TIME])


def test_in_an_irregular_rhythm_a_strong_early_beat_stays() -> None:
    irregular = [RR, round(0.7 * RR), RR, round(1.3 * RR), RR, RR, round(0.8 * RR), RR]
    assert not gives_way(steady_state([0.05, 0.3], irregular), ARTEFACT, [ON_TIME])


def test_nothing_typical_on_time_keeps_the_early_beat() -> None:
    s = steady_state([0.05, 0.3])
    late = candidate(LAST + round(1.3 * RR), 1.0, 1.0)  # beyond 16 % of the RR interval
    atypical = candidate(LAST + RR, 0.3, 3.0)  # on time, but not the typical beat
    assert not gives_way(s, ARTEFACT, [late])
    assert not gives_way(s, ARTEFACT, [atypical])


def test_a_distinctive_premature_beat_stays() -> None:
    # Three times the typical beat in a clean lead: an ectopic beat, not an artefact.
    assert not gives_way(steady_state([0.05, 0.3]), candidate(LAST + RR // 2, 3.0, 2.0), [ON_TIME])


@pytest.mark.parametrize(
    ("lead_noise", "rr", "expected"),
    [
        ([0.05, 0.3], [RR] * RR_HISTORY, True),
        ([0.05, 0.05], [RR] * RR_HISTORY, False),  # clean leads
        ([0.05, 0.3], [RR] * (RR_HISTORY - 1), False),  # too few intervals known
        ([0.05, 0.3], [RR] * (RR_HISTORY - 1) + [round(1.2 * RR)], False),  # one 20 % off
        ([0.05, 0.3], [round(1.1 * RR), round(0.9 * RR)] * (RR_HISTORY // 2), True),
    ],
)
def test_when_the_rhythm_comes_first(
    lead_noise: list[float], rr: list[int], expected: bool
) -> None:
    assert rhythm_first(steady_state(lead_noise, rr)) is expected


def test_timing_is_best_at_the_expected_time() -> None:
    s = steady_state([0.05, 0.3])
    assert timing(s, LAST + RR) == 1.0
    assert timing(s, LAST + RR - RR // 4) == pytest.approx(0.5)
    assert timing(s, LAST + RR + RR // 4) == pytest.approx(0.5)
    assert timing(s, LAST + RR // 4) == pytest.approx(0.2)  # the floor
