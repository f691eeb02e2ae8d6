"""A file to import, as the import sees it whatever its format: its signals' labels,
rates, gains (ADC units per mV) and baselines (the ADC value of 0 mV), its length, its
start, and a reader of blocks of ADC samples; ``Recording.named`` names its leads
(``client.importing.leads``) and leaves out the signals not imported.

The readers (``wfdb_files``, ``edf_files``, ``csv_files``) only describe the file and
read ``[start, stop)`` of the signals asked for, so that a 24-hour Holter is read a
chunk at a time and never whole; ``client.importing.formats`` picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from client.importing.leads import LeadNameError, name_signals

# Physical units per mV, by the unit's name in a file (casefolded): a gain in ADC units
# per physical unit times this is in ADC units per mV.
UNITS_PER_MV: Final = {"mv": 1.0, "uv": 1e3, "µv": 1e3, "μv": 1e3, "nv": 1e6, "v": 1e-3}

# Reads ``[start, stop)`` of the file's signals ``rows``: (len(rows), stop - start).
Reader = Callable[[Sequence[int], int, int], NDArray[np.int32]]


class RecordingError(ValueError):
    """A file that cannot be imported as it is, with what to do about it."""


@dataclass(frozen=True)
class CsvOptions:
    """What a CSV file does not say itself (``client.importing.csv_files``)."""

    sampling_rate: float | None = None
    gain: float | None = None
    baseline: int | None = None


@dataclass(frozen=True, eq=False)
class Recording:
    path: Path
    kind: str  # one of FORMATS
    files: tuple[Path, ...]  # what the import reads: a rerun resumes only while they stay
    labels: tuple[str, ...]  # the file's labels, lead names once ``named``
    rates: tuple[float, ...]  # Hz
    lengths: tuple[int, ...]  # samples
    gains: tuple[float | None, ...]
    baselines: tuple[int | None, ...]
    date: datetime | None  # the recording's start, if the file says
    value_chars: int  # the most characters one sample takes in a JSON array, comma included
    reader: Reader = field(repr=False)
    rows: tuple[int, ...] = ()  # the file's signals imported; all when empty
    notes: tuple[str, ...] = ()  # what the user should know (a gain left out, ...)

    @property
    def sampling_rate(self) -> float:
        return self.rates[0]

    @property
    def samples(self) -> int:
        """Per lead."""
        return self.lengths[0]

    def read(self, start: int, stop: int) -> NDArray[np.int32]:
        """Samples ``[start, stop)`` of every lead, ADC units, one row per lead."""
        return self.reader(self.rows or range(len(self.labels)), start, stop)

    def named(self, given: Sequence[str] | None) -> Recording:
        """This recording with its signals named as leads and those left out dropped."""
        try:
            names = name_signals(self.labels, given)
        except LeadNameError as exc:
            raise RecordingError(f"{self.path}: {exc}") from None
        rows = tuple(index for index, name in enumerate(names) if name is not None)
        rates = {self.rates[row] for row in rows}
        lengths = {self.lengths[row] for row in rows}
        if len(rates) > 1 or len(lengths) > 1:
            described = ", ".join(
                f"{names[row]} {self.rates[row]:g} Hz x {self.lengths[row]}" for row in rows
            )
            raise RecordingError(
                f"{self.path}: the leads differ in rate or length ({described}); an ECG has "
                "one rate: leave the others out with --leads (- skips a signal)"
            )
        return replace(
            self,
            labels=tuple(names[row] or "" for row in rows),
            rates=tuple(self.rates[row] for row in rows),
            lengths=tuple(self.lengths[row] for row in rows),
            gains=tuple(self.gains[row] for row in rows),
            baselines=tuple(self.baselines[row] for row in rows),
            rows=rows,
        )


def gain_per_mv(gain: float, unit: str) -> float | None:
    """A gain in ADC units per ``unit`` as ADC units per mV: None when it is 0 (not
    calibrated) or the unit is not a voltage. Rounded to 10 significant digits, so that
    one gain written in different formats (an EDF header's 8 characters) reads back as
    the same number."""
    scale = UNITS_PER_MV.get(unit.strip().casefold())
    if scale is None or not gain > 0:
        return None
    return float(f"{gain * scale:.10g}")


def value_chars(low: int, high: int) -> int:
    """Characters of the longest of the integers in ``[low, high]`` in a JSON array,
    with its comma."""
    return max(len(str(low)), len(str(high))) + 1
