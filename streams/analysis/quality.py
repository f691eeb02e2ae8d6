"""Signal-quality verdicts per lead: for one window, and for a whole ECG.

A window of one lead is *assessed* when it holds at least 1 s of samples (with a
sampling rate) or ``MIN_SAMPLES_WITHOUT_RATE`` samples (without). The rules, checked
in this order; the first that holds is the verdict, every one that holds is a reason:

1. ``flat_line``: the peak-to-peak amplitude is below ``FLAT_MV`` (0.05 mV) when the
   lead has a gain; without a gain, at most ``FLAT_RANGE_FRACTION`` (1 %) of the lead's
   own range so far (max - min over the ECG up to the window's end), so a lead that
   never moved is flat. Or: at least ``STILL_FRACTION`` (half) of the window's samples
   equal the sample before them, whatever the gain: a lead that stood still (fell off)
   for half the window. Real ECGs repeat far less (MIT-BIH at 11 bits and 360 Hz: at
   most 18 % of samples; PTB at 16 bits and 1000 Hz: 1-10 %).
2. ``saturated``: at least ``SATURATED_FRACTION`` (5 %) of the window's samples sit
   exactly at its minimum or maximum value (a clipped plateau: an unclipped ECG
   touches its extremes for a few samples per window).
3. ``noisy``: the mean ``|h|`` of the high band (above ~40 Hz, peak ~80 Hz) is at
   least ``NOISY_RATIO`` (0.25) of the mean ``|d|`` of the QRS band (5-30 Hz, peak
   ~15 Hz); see ``streams.analysis.lead_stats`` for both filters. Clean MIT-BIH and
   PTB leads give 0.02-0.2, 0.1 mV RMS of added white noise 0.25, of muscle-band
   noise 0.3. Needs a sampling rate of at least 80 Hz.
4. ``baseline_wander``: the 1.6 s moving average of the lead moves by at least
   ``WANDER_MV`` (1 mV) within the window when the lead has a gain; without a gain, by
   at least ``WANDER_FRACTION`` (half) of the window's peak-to-peak amplitude. Needs a
   sampling rate.

The verdict of a lead over a whole ECG counts its windows' verdicts: ``good`` when
at least ``GOOD_FRACTION`` (90 %) of its assessed windows are good, otherwise the
most frequent other verdict (ties in the order above); ``unassessed`` when no window
was assessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from streams.analysis.bands import Bands
from streams.analysis.lead_stats import Int64s, Stat

GOOD: Final = "good"
FLAT_LINE: Final = "flat_line"
SATURATED: Final = "saturated"
NOISY: Final = "noisy"
BASELINE_WANDER: Final = "baseline_wander"
UNASSESSED: Final = "unassessed"
VERDICTS: Final = (GOOD, FLAT_LINE, SATURATED, NOISY, BASELINE_WANDER, UNASSESSED)

MIN_SECONDS: Final = 1.0
MIN_SAMPLES_WITHOUT_RATE: Final = 250
FLAT_MV: Final = 0.05
FLAT_RANGE_FRACTION: Final = 0.01
STILL_FRACTION: Final = 0.5
SATURATED_FRACTION: Final = 0.05
NOISY_RATIO: Final = 0.25
WANDER_MV: Final = 1.0
WANDER_FRACTION: Final = 0.5
GOOD_FRACTION: Final = 0.9


@dataclass(frozen=True)
class Quality:
    verdict: str
    reasons: tuple[str, ...] = ()
    windows: dict[str, int] | None = field(default=None)


_GOOD = Quality(GOOD)  # immutable: one for every good window without notes


@dataclass(frozen=True)
class LeadScale:
    """What the rules need to know about a lead besides its window statistics."""

    gain: float | None
    sampling_rate: float | None
    bands: Bands | None


def judge_window(stats: Sequence[int] | Int64s, scale: LeadScale, lead_range: int) -> Quality:
    """The verdict for one lead's window statistics (N_STATS integers, by ``Stat``);
    ``lead_range`` is the lead's max - min over the ECG up to the window's end."""
    samples = int(stats[Stat.SAMPLES])
    rate = scale.sampling_rate
    needed = _needed(rate)
    if samples < needed:
        return Quality(UNASSESSED, (f"{samples} samples, fewer than the {needed} needed",))
    found: list[tuple[str, str]] = []
    p2p = int(stats[Stat.MAX]) - int(stats[Stat.MIN])
    gain = scale.gain
    if gain is not None:
        if p2p / gain < FLAT_MV:
            found.append((FLAT_LINE, f"peak-to-peak {p2p / gain:.3g} mV < {FLAT_MV} mV"))
    elif p2p <= FLAT_RANGE_FRACTION * lead_range:
        found.append(
            (FLAT_LINE, f"peak-to-peak {p2p} <= {FLAT_RANGE_FRACTION:.0%} of the lead's range")
        )
    repeats = int(stats[Stat.REPEATS])
    if repeats >= STILL_FRACTION * samples:
        found.append((FLAT_LINE, f"{repeats} of {samples} samples equal the one before"))
    at_extremes = int(stats[Stat.AT_MIN]) + int(stats[Stat.AT_MAX])
    if p2p > 0 and at_extremes >= SATURATED_FRACTION * samples:
        share = at_extremes / samples
        found.append((SATURATED, f"{share:.1%} of samples at the window's minimum or maximum"))
    notes: list[str] = []
    if scale.bands is None:
        notes.append(
            "noise and baseline wander not assessed: "
            + ("no sampling rate" if rate is None else "sampling rate below 80 Hz")
        )
    else:
        _judge_bands(stats, scale, scale.bands, p2p, found, notes)
    if not found:
        return Quality(GOOD, tuple(notes)) if notes else _GOOD
    return Quality(found[0][0], tuple(reason for _, reason in found) + tuple(notes))


def _needed(rate: float | None) -> int:
    """The samples of an assessed window."""
    return MIN_SAMPLES_WITHOUT_RATE if rate is None else max(2, math.ceil(rate * MIN_SECONDS))


def judge_windows(
    stats: Int64s, scales: Sequence[LeadScale], lows: Int64s, highs: Int64s
) -> list[list[Quality]]:
    """``judge_window`` for the statistics of many windows (windows by N_STATS by leads)
    of leads with one sampling rate, as [window][lead]; ``lows`` and ``highs`` (windows by
    leads) are each lead's minimum and maximum over the ECG up to each window's end.

    For ``_BATCH`` or more windows of leads, a few vectorised passes over all of them
    first settle the usual verdict, a plain good; ``judge_window`` decides (and words)
    the others."""
    windows, _, leads = stats.shape
    qualities = [[_GOOD] * leads for _ in range(windows)]
    if windows * leads >= _BATCH:
        judge = np.argwhere(~_plainly_good(stats, scales, lows, highs)).tolist()
    else:
        judge = [[k, i] for k in range(windows) for i in range(leads)]
    for k, i in judge:
        lead_range = int(highs[k, i]) - int(lows[k, i])
        qualities[k][i] = judge_window(stats[k, :, i].tolist(), scales[i], lead_range)
    return qualities


_BATCH = 16  # windows of leads: below, the vectorised passes cost more than they save
_EXACT = 2**52  # integers below this in magnitude, and their differences, are exact floats


def _plainly_good(
    stats: Int64s, scales: Sequence[LeadScale], lows: Int64s, highs: Int64s
) -> NDArray[np.bool_]:
    """Where ``judge_window`` surely gives ``_GOOD`` (no reason, no note); see
    ``judge_windows``. Its rules compare Python floats made from integers in one rounding
    step (a true division of integers is correctly rounded); the same comparisons in
    float64 round alike where every integer involved is exact as a float. Counts and
    sample extremes always are (int32 samples, windows of at most 2**24 samples); windows
    whose band or baseline sums are not (never seen in an ECG) are left to
    ``judge_window``."""
    rate, bands = scales[0].sampling_rate, scales[0].bands
    if bands is None:  # a good window gets a note
        return np.zeros((stats.shape[0], stats.shape[2]), dtype=bool)
    values = stats.astype(np.float64)
    samples, p2p = values[:, Stat.SAMPLES], values[:, Stat.MAX] - values[:, Stat.MIN]
    high, band = values[:, Stat.HIGH_BAND], values[:, Stat.QRS_BAND]
    base_low, base_high = values[:, Stat.BASE_MIN], values[:, Stat.BASE_MAX]
    gains = np.array([1.0 if scale.gain is None else scale.gain for scale in scales])
    has_gain = np.array([scale.gain is not None for scale in scales])
    lead_range = np.subtract(highs, lows, dtype=np.float64)
    moved = (base_high - base_low) / (bands.block * bands.blocks)
    good: NDArray[np.bool_] = samples >= _needed(rate)
    good &= (high < _EXACT) & (band < _EXACT) & (base_low > -_EXACT) & (base_high < _EXACT)
    # Each rule of judge_window, negated.
    good &= np.where(has_gain, p2p / gains >= FLAT_MV, p2p > FLAT_RANGE_FRACTION * lead_range)
    good &= values[:, Stat.REPEATS] < STILL_FRACTION * samples
    at_extremes = values[:, Stat.AT_MIN] + values[:, Stat.AT_MAX]
    good &= (p2p <= 0) | (at_extremes < SATURATED_FRACTION * samples)
    good &= np.divide(high, band, out=np.zeros_like(band), where=band > 0) < NOISY_RATIO
    good &= (band > 0) | (values[:, Stat.FILTERED] > 0)  # else a note
    good &= values[:, Stat.BASE_POINTS] >= 2  # else a note
    good &= np.where(
        has_gain, moved / gains < WANDER_MV, (p2p <= 0) | (moved < WANDER_FRACTION * p2p)
    )
    return good


def _judge_bands(
    stats: Sequence[int] | Int64s,
    scale: LeadScale,
    bands: Bands,
    p2p: int,
    found: list[tuple[str, str]],
    notes: list[str],
) -> None:
    high, band = int(stats[Stat.HIGH_BAND]), int(stats[Stat.QRS_BAND])
    if band > 0:
        ratio = high / band
        if ratio >= NOISY_RATIO:
            found.append((NOISY, f"high-band/QRS-band amplitude {ratio:.2f} >= {NOISY_RATIO}"))
    elif int(stats[Stat.FILTERED]) == 0:
        notes.append("noise not assessed: too few samples since the start")
    if int(stats[Stat.BASE_POINTS]) < 2:
        notes.append("baseline wander not assessed: too few samples since the start")
        return
    moved = (int(stats[Stat.BASE_MAX]) - int(stats[Stat.BASE_MIN])) / (bands.block * bands.blocks)
    if scale.gain is not None:
        if moved / scale.gain >= WANDER_MV:
            found.append(
                (BASELINE_WANDER, f"baseline moved {moved / scale.gain:.3g} mV >= {WANDER_MV} mV")
            )
    elif p2p > 0 and moved >= WANDER_FRACTION * p2p:
        found.append(
            (BASELINE_WANDER, f"baseline moved {moved / p2p:.0%} of the peak-to-peak amplitude")
        )


def judge_ecg(counts: Int64s) -> Quality:
    """The verdict of a lead over an ECG from its windows' verdict counts (in the order
    of ``VERDICTS``)."""
    tally = {verdict: int(count) for verdict, count in zip(VERDICTS, counts, strict=True)}
    assessed = sum(tally.values()) - tally[UNASSESSED]
    if assessed == 0:
        return Quality(UNASSESSED, ("no window could be assessed",), tally)
    reasons = tuple(
        f"{tally[verdict]} of {assessed} assessed windows {verdict.replace('_', ' ')}"
        for verdict in VERDICTS[1:-1]
        if tally[verdict]
    )
    if tally[GOOD] >= GOOD_FRACTION * assessed:
        return Quality(GOOD, reasons, tally)
    worst = max(VERDICTS[1:-1], key=lambda verdict: (tally[verdict], -VERDICTS.index(verdict)))
    return Quality(worst, reasons, tally)
