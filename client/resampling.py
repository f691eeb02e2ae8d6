"""A record taken to another sampling rate and to its first leads, as a device recording
at that rate would have sampled it: ``ecg simulate --rate 500 --leads 12`` makes a
12-lead 500 Hz device of PTB's 1000 Hz, 15-lead s0010_re."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from scipy import signal

from client.wfdb import Record


def resample_record(record: Record, rate: float | None = None, leads: int | None = None) -> Record:
    """``record`` with its first ``leads`` leads (all when None) at ``rate`` Hz (its own
    when None). ``scipy.signal.resample_poly``: a zero-phase polyphase low-pass at the
    lower of the two Nyquist frequencies, about the ADC zero so that the filter's edges
    start from the signal's rest level; the result is rounded back to ADC units."""
    count = len(record.lead_names) if leads is None else leads
    if not 1 <= count <= len(record.lead_names):
        raise ValueError(f"the record has {len(record.lead_names)} leads; {count} were asked for")
    if rate is not None and not rate > 0:
        raise ValueError(f"the rate must be above 0 Hz, got {rate}")
    signals = record.signals[:count]
    baselines = np.asarray(record.baselines[:count], dtype=np.float64)[:, None]
    new_rate = record.sampling_rate if rate is None else rate
    if new_rate != record.sampling_rate:
        ratio = Fraction(new_rate / record.sampling_rate).limit_denominator(1000)
        moved = signal.resample_poly(
            signals - baselines, ratio.numerator, ratio.denominator, axis=1
        )
        signals = np.rint(moved + baselines).astype(np.int32)
    return replace(
        record,
        sampling_rate=new_rate,
        lead_names=record.lead_names[:count],
        gains=record.gains[:count],
        baselines=record.baselines[:count],
        signals=np.ascontiguousarray(signals),
    )
