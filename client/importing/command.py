"""``ecg import PATH... --email E``: each file into the pipeline as one ECG, its id
printed on stdout as soon as the gateway has it (one line per file, in order).

    ecg import data/mitdb/100 holter.edf ecg.csv --email E [--password-stdin]
        [--gateway URL] [--format wfdb|edf|csv] [--leads NAME,...] [--date ISO]
        [--sampling-rate HZ] [--gain G] [--baseline B]          (CSV)
        [--max-upload-bytes N] [--chunk-samples N] [--state-dir DIR] [--again]
        [--no-progress]

It logs in as E (the password from stdin's first line with ``--password-stdin``, else
``ECG_PASSWORD``, else asked for on a terminal; never an argument), describes every
file first (so that a bad label in the third file stops the command before the first
is sent), then imports them one after the other with a progress bar on stderr and a
closing line per file (samples, seconds, samples/s). The first failure stops the
command (exit 1): the ids printed so far are the first files'. An interrupted import
(Ctrl-C: exit 130, a lost connection, a killed process) resumes when the same command
runs again; a file already imported is not imported twice: its id is printed again
(``--again`` imports it anew). How each part works: ``client.importing``.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import TextIO

import httpx

from client.importing.formats import FORMATS, open_recording
from client.importing.importer import DEFAULT_MAX_UPLOAD_BYTES, ImportOptions, import_file
from client.importing.recording import CsvOptions, Recording, RecordingError
from client.importing.session import GatewayError, Session
from client.importing.state import StateStore
from client.settings import ClientSettings
from client.simulate import UsageError, _password, positive

DESCRIPTION = (
    "Import WFDB, EDF/EDF+ and CSV files, one ECG each: an upload, or a stream when the file "
    "is larger than an upload may be; an interrupted import resumes when run again. Prints "
    "each ECG's id on stdout."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="a WFDB record (its .hea, or its name: data/mitdb/100), an .edf/.bdf or a .csv file",
    )
    parser.add_argument("--email", required=True, help="the user who owns the ECGs")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin's first line (default: $ECG_PASSWORD)",
    )
    parser.add_argument("--gateway", metavar="URL", help="default: $ECG_GATEWAY_URL or local")
    parser.add_argument(
        "--format", dest="kind", choices=FORMATS, help="of every PATH (default: by its suffix)"
    )
    parser.add_argument(
        "--leads",
        type=_names,
        metavar="NAME,...",
        help="name the file's signals in order (- leaves one out), e.g. MLII,V5 "
        "(default: from the file's labels)",
    )
    parser.add_argument(
        "--date",
        type=_date,
        metavar="ISO",
        help="the recording's start, e.g. 2024-05-01T10:00:00Z (default: the file's, "
        "else its modification time)",
    )
    csv = parser.add_argument_group("CSV files")
    csv.add_argument(
        "--sampling-rate",
        type=positive(float),
        metavar="HZ",
        help="the rate (default: from a column of times)",
    )
    csv.add_argument(
        "--gain",
        type=positive(float),
        metavar="G",
        help="ADC units per mV: the scale of columns in ADC units, the quantisation of "
        "columns in mV (needed for them)",
    )
    csv.add_argument("--baseline", type=int, metavar="B", help="the ADC value of 0 mV")
    parser.add_argument(
        "--max-upload-bytes",
        type=_non_negative,
        default=DEFAULT_MAX_UPLOAD_BYTES,
        metavar="N",
        help="the gateway's ECG_MAX_BODY_BYTES: a larger file goes as a stream; 0 streams "
        "every file (default: 64 MiB)",
    )
    parser.add_argument(
        "--chunk-samples",
        type=positive(int),
        metavar="N",
        help="samples per lead in a stream's chunk (default: 65536 / leads, the most "
        "the gateway's default ECG_CHUNK_BYTES takes)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where the imports' state is kept (default: $XDG_STATE_HOME/ecg-pipeline/imports)",
    )
    parser.add_argument(
        "--again", action="store_true", help="import files already imported once more"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(
    args: argparse.Namespace,
    settings: ClientSettings,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``ecg import``: 0 when every file was imported."""
    try:
        state_dir = args.state_dir or settings.import_state_dir
        if state_dir is None:
            raise UsageError("no home directory to keep the imports' state in: give --state-dir")
        csv = CsvOptions(args.sampling_rate, args.gain, args.baseline)
        recordings = [open_recording(path, args.kind, csv).named(args.leads) for path in args.paths]
        if csv != CsvOptions() and all(r.kind != "csv" for r in recordings):
            raise UsageError(
                "--sampling-rate, --gain and --baseline are for CSV files; WFDB and EDF "
                "files give their own"
            )
        password = _password(args.password_stdin, args.email, stdin, settings.password)
        options = ImportOptions(
            gateway_url=args.gateway or settings.gateway_url,
            email=args.email,
            date=args.date,
            max_upload_bytes=args.max_upload_bytes,
            chunk_samples=args.chunk_samples,
            again=args.again,
            progress=not args.no_progress,
        )
        store = StateStore(state_dir)
        asyncio.run(import_files(recordings, options, password, store, stdout, stderr))
    except (UsageError, RecordingError, GatewayError, OSError) as exc:
        print(f"ecg import: {exc}", file=stderr)
        return 1
    except KeyboardInterrupt:
        print("ecg import: interrupted; run the same command again to resume", file=stderr)
        return 130
    return 0


async def import_files(
    recordings: list[Recording],
    options: ImportOptions,
    password: str,
    store: StateStore,
    stdout: TextIO,
    stderr: TextIO,
) -> None:
    timeout = httpx.Timeout(120.0, connect=10.0)  # an upload of 64 MiB is published first
    async with httpx.AsyncClient(base_url=options.gateway_url, timeout=timeout) as http:
        session = Session(http, options.email, password)
        await session.log_in()
        for recording in recordings:
            for note in recording.notes:
                print(note, file=stderr)
            await import_file(recording, session, store, options, stdout, stderr)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date, e.g. 2024-05-01T10:00:00Z, got {text!r}"
        ) from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or above, got {text}")
    return value
