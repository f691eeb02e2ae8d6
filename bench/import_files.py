"""One recording written as the three kinds of file ``ecg import`` reads, with the same
ADC values, gains and baselines: a WFDB record (format 212, as MIT-BIH's), an EDF+
file and a CSV file (times in s, the leads in mV with 3 decimals: exact at 200 ADC
units per mV). ``tests/unit/client/test_importing*`` and ``tests/e2e/test_import.py``
import them and check that all three give the same ECG; a 24-hour Holter for timing
``ecg import`` is record 100 looped:

    .venv/bin/python -m bench.import_files --hours 24 --format edf /tmp/holter
    make up RUN_DIR=/tmp/import-run && . /tmp/import-run/env
    time .venv/bin/ecg import /tmp/holter.edf --email E --state-dir /tmp/import-state

The EDF header holds each signal's ranges: digital from -2048 to 2047 (format 212's),
physical ``(digital - baseline) / gain`` mV at both ends, so that an EDF reader gets
the record's gain and baseline back (``client.importing.edf_files``).
"""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

import edfio
import numpy as np
import wfdb  # type: ignore[import-untyped]

from bench.records import DATA
from client.wfdb import Record, read_record

DIGITAL_RANGE: Final = (-2048, 2047)  # WFDB format 212
START: Final = datetime.datetime(2024, 5, 1, 10, 0, 0)


def shortened(record: Record, seconds: float) -> Record:
    """The record's first ``seconds``, or the record looped to that length."""
    samples = round(seconds * record.sampling_rate)
    signals = record.signals.take(np.arange(samples), axis=1, mode="wrap")
    return replace(record, signals=np.ascontiguousarray(signals))


def write_wfdb(record: Record, directory: Path, name: str) -> Path:
    """``directory/name``.hea and .dat, format 212: the record's path without a suffix."""
    directory.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        name,
        fs=record.sampling_rate,
        units=["mV"] * len(record.lead_names),
        sig_name=list(record.lead_names),
        d_signal=record.signals.T.astype(np.int64),
        fmt=["212"] * len(record.lead_names),
        adc_gain=list(record.gains),
        baseline=list(record.baselines),
        write_dir=str(directory),
    )
    return directory / name


def write_edf(record: Record, path: Path, labels: Sequence[str] | None = None) -> Path:
    """An EDF+ file of whole seconds of the record (the rest is cut), one data record a
    second, labelled ``ECG <lead>`` unless ``labels`` are given."""
    rate = record.sampling_rate
    samples = int(record.signals.shape[1] // rate * rate)
    signals = []
    for index, name in enumerate(record.lead_names):
        gain, baseline = record.gains[index], record.baselines[index]
        low, high = DIGITAL_RANGE
        signals.append(
            edfio.EdfSignal.from_digital(
                record.signals[index, :samples].astype(np.int16),
                rate,
                label=labels[index] if labels else f"ECG {name}",
                physical_dimension="mV",
                physical_range=((low - baseline) / gain, (high - baseline) / gain),
                digital_range=DIGITAL_RANGE,
            )
        )
    edf = edfio.Edf(
        signals,
        recording=edfio.Recording(startdate=START.date()),
        starttime=START.time(),
        data_record_duration=1,
        annotations=(),  # EDF+C
    )
    edf.write(path)
    return path


def write_csv(record: Record, path: Path, block: int = 1 << 16) -> Path:
    """Times in s (6 decimals) and each lead in mV (3 decimals), a header naming them."""
    gains = np.asarray(record.gains)[:, None]
    baselines = np.asarray(record.baselines)[:, None]
    with path.open("w") as file:
        names = ",".join(f"{name} (mV)" for name in record.lead_names)
        file.write(f"time (s),{names}\n")
        for start in range(0, record.signals.shape[1], block):
            stop = min(start + block, record.signals.shape[1])
            millivolts = (record.signals[:, start:stop] - baselines) / gains
            times = np.arange(start, stop) / record.sampling_rate
            rows = np.vstack([times, millivolts]).T
            formats = ["%.6f", *["%.3f"] * len(record.lead_names)]
            np.savetxt(file, rows, fmt=formats, delimiter=",")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the file's path without a suffix")
    parser.add_argument("--record", type=Path, default=DATA / "mitdb" / "100")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--format", choices=("wfdb", "edf", "csv"), default="edf")
    args = parser.parse_args(argv)
    record = shortened(read_record(args.record), args.hours * 3600)
    if args.format == "wfdb":
        written = write_wfdb(record, args.out.parent, args.out.name).with_suffix(".hea")
    elif args.format == "edf":
        written = write_edf(record, args.out.with_suffix(".edf"))
    else:
        written = write_csv(record, args.out.with_suffix(".csv"))
    print(written)


if __name__ == "__main__":
    main()
