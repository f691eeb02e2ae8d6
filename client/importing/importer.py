"""One file's import: as one upload when its JSON body fits the gateway's limit, else
as a stream; resumed from its state when an earlier run was interrupted; skipped, with
its id printed again, when an earlier run finished it.

**Upload or stream.** The upload body is bounded before anything is read: samples x
leads x the widest sample the format can hold (``Recording.value_chars``; 7 characters
for a 16-bit EDF, 6 for WFDB format 212). Up to ``max_upload_bytes`` (64 MiB, the
gateway's default ``ECG_MAX_BODY_BYTES``) the file goes as ``POST /api/v1/ecg/``, one
request, with each lead's gain and baseline; a ``413`` (a gateway configured lower)
turns it into a stream. Above it (2 leads of format 212 at 360 Hz past about 4 hours,
12 leads of 16-bit EDF at 500 Hz past about 27 minutes) it goes as a stream, in chunks
of ``chunk_samples`` per lead (by default the most the gateway takes at its default
``ECG_CHUNK_BYTES``: 65,536 / leads), read from the file one chunk at a time.

**A stream carries the gains and baselines** in its opening's lead objects, as an
upload does: a streamed ECG has the same mV values and quality checks as an upload of
the same file.

**The id** is chosen by the client (a UUID), kept in the state before the first
request, and printed on stdout as soon as the gateway has the ECG (an upload's ``202``,
a stream's opening), one line per file, also when a rerun resumes or skips it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Never, TextIO
from uuid import uuid4

from tqdm import tqdm

from client.importing.recording import Recording
from client.importing.session import GatewayError, Session
from client.importing.state import STREAM, UPLOAD, ImportState, StateStore
from client.importing.streaming import (
    CLOSED,
    EXISTS_TYPE,
    RECEIVING,
    StreamClosedError,
    iso_date,
    open_stream,
    send_chunks,
    status_of,
)

MIB: Final = 1 << 20
DEFAULT_MAX_UPLOAD_BYTES: Final = 64 * MIB  # the gateway's default ECG_MAX_BODY_BYTES
CHUNK_VALUES: Final = 65_536  # samples x leads in a chunk: the default ECG_CHUNK_BYTES / 4
UPLOAD_BLOCK: Final = 1 << 20  # samples per lead read at a time for an upload body


@dataclass(frozen=True)
class ImportOptions:
    gateway_url: str
    email: str
    date: datetime | None = None  # None: the file's start, else its modification time
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES  # 0: stream every file
    chunk_samples: int | None = None  # per lead; None: CHUNK_VALUES // leads
    again: bool = False  # import a file again even though it was imported
    progress: bool = True


async def import_file(
    recording: Recording,
    session: Session,
    store: StateStore,
    options: ImportOptions,
    stdout: TextIO,
    stderr: TextIO,
) -> str:
    """Import ``recording`` (its leads named); its ECG id."""
    run = _Run(recording, session, store, options, stdout, stderr)
    return await run.import_file()


class _Run:
    """One file's import in one run of the command."""

    def __init__(
        self,
        recording: Recording,
        session: Session,
        store: StateStore,
        options: ImportOptions,
        stdout: TextIO,
        stderr: TextIO,
    ) -> None:
        self.recording = recording
        self.session = session
        self.store = store
        self.options = options
        self.stdout = stdout
        self.stderr = stderr
        self.key = store.key(_identity(recording, options))
        self.sent = 0  # samples per lead sent in this run

    async def import_file(self) -> str:
        state = None if self.options.again else self.store.load(self.key)
        if state is not None and state.done:
            if await _exists(self.session, state.ecg_id):
                self.note(f"imported before as ECG {state.ecg_id}")
                self.print_id(state.ecg_id)
                return state.ecg_id
            self.note(f"ECG {state.ecg_id} of an earlier import is gone; importing anew")
            state = None
        if state is None:
            state = self.new_state()
        started = time.monotonic()
        with _progress_bar(self.recording, self.options, self.stderr) as bar:
            if state.transport == UPLOAD and await self.upload(state, bar):
                self.print_id(state.ecg_id)
            elif state.transport == UPLOAD:
                self.note("too large for the gateway's uploads: streaming it")
                state = self.save(replace(state, transport=STREAM))
            if state.transport == STREAM:
                state = await self.stream(state, bar)
        self.save(replace(state, done=True))
        self.report(state, time.monotonic() - started)
        return state.ecg_id

    def new_state(self, transport: str | None = None) -> ImportState:
        chosen, chunk_samples = plan(self.recording, self.options)
        state = ImportState(
            str(uuid4()), transport or chosen, chunk_samples, path=str(self.recording.path)
        )
        return self.save(state)

    async def upload(self, state: ImportState, bar: tqdm[Never]) -> bool:
        """Whether the gateway has the ECG; False when the body is too large for it."""
        recording, options = self.recording, self.options
        body = upload_body(recording, state.ecg_id, start_date(recording, options), bar.update)
        if len(body) > options.max_upload_bytes:
            return False
        headers = {"Content-Type": "application/json"}
        answer = await self.session.request("POST", "/api/v1/ecg/", content=body, headers=headers)
        if answer.status == 413:
            return False
        if answer.status == 409 and answer.problem_type == EXISTS_TYPE:
            await status_of(self.session, state.ecg_id)  # an earlier run's upload: ours
        elif answer.status != 202:
            raise GatewayError(f"{recording.path}: the upload was refused: {answer.problem}")
        self.sent = recording.samples
        return True

    async def stream(self, state: ImportState, bar: tqdm[Never]) -> ImportState:
        recording = self.recording
        date = start_date(recording, self.options)
        token, status = await open_stream(self.session, recording, state.ecg_id, date)
        if status == CLOSED:
            self.note(
                f"ECG {state.ecg_id} was closed by the pipeline after its idle timeout, "
                "before this run could resume it; importing the file anew"
            )
            state = self.new_state(STREAM)
            token, status = await open_stream(self.session, recording, state.ecg_id, date)
        self.print_id(state.ecg_id)
        if status != RECEIVING:
            self.note(f"an earlier run sent all of ECG {state.ecg_id}")
            return state
        if token is None:
            self.note(f"resuming ECG {state.ecg_id} at chunk {state.next_seq}")
        leads, first = len(recording.labels), state.next_seq
        current = state

        def acknowledged(seq: int) -> None:
            nonlocal current
            current = self.save(replace(current, next_seq=seq))
            done = min(seq * current.chunk_samples, recording.samples)
            self.sent = done - min(first * current.chunk_samples, recording.samples)
            bar.update(done * leads - bar.n)

        acknowledged(first)
        try:
            await send_chunks(
                self.session,
                recording,
                state.ecg_id,
                token,
                state.chunk_samples,
                first,
                acknowledged,
            )
        except StreamClosedError:
            self.store.forget(self.key)
            raise GatewayError(
                f"{recording.path}: the pipeline closed ECG {state.ecg_id} after its idle "
                "timeout while it was imported; run the import again to import the file anew"
            ) from None
        return current

    def save(self, state: ImportState) -> ImportState:
        self.store.save(self.key, state)
        return state

    def note(self, text: str) -> None:
        """A line on stderr, above the progress bar."""
        tqdm.write(f"{self.recording.path}: {text}", file=self.stderr)

    def print_id(self, ecg_id: str) -> None:
        print(ecg_id, file=self.stdout, flush=True)

    def report(self, state: ImportState, seconds: float) -> None:
        recording, leads = self.recording, len(self.recording.labels)
        how = "one upload" if state.transport == UPLOAD else f"{state.chunk_samples}-sample chunks"
        rate = self.sent * leads / seconds if seconds > 0 else 0.0
        self.note(
            f"ECG {state.ecg_id}: {self.sent:,} samples x {leads} leads "
            f"({self.sent / recording.sampling_rate:,.0f} s of signal) as {how} in "
            f"{seconds:.1f} s: {rate:,.0f} samples/s"
        )


