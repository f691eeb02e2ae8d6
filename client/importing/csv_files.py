"""CSV files: a header row naming the columns, then one row per sample; a column per
lead, and optionally one of times.

- Separator: ``,``, ``;`` or a tab, whichever the header row uses. Names may be
  quoted; a name may carry its unit in parentheses or brackets: ``MLII (mV)``.
- A column named ``time``, ``t``, ``seconds``, ``sec`` or ``elapsed time`` holds each
  row's time, in seconds (or in ``ms`` when its unit says so). Every other column is a
  lead, named as in ``client.importing.leads``.
- The sampling rate is ``--sampling-rate``, else ``(rows - 1) / (last time - first
  time)``, taken to the nearest whole Hz when the times' decimals cannot tell the two
  apart (times written to 6 decimals at 360 Hz). While reading, each time must follow
  the one before by one period, within half a period (or the times' last decimal): a
  missing row is an error, not a shifted signal.
- A lead column **without a unit holds ADC units**: integers, imported as they are, with
  ``--gain`` (ADC units per mV) and ``--baseline`` (the ADC value of 0 mV) as their
  scale when given. A column **with a unit** (mV, uV, V) holds physical values, which
  the gateway cannot take: they are quantised as ``round(value in mV x gain) +
  baseline`` with ``--gain`` (required) and ``--baseline`` (0 by default). So a CSV
  written from a WFDB record in mV, with enough decimals for its gain (3 for 200 units
  per mV), imports with that record's ``--gain`` and ``--baseline`` to the very same
  ADC values; the same CSV in ADC units needs them only for its mV results.

The file is read a block of rows at a time (``numpy.loadtxt``), in order; the length
comes from one pass counting its lines.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np
from numpy.typing import NDArray

from client.importing.recording import (
    UNITS_PER_MV,
    CsvOptions,
    Recording,
    RecordingError,
    value_chars,
)

TIME_NAMES: Final = frozenset({"time", "t", "seconds", "sec", "elapsed time"})
TIME_UNITS: Final = {"s": 1.0, "sec": 1.0, "seconds": 1.0, "ms": 1e-3}
SEPARATORS: Final = ",;\t"
_UNIT: Final = re.compile(r"^(.*?)\s*[(\[]\s*([^)\]]*?)\s*[)\]]$")
INT32: Final = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class Column:
    name: str
    unit: str  # "" when the header gives none


@dataclass(frozen=True)
class Layout:
    """What the header and the first and last rows say."""

    separator: str
    columns: tuple[Column, ...]
    time_column: int | None
    data_offset: int  # bytes before the first data row
    rows: int
    first: list[str]
    last: list[str]


def open_csv(path: Path, options: CsvOptions) -> Recording:
    layout = _layout(path)
    leads = [i for i in range(len(layout.columns)) if i != layout.time_column]
    if not leads:
        raise RecordingError(f"{path}: no column besides the times")
    rate, time_scale = _rate(path, layout, options.sampling_rate)
    factors: list[float | None] = []
    for index in leads:
        column = layout.columns[index]
        if not column.unit:
            factors.append(None)
            continue
        per_mv = UNITS_PER_MV.get(column.unit.casefold())
        if per_mv is None:
            raise RecordingError(
                f"{path}: column {column.name!r} is in {column.unit!r}; a lead column is in "
                "mV, uV or V, or without a unit in ADC units"
            )
        if options.gain is None:
            raise RecordingError(
                f"{path}: column {column.name!r} holds {column.unit}, which is quantised to "
                "ADC units: give --gain (ADC units per mV), e.g. the recorder's or 1000 "
                "for steps of 1 uV, and --baseline if 0 mV is not ADC 0"
            )
        factors.append(options.gain / per_mv)
    any_physical = any(factor is not None for factor in factors)
    blocks = _Blocks(path, layout, factors, options.baseline or 0)
    if layout.time_column is not None and options.sampling_rate is None:
        blocks.check_times(rate, time_scale, _resolution(layout) * time_scale)
    return Recording(
        path=path,
        kind="csv",
        files=(path,),
        labels=tuple(layout.columns[i].name for i in leads),
        rates=tuple(rate for _ in leads),
        lengths=tuple(layout.rows for _ in leads),
        gains=tuple(None if options.gain is None else float(options.gain) for _ in leads),
        baselines=tuple(
            (options.baseline or 0) if any_physical else options.baseline for _ in leads
        ),
        date=None,
        value_chars=value_chars(*INT32),
        reader=blocks.read,
    )


def _layout(path: Path) -> Layout:
    try:
        with path.open("rb") as file:
            header = file.readline().decode("utf-8-sig").strip()
            data_offset = file.tell()
            first_line = file.readline().decode()
            rows, last_line = _count_rows(file, data_offset)
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not a UTF-8 text file: {exc}") from None
    separator = max(SEPARATORS, key=header.count)
    names = next(csv.reader([header], delimiter=separator))
    columns = tuple(_column(name) for name in names)
    if rows == 0:
        raise RecordingError(f"{path}: a header row and no rows of samples")
    times = [i for i, column in enumerate(columns) if column.name.casefold() in TIME_NAMES]
    return Layout(
        separator=separator,
        columns=columns,
        time_column=times[0] if times else None,
        data_offset=data_offset,
        rows=rows,
        first=_fields(first_line, separator),
        last=_fields(last_line, separator),
    )


def _count_rows(file: BinaryIO, data_offset: int) -> tuple[int, str]:
    """Rows after the header (blank lines at the end not counted), and the last one."""
    file.seek(data_offset)
    newlines = 0
    while block := file.read(1 << 20):
        newlines += block.count(b"\n")
    size = file.tell()
    file.seek(max(data_offset, size - (1 << 16)))
    tail: bytes = file.read()
    stripped = tail.rstrip()
    if not stripped and size - data_offset <= 1 << 16:
        return 0, ""
    rows = newlines - tail[len(stripped) :].count(b"\n") + 1
    return rows, stripped.rsplit(b"\n", 1)[-1].decode()


def _column(text: str) -> Column:
    text = text.strip().strip("'\"").strip()
    match = _UNIT.match(text)
    if match is None:
        return Column(text, "")
    return Column(match.group(1).strip().strip("'\""), match.group(2).strip("'\""))


def _fields(line: str, separator: str) -> list[str]:
    return [field.strip() for field in line.strip().split(separator)]


def _rate(path: Path, layout: Layout, given: float | None) -> tuple[float, float]:
    """The sampling rate, and the time column's seconds per unit."""
    column = None if layout.time_column is None else layout.columns[layout.time_column]
    scale = TIME_UNITS.get((column.unit if column else "").casefold() or "s")
    if column is not None and scale is None:
        raise RecordingError(f"{path}: the times are in {column.unit!r}; give them in s or ms")
    if given is not None:
        return given, scale or 1.0
    if layout.time_column is None or scale is None:
        raise RecordingError(
            f"{path}: no column of times (time, in s); give the rate with --sampling-rate HZ"
        )
    try:
        first = float(layout.first[layout.time_column]) * scale
        last = float(layout.last[layout.time_column]) * scale
    except (ValueError, IndexError):
        raise RecordingError(f"{path}: the first or last row has no time") from None
    if layout.rows < 2 or not last > first:
        raise RecordingError(
            f"{path}: the times do not increase; give the rate with --sampling-rate HZ"
        )
    rate = (layout.rows - 1) / (last - first)
    # The first and last times are each off by up to half their last decimal.
    slack = rate * _resolution(layout) * scale / (last - first)
    whole = round(rate)
    return (float(whole) if abs(whole - rate) <= slack else float(f"{rate:.6g}")), scale


