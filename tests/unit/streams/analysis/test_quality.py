from __future__ import annotations

import numpy as np
import pytest

from streams.analysis.bands import bands_for
from streams.analysis.lead_stats import Stat, empty_stats
from streams.analysis.quality import LeadScale, judge_ecg, judge_window, judge_windows

RATE = 250.0
SCALE = LeadScale(gain=200.0, sampling_rate=RATE, bands=bands_for(RATE))
BANDS = bands_for(RATE)


def stats(**values: int) -> np.ndarray:
    """A clean 10 s window at 250 Hz with gain 200 (2 mV peak to peak), with changes."""
    column = empty_stats(1)[0, :, 0].copy()
    assert BANDS is not None
    base = {
        Stat.SAMPLES: 2500,
        Stat.MIN: -100,
        Stat.MAX: 300,
        Stat.AT_MIN: 2,
        Stat.AT_MAX: 1,
        Stat.REPEATS: 200,
        Stat.HIGH_BAND: 1000,
        Stat.QRS_BAND: 20000,
        Stat.FILTERED: 2500,
        Stat.BASE_MIN: 0,
        Stat.BASE_MAX: 20 * BANDS.block * BANDS.blocks,  # moved 20 units: 0.1 mV
        Stat.BASE_POINTS: 100,
    }
    for stat, value in base.items():
        column[stat] = value
    for name, value in values.items():
        column[Stat[name.upper()]] = value
    return column


def test_a_clean_window_is_good() -> None:
    assert judge_window(stats(), SCALE, 400).verdict == "good"


@pytest.mark.parametrize(
    ("changes", "verdict", "reason"),
    [
        ({"min": 0, "max": 9}, "flat_line", "peak-to-peak 0.045 mV < 0.05 mV"),
        ({"repeats": 1250}, "flat_line", "1250 of 2500 samples equal the one before"),
        ({"at_max": 100, "at_min": 25}, "saturated", "5.0% of samples at the window's minimum"),
        ({"high_band": 5000}, "noisy", "high-band/QRS-band amplitude 0.25 >= 0.25"),
        ({"base_max": 200 * 25 * 16}, "baseline_wander", "baseline moved 1 mV >= 1.0 mV"),
    ],
)
def test_each_rule(changes: dict[str, int], verdict: str, reason: str) -> None:
    quality = judge_window(stats(**changes), SCALE, 400)
    assert quality.verdict == verdict
    assert quality.reasons[0].startswith(reason)


def test_the_first_rule_that_holds_is_the_verdict_and_every_one_is_a_reason() -> None:
    quality = judge_window(stats(max=-95, high_band=9000), SCALE, 400)
    assert quality.verdict == "flat_line"
    assert [reason.split(" ")[0] for reason in quality.reasons] == [
        "peak-to-peak",
        "high-band/QRS-band",
    ]


def test_without_a_gain_the_rules_are_relative_to_the_lead() -> None:
    relative = LeadScale(gain=None, sampling_rate=RATE, bands=BANDS)
    assert judge_window(stats(min=0, max=50), relative, 400).verdict == "good"
    assert judge_window(stats(min=0, max=4), relative, 400).verdict == "flat_line"
    assert judge_window(stats(min=0, max=0), relative, 0).verdict == "flat_line"
    wander = stats(base_max=250 * 25 * 16)  # moved 250 of a 400 peak to peak
    assert judge_window(wander, relative, 400).verdict == "baseline_wander"


def test_short_windows_are_not_assessed() -> None:
    quality = judge_window(stats(samples=249), SCALE, 400)
    assert quality.verdict == "unassessed"
    assert quality.reasons == ("249 samples, fewer than the 250 needed",)
    no_rate = LeadScale(gain=None, sampling_rate=None, bands=None)
    assert judge_window(stats(samples=249), no_rate, 400).verdict == "unassessed"
    assert judge_window(stats(samples=250, repeats=10), no_rate, 400).reasons == (
        "noise and baseline wander not assessed: no sampling rate",
    )


def test_the_ecg_verdict_counts_the_windows() -> None:
    # good, flat_line, saturated, noisy, baseline_wander, unassessed
    assert judge_ecg(np.array([9, 0, 0, 1, 0, 3])).verdict == "good"
    mostly_noisy = judge_ecg(np.array([5, 1, 0, 4, 0, 0]))
    assert mostly_noisy.verdict == "noisy"
    assert mostly_noisy.reasons == (
        "1 of 10 assessed windows flat line",
        "4 of 10 assessed windows noisy",
    )
    assert mostly_noisy.windows is not None
    assert mostly_noisy.windows["noisy"] == 4
    assert judge_ecg(np.array([0, 2, 2, 0, 0, 0])).verdict == "flat_line"
    assert judge_ecg(np.array([0, 0, 0, 0, 0, 2])).verdict == "unassessed"


@pytest.mark.parametrize("gain", [200.0, None])
def test_many_windows_are_judged_as_each_alone(gain: float | None) -> None:
    """``judge_windows`` settles the plainly good ones in float64 passes: right at every
    rule's boundary it must still say what ``judge_window`` says."""
    rng = np.random.default_rng(7)
    scale = LeadScale(gain=gain, sampling_rate=RATE, bands=BANDS)
    assert BANDS is not None
    base = stats()
    # Values at, just below and just above each rule's threshold (and a few wild ones).
    boundaries = {
        Stat.MAX: [-100 + 9, -100 + 10, -100 + 11, 300, 2**31 - 1],
        Stat.REPEATS: [1249, 1250, 1251, 0],
        Stat.AT_MIN: [123, 124, 125, 0],
        Stat.HIGH_BAND: [4999, 5000, 5001, 0, 2**53],
        Stat.QRS_BAND: [20000, 0, 1],
        Stat.FILTERED: [0, 2500],
        Stat.BASE_MAX: [n * BANDS.block * BANDS.blocks + d for n in (100, 200) for d in (-1, 0, 1)],
        Stat.BASE_POINTS: [1, 2],
        Stat.SAMPLES: [249, 250, 2500],
    }
    windows = np.repeat(base[None, :, None], 400, axis=0)
    for stat, values in boundaries.items():
        picked = np.asarray(rng.integers(0, len(values) + 1, size=windows.shape[0]))
        for k in range(windows.shape[0]):
            choice = int(picked[k])
            if choice < len(values):
                windows[k, stat, 0] = values[choice]
    lows = np.full((windows.shape[0], 1), -100, dtype=np.int64)
    highs = rng.choice([300, 2000, 40_000], size=(windows.shape[0], 1)).astype(np.int64)
    judged = judge_windows(windows, [scale], lows, highs)
    for k in range(windows.shape[0]):
        lead_range = int(highs[k, 0]) - int(lows[k, 0])
        assert judged[k][0] == judge_window(windows[k, :, 0], scale, lead_range), k
