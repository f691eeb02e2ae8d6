"""The bodies of a stream: the opening and each chunk, checked like an upload (every
broken rule reported, with its field path, in one 422; unknown fields are errors).

- opening: ``date`` (required), ``leads`` (required: a non-empty array, no two of the
  same name, of lead names, see ``gateway.leads``, or of lead objects ``{name, gain?,
  baseline?}`` with an upload's rules for gain and baseline, the two kinds mixed at
  will), ``sampling_rate`` (optional, 50 <= Hz <= 100000) and ``id`` (optional UUID),
  with the rules of ``gateway.recordings.bodies``;
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
from functools import lru_cache
from typing import Any, Final
from uuid import UUID, uuid4

import numpy as np
from numpy.typing import NDArray

from gateway.declarations import (
    DATE,
    ECG_ID,
    INT32,
    SAMPLING_RATE,
    Custom,
    Field,
    Integer,
    Items,
    LeadName,
    Number,
    Obj,
    Signal,
)
from gateway.errors import FieldError, InvalidInputError, describe
from gateway.fields import Findings
from gateway.leads import LEAD_NAMES
from gateway.signals import SignalError, to_signal
from schemas.binary_chunks import MAX_SEQ, BinaryChunkError, decode_binary_chunk
from schemas.sample_chunks import MAX_ECG_SECONDS, max_samples_per_lead

LEAD_NAMES_EXPECTED: Final = "expected a non-empty array of lead names or lead objects"
STREAM_LEAD: Final = Obj(
    (
        Field("name", LeadName(), required=True),
        Field("gain", Number(), description="ADC units per mV"),
        Field("baseline", INT32, description="the ADC value of 0 mV"),
    ),
    expected="expected a lead name or a lead object {name, gain?, baseline?}",
    title="StreamLead",
)


def _stream_lead(value: object, path: str, found: Findings) -> dict[str, Any] | None:
    """A lead of the opening, as ``{name, gain, baseline}`` (None where absent): a bare
    name, or a lead object."""
    if isinstance(value, str):
        return {"name": LeadName().check(value, path, found), "gain": None, "baseline": None}
    return STREAM_LEAD.check(value, path, found)


OPENING: Final = Obj(
    (
        ECG_ID,
        DATE,
        SAMPLING_RATE,
        Field(
            "leads",
            Items(
                Custom(
                    _stream_lead,
                    {"oneOf": [LeadName().schema(), STREAM_LEAD.schema()]},
                ),
                max_items=len(LEAD_NAMES),
                expected=LEAD_NAMES_EXPECTED,
                too_few=f"{LEAD_NAMES_EXPECTED}, got an array",
                too_many="has {count} leads; at most {max_items} are accepted, one per lead name",
            ),
            required=True,
            description="the stream's leads, in the order of every chunk's signal, each "
            "a name or {name, gain, baseline} (gain in ADC units per mV, baseline the ADC "
            "value of 0 mV: without them there are no values in mV); no two of the same name",
        ),
    ),
    title="StreamOpening",
    description="A stream's opening: what every chunk of it shares.",
)
OPENING_FIELDS: Final = OPENING.names
SEQ: Final = Field(
    "seq",
    Integer(0, MAX_SEQ, expected="expected an integer from 0 (the first chunk)"),
    required=True,
    description="the chunk's number in the stream: 0, 1, 2, ...",
)
CHUNK_FIELDS: Final = ("seq", "signal")


@dataclass(frozen=True)
class StreamOpening:
    id: UUID
    date: datetime
    sampling_rate: float | None
    leads: tuple[str, ...]
    gains: tuple[float | None, ...] = ()  # per lead, when given (ADC units per mV)
    baselines: tuple[int | None, ...] = ()  # per lead, when given (ADC value of 0 mV)


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
    values = OPENING.members(document, "", found)
    leads = [
        lead or {"name": None, "gain": None, "baseline": None} for lead in values["leads"] or []
    ]
    names = [lead["name"] for lead in leads]
    for index, name in enumerate(names):
        if name is not None and name in names[:index]:
            found.add(
                f"leads[{index}]",
                f"duplicate lead {name!r}: leads[{names.index(name)}] has the same name",
            )
    found.raise_if_any()
    ecg_id = values["id"]
    return StreamOpening(
        id=new_id() if ecg_id is None else ecg_id,
        date=values["date"],
        sampling_rate=values["sampling_rate"],
        leads=tuple(names),
        gains=tuple(lead["gain"] for lead in leads),
        baselines=tuple(lead["baseline"] for lead in leads),
    )


def validate_chunk(
    document: Mapping[str, Any], leads: Sequence[str], max_samples: int
) -> StreamChunk:
    """The chunk of a stream of ``leads``, with at most ``max_samples`` per lead."""
    found = Findings()
    values = chunk_body(tuple(leads), max_samples).members(document, "", found)
    found.raise_if_any()
    return StreamChunk(values["seq"], np.stack(values["signal"]))


@lru_cache(maxsize=256)
def chunk_body(leads: tuple[str, ...], max_samples: int) -> Obj:
    """The JSON chunk of a stream of ``leads``: its signal's rules depend on them."""
    order = ", ".join(leads) or "in the opening's order"
    return Obj(
        (
            SEQ,
            Field(
                "signal",
                Custom(
                    lambda value, path, found: _signals(value, leads, max_samples, found),
                    {
                        "type": "array",
                        "items": Signal().schema(),
                        "minItems": 1,
                        "maxItems": len(LEAD_NAMES),
                    },
                ),
                required=True,
                missing=f"is required: one array of samples per lead ({order})",
                description="one array of samples per lead, in the order the opening "
                "declared, all of the same length; at most as many per lead as fit one "
                "Kafka message (ECG_CHUNK_BYTES)",
            ),
        ),
        title="StreamChunk",
        description="One chunk of a stream.",
    )


def check_length(ecg_id: UUID, sampling_rate: float | None, start: int, count: int) -> None:
    """A chunk that would take its stream past the longest ECG the pipeline takes
    (``schemas.sample_chunks.MAX_ECG_SECONDS``) is a 422: state and results per ECG
    stay bounded however long a device streams."""
    limit = max_samples_per_lead(sampling_rate)
    if start + count > limit:
        rate = f"at {sampling_rate:g} Hz" if sampling_rate else "at 500 Hz, without a rate"
        raise InvalidInputError(
            [
                FieldError(
                    "signal",
                    f"ECG {ecg_id} would pass {limit} samples per lead, the most an ECG may "
                    f"have ({MAX_ECG_SECONDS // 86400} days {rate}); end this stream and "
                    "send the rest in a new one",
                )
            ]
        )


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
