"""WFDB records, with the ``wfdb`` package: every signal format it reads (212, 16, 8,
24, 32, 310, 311, the FLAC ones, signals spread over several files), ADC values as
stored (``physical=False``), each lead's gain (``adc_gain`` per the signal's unit) and
baseline, a block at a time (``sampfrom``/``sampto``).

``client.wfdb``, the small numpy reader of formats 212 and 16, stays what ``ecg
simulate``, the tests and the benchmarks read: the server's tests need no pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any, Final

import numpy as np
import wfdb  # type: ignore[import-untyped]
from numpy.typing import NDArray

from client.importing.recording import (
    Reader,
    Recording,
    RecordingError,
    gain_per_mv,
    value_chars,
)

# Bits of a sample by WFDB format (for the JSON size of an upload).
FORMAT_BITS: Final = {
    "8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16,
    "212": 12, "310": 10, "311": 10, "508": 8, "516": 16, "524": 24,
}  # fmt: skip


def open_wfdb(path: Path) -> Recording:
    """The record ``path`` (its .hea, its .dat, or its name without a suffix)."""
    name = path.with_suffix("") if path.suffix.casefold() in (".hea", ".dat") else path
    try:
        header = wfdb.rdheader(str(name))
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: not a readable WFDB record: {exc}") from None
    if isinstance(header, wfdb.MultiRecord) or getattr(header, "seg_name", None):
        raise RecordingError(f"{path}: multi-segment WFDB records are not supported")
    signals = range(header.n_sig or 0)
    if not signals or not header.sig_len:
        raise RecordingError(f"{path}: the record has no samples")
    if any(frames != 1 for frames in header.samps_per_frame):
        raise RecordingError(
            f"{path}: signals at several samples per frame (more than one rate) are not supported"
        )
    gains = [gain_per_mv(header.adc_gain[s], header.units[s] or "") for s in signals]
    notes = [
        f"{path}: signal {header.sig_name[s]!r} has no gain in mV "
        f"(gain {header.adc_gain[s]:g} per {header.units[s] or 'unit'!r}): its mV values stay empty"
        for s in signals
        if gains[s] is None
    ]
    bits = max(FORMAT_BITS.get(str(fmt), 32) for fmt in header.fmt)
    files = {path.parent / str(file_name) for file_name in header.file_name}
    return Recording(
        path=path,
        kind="wfdb",
        files=(name.with_name(name.name + ".hea"), *sorted(files)),
        labels=tuple(str(header.sig_name[s] or "") for s in signals),
        rates=tuple(float(header.fs) for _ in signals),
        lengths=tuple(int(header.sig_len) for _ in signals),
        gains=tuple(gains),
        baselines=tuple(int(header.baseline[s]) for s in signals),
        date=_start(header.base_date, header.base_time),
        value_chars=value_chars(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1),
        reader=_reader(str(name)),
        notes=tuple(notes),
    )


def _reader(name: str) -> Reader:
    def read(rows: Sequence[int], start: int, stop: int) -> NDArray[np.int32]:
        record = wfdb.rdrecord(
            name, sampfrom=start, sampto=stop, channels=list(rows), physical=False, return_res=32
        )
        return np.ascontiguousarray(np.asarray(record.d_signal, dtype=np.int32).T)

    return read


def _start(day: Any, clock: Any) -> datetime | None:
    """The record's start, when its header gives a date (a time alone is not one)."""
    if day is None:
        return None
    return datetime.combine(day, clock if isinstance(clock, time) else time())
