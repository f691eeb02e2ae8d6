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
THINNING_S = 0.100  # a lead's candidate must top its candidates this far back
MERGE_S = 0.025  # candidates of different leads this close are one
BLOCK_S = 1.0  # block of the per-lead scale
FRAME_HZ = 120.0  # the integral runs on frames of about 1/120 s
FLOOR = 0.01  # smallest integral worth a candidate, in typical QRS energies
LEARNING_S = 2.0  # the decision waits this long before its first beat
REFRACTORY_S = 0.200
T_WAVE_S = 0.360
MAX_RR_S = 1.5  # longest RR interval the rhythm estimate may take
SEARCHBACK_S = 2.0  # longest wait for a missed beat


@dataclass(frozen=True, eq=False)
class DetectorParams:
    sampling_rate: float
    b: NDArray[np.float64]
    a: NDArray[np.float64]
    zi_unit: NDArray[np.float64]  # filter state at rest under a constant input of 1
    delay: int  # band-pass group delay at the QRS's dominant frequency, samples
    frame: int  # samples per frame
    window: int  # moving-window integration, frames
    locator_window: int  # samples searched for the R peak, ending at the candidate
    thinning: int  # samples (the decision's grouping distance)
    frame_thinning: int  # frames (the front end's per-lead thinning)
    frame_merge: int  # frames: candidates of different leads this close are one
    block: int  # frames per block of the scale statistics
    floor: int  # integral units
    learning: int
    refractory: int
    t_wave: int
    max_rr: int
    searchback: int


@lru_cache(maxsize=64)
def detector_params(sampling_rate: float) -> DetectorParams:
    if not MIN_RATE <= sampling_rate <= MAX_RATE:
        raise ValueError(
            f"sampling_rate must be within [{MIN_RATE:g}, {MAX_RATE:g}] Hz, got {sampling_rate:g}"
        )
    fs = float(sampling_rate)
    b, a = signal.butter(2, BAND_HZ, btype="bandpass", fs=fs)
    _, delays = signal.group_delay((b, a), w=[float(np.sqrt(BAND_HZ[0] * BAND_HZ[1]))], fs=fs)
    frame = max(1, round(fs / FRAME_HZ))
    frame_rate = fs / frame
    window = max(1, round(WINDOW_S * frame_rate))
    return DetectorParams(
        sampling_rate=fs,
        b=np.asarray(b, dtype=np.float64),
        a=np.asarray(a, dtype=np.float64),
        zi_unit=np.asarray(signal.lfilter_zi(b, a), dtype=np.float64),
        delay=round(float(delays[0])),
        frame=frame,
        window=window,
        locator_window=window * frame + round(LOCATOR_LEAD_S * fs),
        thinning=round(THINNING_S * fs),
        frame_thinning=max(1, round(THINNING_S * frame_rate)),
        frame_merge=round(MERGE_S * frame_rate),
        block=max(1, round(BLOCK_S * frame_rate)),
        floor=int(FLOOR * window * QUANTUM),
        learning=round(LEARNING_S * fs),
        refractory=round(REFRACTORY_S * fs),
        t_wave=round(T_WAVE_S * fs),
        max_rr=round(MAX_RR_S * fs),
        searchback=round(SEARCHBACK_S * fs),
    )


# A lead's frame energy is quantised to multiples of 2**-20 of its typical peak
# frame energy and capped at 2**10 of it: a frame fits in an int32, a 150-ms
# integral of frames in an int64.
QUANTUM = 2**20
CAP = 2**10