def _resolution(layout: Layout) -> float:
    """The times' last decimal (in their unit)."""
    assert layout.time_column is not None  # nosec B101
    texts = (layout.first[layout.time_column], layout.last[layout.time_column])
    decimals = max(len(text.partition(".")[2]) for text in texts)
    return 10.0**-decimals


class _Blocks:
    """Reads rows ``[start, stop)``: from where the last read stopped (the byte offset
    kept), else by skipping rows from the first. The file is open only while it reads."""

    def __init__(
        self, path: Path, layout: Layout, factors: Sequence[float | None], baseline: int
    ) -> None:
        self._path = path
        self._layout = layout
        self._factors = factors
        self._baseline = baseline
        self._offsets = {0: layout.data_offset}  # row -> byte offset
        self._times: tuple[int, float, float, float] | None = None
        self._last_time: dict[int, float] = {}  # the last row read -> its time (s)
        self._leads = [i for i in range(len(layout.columns)) if i != layout.time_column]

    def check_times(self, rate: float, scale: float, resolution: float) -> None:
        """Check each row's time against ``rate``: one period after the row before,
        within half a period or the times' last decimal (``resolution``, in s)."""
        assert self._layout.time_column is not None  # nosec B101
        self._times = (self._layout.time_column, rate, scale, max(0.5 / rate, resolution))

    def read(self, rows: Sequence[int], start: int, stop: int) -> NDArray[np.int32]:
        values = self._parse(start, stop)
        if self._times is not None:
            self._check(values, start)
        block = np.empty((len(rows), stop - start), dtype=np.int32)
        for out, row in enumerate(rows):
            column = values[:, self._leads[row]]
            factor = self._factors[row]
            if factor is None:
                fraction = np.flatnonzero(column != np.rint(column))
                if fraction.size:
                    raise RecordingError(
                        f"{self._path}: row {start + int(fraction[0]) + 2}: "
                        f"{column[fraction[0]]:g} in column "
                        f"{self._layout.columns[self._leads[row]].name!r} is not an integer; "
                        "a column without a unit holds ADC units: write its unit in the "
                        "header, e.g. 'MLII (mV)', and give --gain"
                    )
            else:
                column = np.rint(column * factor) + self._baseline
            if column.size and (column.min() < INT32[0] or column.max() > INT32[1]):
                raise RecordingError(f"{self._path}: a value beyond 32-bit ADC units")
            block[out] = column
        return block

    def _parse(self, start: int, stop: int) -> NDArray[np.float64]:
        with self._path.open("rb") as file:
            known = start if start in self._offsets else 0
            file.seek(self._offsets[known])
            lines = itertools.islice(file, start - known, stop - known)
            data = b"".join(lines)
            self._offsets = {0: self._layout.data_offset, stop: file.tell()}
        width = len(self._layout.columns)
        try:  # a UnicodeDecodeError is a ValueError
            values = np.loadtxt(
                data.decode().splitlines(),
                delimiter=self._layout.separator,
                comments=None,
                ndmin=2,
                dtype=np.float64,
            )
        except ValueError as exc:
            raise RecordingError(f"{self._path}: rows {start + 2}-{stop + 1}: {exc}") from None
        if values.shape != (stop - start, width):
            raise RecordingError(
                f"{self._path}: rows {start + 2}-{stop + 1}: expected {stop - start} rows "
                f"of {width} values, got {values.shape[0]} rows of {values.shape[-1]}"
            )
        return values

    def _check(self, values: NDArray[np.float64], start: int) -> None:
        """Each row's time one period after the one before it, within the tolerance."""
        assert self._times is not None  # nosec B101
        column, rate, scale, tolerance = self._times
        times = values[:, column] * scale
        origin = float(self._layout.first[column]) * scale
        before = self._last_time.get(start - 1, origin + (start - 1) / rate)
        steps = np.diff(times, prepend=before)
        if start == 0:
            steps[0] = 1 / rate
        off = np.flatnonzero(np.abs(steps - 1 / rate) > tolerance)
        if off.size:
            row = start + int(off[0])
            raise RecordingError(
                f"{self._path}: row {row + 2}: time {times[off[0]] / scale:g} is "
                f"{steps[off[0]]:g} s after the row before, not 1/{rate:g} Hz: a row is "
                "missing or the times are irregular"
            )
        self._last_time = {start + times.size - 1: float(times[-1])}
