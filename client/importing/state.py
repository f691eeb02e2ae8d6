"""Where an import stands, kept so that an interrupted ``ecg import`` resumes when the
same command runs again.

One small JSON file per import, in the state directory (``--state-dir``, by default
``$XDG_STATE_HOME/ecg-pipeline/imports``, i.e. ``~/.local/state/...``; the data's own
folder may be read-only, and is no place for another file): the ECG's id, whether it
goes as one upload or as a stream, the stream's chunk size and the next chunk to send,
and whether it is done. Its name is a hash of what makes it the same import: the
gateway, the user, each file's path, size and modification time, and the options that
change what is sent. Change any of them and the import is a new one; the old file stays
until its import is run again to its end.

No secret is kept: a resumed stream is written with the owner's access token, from the
login every run makes, and not with the stream's ingest token. The files are still the
user's alone (mode 0600 in a 0700 directory): they tell which recordings went where. A
file is written whole under a temporary name and renamed over the old one, so an
interruption leaves the old state or the new, never half of one. It is written after
every acknowledged chunk; when it lags (killed between an ack and the write), the next
run sends that chunk again, which the gateway acknowledges without taking it twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

UPLOAD: Final = "upload"
STREAM: Final = "stream"


@dataclass(frozen=True)
class ImportState:
    ecg_id: str
    transport: str  # UPLOAD or STREAM
    chunk_samples: int  # per lead, for a stream: the same cut on every run
    next_seq: int = 0  # the first chunk not known to be acknowledged
    done: bool = False
    path: str = ""  # for whoever reads the file


class StateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def key(self, identity: Any) -> str:
        """The name of the state of the import that ``identity`` (JSON values) describes."""
        text = json.dumps(identity, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def load(self, key: str) -> ImportState | None:
        """The state kept under ``key``; None when there is none, or none readable."""
        try:
            document = json.loads(self._path(key).read_text())
            return ImportState(**document)
        except (OSError, ValueError, TypeError):
            return None

    def save(self, key: str, state: ImportState) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self._path(key)
        temporary = final.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(asdict(state), file)
        os.replace(temporary, final)

    def forget(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"
