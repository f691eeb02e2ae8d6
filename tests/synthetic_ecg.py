"""Seeded synthetic ECGs: a sum of Gaussian P, Q, R, S and T waves per beat (the
morphology of McSharry PE et al., "A dynamical model for generating synthetic
electrocardiogram signals", IEEE Trans Biomed Eng 50(3):289-294, 2003), with a
respiratory modulation of the RR intervals, white noise, and per-lead scale."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

GAIN = 200.0  # ADC units per mV, as in MIT-BIH
# (time from the R peak in s, amplitude in mV, width in s)
WAVES = (
    (-0.20, 0.15, 0.025),
    (-0.025, -0.10, 0.010),
    (0.0, 1.00, 0.010),
    (0.03, -0.25, 0.010),
    (0.25, 0.30, 0.050),
)


def beat_times(seconds: float, bpm: float, variability: float = 0.03) -> NDArray[np.float64]:
    """R-peak times (s): RR intervals of 60/bpm, modulated by ±``variability`` at 0.25 Hz."""
    times = []
    t = 0.5
    while t < seconds - 0.5:
        times.append(t)
        t += 60.0 / bpm * (1 + variability * np.sin(2 * np.pi * 0.25 * t))
    return np.array(times)


def synthetic_ecg(
    sampling_rate: float,
    seconds: float,
    bpm: float = 72.0,
    n_leads: int = 2,
    noise_mv: float = 0.01,
    seed: int = 0,
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """The ECG in ADC units (leads by samples, gain ``GAIN``, baseline 0) and its R-peak
    times in seconds."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sampling_rate)
    t = np.arange(n) / sampling_rate
    peaks = beat_times(seconds, bpm)
    clean = np.zeros(n)
    reach = round(0.5 * sampling_rate)
    for peak in peaks:
        centre = round(peak * sampling_rate)
        lo, hi = max(0, centre - reach), min(n, centre + reach)
        local = t[lo:hi] - peak
        for offset, amplitude, width in WAVES:
            clean[lo:hi] += amplitude * np.exp(-((local - offset) ** 2) / (2 * width**2))
    leads = np.empty((n_leads, n), dtype=np.int32)
    for lead in range(n_leads):
        scale = 1.0 - 0.25 * lead
        noisy = scale * clean + rng.normal(0.0, noise_mv, n)
        leads[lead] = np.round(noisy * GAIN).astype(np.int32)
    return leads, peaks
