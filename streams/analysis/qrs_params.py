"""The QRS detector's constants at one sampling rate: every duration is set in
seconds (or hertz) and turned into samples here, so the detector behaves the same
at 128 Hz as at 1000 Hz."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import signal

MIN_RATE = 100.0
MAX_RATE = 2000.0

BAND_HZ = (8.0, 20.0)  # band-pass corners
WINDOW_S = 0.150  # moving-window integration
LOCATOR_LEAD_S = 0.050  # the R peak may precede the integral's window by this much
BLOCK_S = 1.0  # block of the per-lead scale and noise statistics
FLOOR = 0.002  # smallest integral worth a candidate, in typical QRS energies
LEARNING_S = 2.0  # the decision waits this long before its first beat


@dataclass(frozen=True, eq=False)
class DetectorParams:
    sampling_rate: float
    b: NDArray[np.float64]
    a: NDArray[np.float64]
    zi_unit: NDArray[np.float64]  # filter state at rest under a constant input of 1
    delay: int  # band-pass group delay at the QRS's dominant frequency, samples
    window: int  # moving-window integration, samples
    locator_window: int  # samples searched for the R peak, ending at the candidate
    locator_span: int  # locator samples carried between chunks
    sub_block: int  # samples
    block: int  # samples (8 sub-blocks)
    floor: int  # integral units
    learning: int  # samples


@lru_cache(maxsize=64)
def detector_params(sampling_rate: float) -> DetectorParams:
    if not MIN_RATE <= sampling_rate <= MAX_RATE:
        raise ValueError(
            f"sampling_rate must be within [{MIN_RATE:g}, {MAX_RATE:g}] Hz, got {sampling_rate:g}"
        )
    fs = float(sampling_rate)
    b, a = signal.butter(2, BAND_HZ, btype="bandpass", fs=fs)
    _, delays = signal.group_delay((b, a), w=[float(np.sqrt(BAND_HZ[0] * BAND_HZ[1]))], fs=fs)
    window = max(1, round(WINDOW_S * fs))
    locator_window = window + round(LOCATOR_LEAD_S * fs)
    sub_block = max(1, round(BLOCK_S * fs / 8))
    return DetectorParams(
        sampling_rate=fs,
        b=np.asarray(b, dtype=np.float64),
        a=np.asarray(a, dtype=np.float64),
        zi_unit=np.asarray(signal.lfilter_zi(b, a), dtype=np.float64),
        delay=round(float(delays[0])),
        window=window,
        locator_window=locator_window,
        locator_span=locator_window,
        sub_block=sub_block,
        block=8 * sub_block,
        floor=int(FLOOR * window * 2**32),
        learning=round(LEARNING_S * fs),
    )
