"""Which reader a file takes: by its suffix (``.hea``/``.dat`` or a WFDB record's name
without one, ``.edf``/``.bdf``, ``.csv``), or as ``--format`` says. A reader's library
is imported only for a file that needs it: ``wfdb`` alone takes a second to import,
with pandas, and ``ecg tail`` has no use for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from client.importing.recording import CsvOptions, Recording, RecordingError

FORMATS: Final = ("wfdb", "edf", "csv")
_SUFFIXES: Final = {".hea": "wfdb", ".dat": "wfdb", ".edf": "edf", ".bdf": "edf", ".csv": "csv"}


def open_recording(path: Path, kind: str | None = None, csv: CsvOptions | None = None) -> Recording:
    """``path`` described, not read: WFDB (the record's .hea or .dat, or its name
    without a suffix), EDF/EDF+/BDF, or CSV; ``kind`` when the suffix does not say.
    ``csv`` is for CSV files only: the others give their own rate, gains and baselines."""
    kind = kind or format_of(path)
    if kind == "wfdb":
        from client.importing.wfdb_files import open_wfdb

        return open_wfdb(path)
    if kind == "edf":
        from client.importing.edf_files import open_edf

        return open_edf(path)
    from client.importing.csv_files import open_csv

    return open_csv(path, csv or CsvOptions())


def format_of(path: Path) -> str:
    kind = _SUFFIXES.get(path.suffix.casefold())
    if kind is None and path.with_name(path.name + ".hea").is_file():
        kind = "wfdb"  # a WFDB record named as usual, without a suffix: data/mitdb/100
    if kind is None:
        raise RecordingError(
            f"{path}: cannot tell the format from the name; give --format {'|'.join(FORMATS)}"
        )
    return kind
