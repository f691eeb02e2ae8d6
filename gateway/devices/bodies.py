"""The bodies of a stream: the opening and each chunk, checked like an upload (every
broken rule reported, with its field path, in one 422; unknown fields are errors).

- opening: ``date`` (required), ``leads`` (required: a non-empty array of lead names,
  see ``gateway.leads``, no duplicates), ``sampling_rate`` (optional, 0 < Hz <= 100000)
  and ``id`` (optional UUID), with the rules of ``gateway.recordings.bodies``;
- chunk: ``seq`` (required integer >= 0) and ``signal`` (required: one array of samples
  per lead, in the order the opening declared; each a non-empty array of JSON integers
  in the signed 32-bit range, all of the same length, at most ``max_samples``).

Equal lengths keep every chunk of a stream at one ``start_sample`` for all leads, and
``max_samples`` keeps one chunk within one Kafka message (``ECG_CHUNK_BYTES``).

A chunk may also come as bytes (``application/octet-stream``, and WebSocket binary
frames), for devices too small to write JSON. Format version 1:

- a 12-byte header: bytes 0-1 the ASCII magic ``EC``; byte 2 the format version, 1;
  byte 3 the sample width in bytes, 2 (int16) or 4 (int32); bytes 4-11 ``seq``, unsigned
  64-bit little-endian, at most 2**63 - 1 (an Avro long);
- then the samples, signed little-endian integers of that width, interleaved by sample
  in the order the opening declared the leads: sample 0 of lead 0, sample 0 of lead 1,
  ..., sample 1 of lead 0, ... The payload is a non-zero whole number of samples
  (width x leads bytes each), at most ``max_samples`` per lead, as for JSON.

Interleaving is what a recorder's ADC loop writes naturally; the width is per chunk, so
a device sends int16 while its values fit and int32 when they do not. The magic and the
version are read first: when they are wrong nothing else of the body can be trusted,
so they are the only problem reported.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID, uuid4

import numpy as np
from numpy.typing import NDArray

from gateway.errors import describe
from gateway.fields import Findings, check_fields, ecg_header, lead_name
from gateway.signals import SignalError, to_signal

OPENING_FIELDS: Final = ("id", "date", "sampling_rate", "leads")
CHUNK_FIELDS: Final = ("seq", "signal")
MAX_SEQ: Final = 2**63 - 1  # an Avro long

BINARY_HEADER: Final = struct.Struct("<2sBBQ")  # magic, version, sample width, seq
BINARY_MAGIC: Final = b"EC"
BINARY_VERSION: Final = 1
BINARY_DTYPES: Final = {2: "<i2", 4: "<i4"}  # numpy dtypes by sample width


@dataclass(frozen=True)
class StreamOpening:
    id: UUID
    date: datetime
    sampling_rate: float | None
    leads: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class StreamChunk:
    seq: int
    signals: tuple[NDArray[np.int32], ...]

    @property
    def number_of_samples(self) -> int:
        """Samples per lead (every lead has as many)."""
        return int(self.signals[0].size)


def validate_opening(
    document: Mapping[str, Any], new_id: Callable[[], UUID] = uuid4
) -> StreamOpening:
    found = Findings()
    check_fields(document, "", OPENING_FIELDS, found)
    ecg_id, date, sampling_rate = ecg_header(document, found)
    leads = _lead_names(document.get("leads"), found)
    found.raise_if_any()
    assert date is not None
    return StreamOpening(
        id=new_id() if ecg_id is None else ecg_id,
        date=date,
        sampling_rate=sampling_rate,
        leads=tuple(leads),
    )


def validate_chunk(
    document: Mapping[str, Any], leads: Sequence[str], max_samples: int
) -> StreamChunk:
    """The chunk of a stream of ``leads``, with at most ``max_samples`` per lead."""
    found = Findings()
    check_fields(document, "", CHUNK_FIELDS, found)
    seq = _seq(document.get("seq"), found)
    signals = _signals(document.get("signal"), leads, max_samples, found)
    found.raise_if_any()
    assert seq is not None
    assert signals is not None
    return StreamChunk(seq, signals)


def parse_binary_chunk(
    data: bytes | bytearray, leads: Sequence[str], max_samples: int
) -> StreamChunk:
    """The binary chunk ``data`` (format in the module docstring) of a stream of ``leads``,
    with at most ``max_samples`` per lead: the same ``StreamChunk`` as ``validate_chunk``
    gives for the same samples in JSON, each lead one contiguous int32 array."""
    found = Findings()
    width, seq = _binary_header(data, found)
    signals = None if width is None else _interleaved(data, width, leads, max_samples, found)
    found.raise_if_any()
    assert seq is not None
    assert signals is not None
    return StreamChunk(seq, signals)


def _binary_header(data: bytes | bytearray, found: Findings) -> tuple[int | None, int | None]:
    """The sample width and the seq of the header, each None when it is wrong."""
    if len(data) < BINARY_HEADER.size:
        found.add(
            "header",
            f"the body has {_count(len(data), 'byte')}; a binary chunk starts with a "
            f"{BINARY_HEADER.size}-byte header: the magic 'EC', the version {BINARY_VERSION}, "
            "the sample width and the seq",
        )
        return None, None
    magic, version, width, seq = BINARY_HEADER.unpack_from(data)
    if magic != BINARY_MAGIC:
        json = data[:1] == b"{"
        hint = "; this looks like a JSON chunk: send it as application/json" if json else ""
        found.add(
            "header.magic", f"expected the ASCII magic 'EC' in bytes 0-1, got {magic!r}{hint}"
        )
        return None, None
    if version != BINARY_VERSION:
        found.add("header.version", f"expected format version {BINARY_VERSION}, got {version}")
        return None, None
    if width not in BINARY_DTYPES:
        found.add(
            "header.sample_width",
            f"expected the bytes per sample, 2 (int16) or 4 (int32), got {width}",
        )
        width = None
    if seq > MAX_SEQ:
        found.add("header.seq", f"expected a seq from 0 (the first chunk) to {MAX_SEQ}, got {seq}")
        seq = None
    return width, seq


def _interleaved(
    data: bytes | bytearray, width: int, leads: Sequence[str], max_samples: int, found: Findings
) -> tuple[NDArray[np.int32], ...] | None:
    """The samples after the header, de-interleaved: one row per lead, in one copy."""
    size = len(data) - BINARY_HEADER.size
    frame = width * len(leads)
    per_sample = f"{_count(len(leads), 'lead')} x {width} bytes = {frame} bytes per sample"
    if size == 0:
        found.add("samples", f"none after the header; a chunk has at least one ({per_sample})")
        return None
    if size % frame:
        found.add(
            "samples",
            f"{size} bytes after the header is not a whole number of samples: {per_sample}",
        )
        return None
    if size // frame > max_samples:
        found.add(
            "samples",
            f"has {size // frame} samples per lead; a chunk takes at most {max_samples}: "
            "send them in several chunks",
        )
        return None
    interleaved = np.frombuffer(data, BINARY_DTYPES[width], offset=BINARY_HEADER.size)
    # (samples, leads) -> (leads, samples): each lead contiguous, and never a view of a
    # buffer that the caller may reuse.
    signals = np.array(interleaved.reshape(-1, len(leads)).T, dtype=np.int32, order="C")
    signals.flags.writeable = False
    return tuple(signals)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _lead_names(value: object, found: Findings) -> list[str]:
    if value is None:
        found.add("leads", "is required")
        return []
    if not isinstance(value, list) or not value:
        found.add("leads", f"expected a non-empty array of lead names, got {describe(value)}")
        return []
    names: list[str] = []
    for index, item in enumerate(value):
        name = lead_name(item, f"leads[{index}]", found)
        if name in names:
            found.add(
                f"leads[{index}]",
                f"duplicate lead {name!r}: leads[{names.index(name)}] has the same name",
            )
        names.append(name or "")
    return names


def _seq(value: object, found: Findings) -> int | None:
    if value is None:
        found.add("seq", "is required")
        return None
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        found.add("seq", f"expected an integer from 0 (the first chunk), got {describe(value)}")
        return None
    return value


def _signals(
    value: object, leads: Sequence[str], max_samples: int, found: Findings
) -> tuple[NDArray[np.int32], ...] | None:
    order = ", ".join(leads)
    if value is None:
        found.add("signal", f"is required: one array of samples per lead ({order})")
        return None
    if not isinstance(value, list) or len(value) != len(leads):
        got = f"{len(value)} arrays" if isinstance(value, list) else describe(value)
        found.add(
            "signal",
            f"expected {len(leads)} arrays of samples, one per lead in the order "
            f"the stream declared ({order}), got {got}",
        )
        return None
    before = len(found)
    signals = []
    for index, samples in enumerate(value):
        path = f"signal[{index}]"
        try:
            signals.append(to_signal(samples))
        except SignalError as error:
            found.add(path if error.index is None else f"{path}[{error.index}]", str(error))
    if len(found) > before:
        return None
    for index, signal in enumerate(signals[1:], start=1):
        if signal.size != signals[0].size:
            found.add(
                f"signal[{index}]",
                f"has {signal.size} samples but signal[0] ({leads[0]}) has "
                f"{signals[0].size}; every lead of a chunk needs the same number",
            )
    if signals[0].size > max_samples:
        found.add(
            "signal",
            f"has {signals[0].size} samples per lead; a chunk takes at most {max_samples}: "
            "send them in several chunks",
        )
    return tuple(signals)
