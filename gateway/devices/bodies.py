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
frames), for devices too small to write JSON: the format of ``schemas.binary_chunks``,
whose problems become the same 422 findings, one per broken part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID, uuid4

import numpy as np
from numpy.typing import NDArray

from gateway.errors import FieldError, InvalidInputError, describe
from gateway.fields import Findings, check_fields, ecg_header, lead_name
from gateway.signals import SignalError, to_signal
from schemas.binary_chunks import MAX_SEQ, BinaryChunkError, decode_binary_chunk

OPENING_FIELDS: Final = ("id", "date", "sampling_rate", "leads")
CHUNK_FIELDS: Final = ("seq", "signal")


@dataclass(frozen=True)
class StreamOpening:
    id: UUID
    date: datetime
    sampling_rate: float | None
    leads: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class StreamChunk:
    seq: int
    samples: NDArray[np.signedinteger[Any]]  # one row per lead; int16 or int32

    @property
    def signals(self) -> tuple[NDArray[np.signedinteger[Any]], ...]:
        """One array per lead."""
        return tuple(self.samples)

    @property
    def number_of_samples(self) -> int:
        """Samples per lead (every lead has as many)."""
        return int(self.samples.shape[1])


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
    return StreamChunk(seq, np.stack(signals))


def parse_binary_chunk(
    data: bytes | bytearray, leads: Sequence[str], max_samples: int
) -> StreamChunk:
    """The binary chunk ``data`` of a stream of ``leads``, with at most ``max_samples`` per
    lead: the same samples in the ``StreamChunk`` as ``validate_chunk`` gives for them in
    JSON, as int16 when the chunk is (JSON's are int32)."""
    try:
        seq, samples = decode_binary_chunk(data, len(leads), max_samples)
    except BinaryChunkError as error:
        errors = [FieldError(part, message) for part, message in error.problems]
        raise InvalidInputError(errors) from None
    return StreamChunk(seq, samples)


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
