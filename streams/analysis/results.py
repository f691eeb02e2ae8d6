"""What the analyser emits: one ``WindowResult`` per window, one ``EcgResult`` per ECG.

Per window also its rhythm verdict and the rhythm events its beats decided
(``events``); per ECG the share of its analysed time in atrial fibrillation and the
events per type.

Per lead: the number of samples, zero crossings, minimum, maximum and mean in ADC
units and in mV, and a quality verdict. Values in mV need the lead's gain (ADC units
per mV); its baseline (the ADC value of 0 mV) is 0 when not given, as in WFDB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from streams.analysis.events import RhythmEvent
from streams.analysis.measures import NO_GAIN, NO_SAMPLES, Measure
from streams.analysis.quality import Quality
from streams.analysis.rhythm import Rhythm


@dataclass(frozen=True)
class LeadResult:
    number_of_samples: int
    zero_crossings: int
    minimum: Measure
    maximum: Measure
    mean: Measure
    minimum_mv: Measure
    maximum_mv: Measure
    mean_mv: Measure
    quality: Quality


@dataclass(frozen=True, eq=False)
class WindowResult:
    index: int
    start_sample: int
    end_sample: int  # exclusive
    leads: tuple[LeadResult, ...]
    beats: NDArray[np.int64]  # R-peak sample indices in [start_sample, end_sample)
    rhythm: Rhythm
    verdict: str = "unknown"  # the rhythm of most of its beats (events.VERDICTS)
    events: tuple[RhythmEvent, ...] = ()  # decided by its beats (or, last, at the end)
    classes: str = ""  # each beat's class, one of "NSVFQ" (beat_classes); "" without


NO_BURDEN = Measure.missing("no beats")


@dataclass(frozen=True)
class EcgResult:
    n_windows: int
    leads: tuple[LeadResult, ...]
    rhythm: Rhythm
    af_burden_percent: Measure = NO_BURDEN  # of the analysed time
    event_counts: tuple[tuple[str, int], ...] = ()  # events started, per type
    class_counts: tuple[tuple[str, int], ...] = ()  # the closed windows' beats, per class


def lead_result(
    samples: int,
    zero_crossings: int,
    total: int,
    extremes: tuple[int, int],
    scale: tuple[float | None, int | None],
    quality: Quality,
) -> LeadResult:
    """A lead's result from its integer sums: ``total`` of the samples, their
    ``extremes`` (min, max), and its ``scale`` (gain, baseline)."""
    if samples == 0:
        none = Measure.missing(NO_SAMPLES)
        return LeadResult(0, zero_crossings, none, none, none, none, none, none, quality)
    low, high = extremes
    mean = total / samples
    gain, baseline = scale
    if gain is None:
        minimum_mv = maximum_mv = mean_mv = Measure.missing(NO_GAIN)
    else:
        zero = baseline or 0
        minimum_mv = Measure((low - zero) / gain)
        maximum_mv = Measure((high - zero) / gain)
        mean_mv = Measure((mean - zero) / gain)
    return LeadResult(
        samples,
        zero_crossings,
        Measure(low),
        Measure(high),
        Measure(mean),
        minimum_mv,
        maximum_mv,
        mean_mv,
        quality,
    )