def plan(recording: Recording, options: ImportOptions) -> tuple[str, int]:
    """Upload or stream, and a stream's samples per lead in a chunk."""
    leads = len(recording.labels)
    body = recording.samples * leads * recording.value_chars + 200 * leads + 200
    transport = UPLOAD if body <= options.max_upload_bytes else STREAM
    return transport, options.chunk_samples or max(1, CHUNK_VALUES // leads)


def _identity(recording: Recording, options: ImportOptions) -> dict[str, object]:
    """What makes a rerun the same import (``client.importing.state``)."""
    files = []
    for path in recording.files:
        status = path.stat()
        files.append((str(path.resolve()), status.st_size, status.st_mtime_ns))
    return {
        "gateway": options.gateway_url.rstrip("/"),
        "user": options.email.casefold(),
        "files": files,
        "leads": recording.labels,
        "rate": recording.sampling_rate,
        "gains": recording.gains,
        "baselines": recording.baselines,
        "date": options.date,
    }


def upload_body(
    recording: Recording, ecg_id: str, date: datetime, advance: Callable[[int], object]
) -> bytes:
    """The JSON body of ``POST /api/v1/ecg/``, written lead by lead from blocks read
    across the leads (the file is read once)."""
    texts: list[list[str]] = [[] for _ in recording.labels]
    for start in range(0, recording.samples, UPLOAD_BLOCK):
        block = recording.read(start, min(start + UPLOAD_BLOCK, recording.samples))
        for lead, row in enumerate(block):
            texts[lead].append(",".join(map(str, row.tolist())))
        advance(block.size)
    leads = []
    for lead, name in enumerate(recording.labels):
        described = {"name": name, "number_of_samples": recording.samples}
        for field, value in (
            ("gain", recording.gains[lead]),
            ("baseline", recording.baselines[lead]),
        ):
            if value is not None:
                described[field] = value
        head = json.dumps(described)[:-1]
        leads.append(f'{head}, "signal": [{",".join(texts[lead])}]}}')
        texts[lead] = []
    header = {"id": ecg_id, "date": iso_date(date), "sampling_rate": recording.sampling_rate}
    return f'{json.dumps(header)[:-1]}, "leads": [{", ".join(leads)}]}}'.encode()


def start_date(recording: Recording, options: ImportOptions) -> datetime:
    """``--date``, else the recording's start, else its file's modification time."""
    if options.date is not None:
        return options.date
    if recording.date is not None:
        return recording.date
    return datetime.fromtimestamp(recording.files[0].stat().st_mtime, UTC)


async def _exists(session: Session, ecg_id: str) -> bool:
    answer = await session.request("GET", f"/api/v1/ecg/{ecg_id}")
    if answer.status not in (200, 404):
        raise GatewayError(f"looking up ECG {ecg_id} failed: {answer.problem}")
    return answer.status == 200


def _progress_bar(recording: Recording, options: ImportOptions, stderr: TextIO) -> tqdm[Never]:
    return tqdm(
        total=recording.samples * len(recording.labels),
        desc=recording.path.name,
        unit=" samples",
        unit_scale=True,
        file=stderr,
        disable=not options.progress,
        mininterval=0.5,
        dynamic_ncols=True,
    )
