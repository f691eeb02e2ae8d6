"""EDF, EDF+ (continuous) and BDF files, with ``edfio``: each signal's digital values
as stored, read a block at a time from a lazily loaded file (``get_digital_slice``;
BDF files, which edfio reads only whole, are read whole).

EDF maps digital to physical values linearly, ``digital_min -> physical_min`` and
``digital_max -> physical_max``, so a signal's gain is ``(digital_max - digital_min) /
(physical_max - physical_min)`` ADC units per physical unit, taken to per mV by its
physical dimension (uV, mV, V), and its baseline, the digital value of 0, is
``digital_min - physical_min x gain``, rounded to an integer as the gateway takes it
(an EDF writer that started from ADC values, as one converting a WFDB record, chooses
the ranges so that it is one; otherwise the rounding moves the mV values by less than
half an ADC unit). EDF+ annotations are not imported; discontinuous EDF+ (EDF+D),
whose data records have gaps between them, is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import edfio
import numpy as np
from numpy.typing import NDArray

from client.importing.recording import (
    Reader,
    Recording,
    RecordingError,
    gain_per_mv,
    value_chars,
)

Signal = edfio.EdfSignal | edfio.BdfSignal


def open_edf(path: Path) -> Recording:
    edf = _read(path)
    if edf.reserved.startswith(("EDF+D", "BDF+D")):
        raise RecordingError(
            f"{path}: discontinuous EDF+ (EDF+D): its data records have gaps, which an "
            "ECG cannot hold"
        )
    signals: Sequence[Signal] = edf.signals
    if not signals or not edf.num_data_records:
        raise RecordingError(f"{path}: the file has no signal samples")
    scales = [_scale(signal) for signal in signals]
    notes = [
        f"{path}: signal {signal.label!r} has no gain in mV (physical dimension "
        f"{signal.physical_dimension!r}): its mV values stay empty"
        for signal, (gain, _) in zip(signals, scales, strict=True)
        if gain is None
    ]
    date, date_notes = _start(edf)
    return Recording(
        path=path,
        kind="edf",
        files=(path,),
        labels=tuple(signal.label for signal in signals),
        rates=tuple(float(signal.sampling_frequency) for signal in signals),
        lengths=tuple(edf.num_data_records * signal.samples_per_data_record for signal in signals),
        gains=tuple(gain for gain, _ in scales),
        baselines=tuple(baseline for _, baseline in scales),
        date=date,
        value_chars=max(value_chars(s.digital_min, s.digital_max) for s in signals),
        reader=_reader(signals),
        notes=(*notes, *(f"{path}: {note}" for note in date_notes)),
    )


def _read(path: Path) -> edfio.Edf | edfio.Bdf:
    try:
        if path.suffix.casefold() == ".bdf":
            return edfio.read_bdf(path)
        return edfio.read_edf(path, lazy_load_data=True)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: not a readable EDF file: {exc}") from None


def _scale(signal: Signal) -> tuple[float | None, int | None]:
    """The signal's gain (ADC units per mV) and baseline; None without a calibration."""
    digital = signal.digital_max - signal.digital_min
    physical = signal.physical_max - signal.physical_min
    if digital == 0 or physical == 0:
        return None, None
    per_unit = digital / physical
    baseline = round(signal.digital_min - signal.physical_min * per_unit)
    return gain_per_mv(per_unit, signal.physical_dimension), baseline


def _start(edf: edfio.Edf | edfio.Bdf) -> tuple[datetime | None, list[str]]:
    """The recording's start (None when the file's date is anonymised), and edfio's
    warnings about it (two start dates that differ)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start: datetime | None = edf.startdatetime
        except edfio.AnonymizedDateError:
            start = None
    return start, [str(warning.message) for warning in caught]


def _reader(signals: Sequence[Signal]) -> Reader:
    def read(rows: Sequence[int], start: int, stop: int) -> NDArray[np.int32]:
        block = np.empty((len(rows), stop - start), dtype=np.int32)
        for out, row in enumerate(rows):
            signal = signals[row]
            rate = signal.sampling_frequency
            block[out] = signal.get_digital_slice(start / rate, stop / rate)
        return block

    return read
