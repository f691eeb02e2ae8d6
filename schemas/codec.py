"""The one Avro codec that the gateway and the stream workers share.

Messages use Avro *single-object encoding* (Avro 1.10 specification): the two
marker bytes ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the
writer schema's parsing canonical form, then the Avro binary body. A consumer
that holds the ``.avsc`` files of this folder, and nothing else of this code,
can therefore tell which schema wrote a message and decode it.

Schemas evolve compatibly: new fields are optional with defaults. Every earlier
version of a schema stays in ``history/`` (``<name>.<version>.avsc``), so a message
written with an earlier version (still in a topic when the consumers are upgraded)
is recognised by its fingerprint and read into the current schema, with the new
fields at their defaults.

Sample values travel as one ``bytes`` value per lead of little-endian
two's-complement integers, two bytes wide when every value fits in int16 and four
otherwise: ``numpy.frombuffer`` turns them back into an array without any
per-sample Python work, and Kafka's batch compression (zstd) removes what
redundancy is left.
"""

from __future__ import annotations

import enum
import io
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from numpy.typing import NDArray

from schemas.branches import branch_namer

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8

INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class Schema(enum.Enum):
    SAMPLE_CHUNK = "sample_chunk"
    WINDOW_RESULT = "window_result"
    ECG_SUMMARY = "ecg_summary"
    DEAD_LETTER = "dead_letter"
    ANALYSIS_REQUEST = "analysis_request"
    RHYTHM_EVENT = "rhythm_event"


class DecodeError(ValueError):
    """The bytes are not a message of the expected schema."""


def load_schema_json(schema: Schema) -> dict[str, Any]:
    text = files("schemas").joinpath(f"{schema.value}.avsc").read_text(encoding="utf-8")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def load_history_json(schema: Schema) -> list[dict[str, Any]]:
    """The earlier versions of ``schema``, oldest first."""
    found = [
        entry
        for entry in files("schemas").joinpath("history").iterdir()
        if entry.name.startswith(f"{schema.value}.") and entry.name.endswith(".avsc")
    ]
    found.sort(key=lambda entry: int(entry.name.split(".")[-2]))
    return [json.loads(entry.read_text(encoding="utf-8")) for entry in found]


def _fingerprint(parsed: Any) -> bytes:
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


class _Parsed:
    def __init__(self, schema: Schema) -> None:
        named: dict[str, Any] = {}
        self.parsed = parse_schema(load_schema_json(schema), named_schemas=named)
        self.name_branches = branch_namer(self.parsed, named)
        self.fingerprint = _fingerprint(self.parsed)
        self.header = MARKER + self.fingerprint
        earlier = (parse_schema(old) for old in load_history_json(schema))
        self.writers = {MARKER + _fingerprint(old): old for old in earlier}


@cache
def _parsed(schema: Schema) -> _Parsed:
    return _Parsed(schema)


def fingerprint_of(schema: Schema) -> bytes:
    return _parsed(schema).fingerprint


def encode(schema: Schema, record: Mapping[str, Any]) -> bytes:
    parsed = _parsed(schema)
    out = io.BytesIO()
    out.write(parsed.header)
    if parsed.name_branches is not None:
        record = parsed.name_branches(record)
    schemaless_writer(out, parsed.parsed, record)
    return out.getvalue()


def decode(schema: Schema, data: bytes) -> dict[str, Any]:
    """A message of ``schema``'s current version or of an earlier one (read into the
    current version)."""
    parsed = _parsed(schema)
    header = data[:HEADER_SIZE]
    writer = parsed.parsed if header == parsed.header else parsed.writers.get(header)
    if writer is None:
        raise DecodeError(
            f"not a single-object encoded {schema.value} message "
            f"(header {header.hex()}, expected {parsed.header.hex()})"
        )
    reader = None if writer is parsed.parsed else parsed.parsed
    try:
        record = schemaless_reader(io.BytesIO(data[HEADER_SIZE:]), writer, reader)
    except (EOFError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"malformed {schema.value} body: {exc}") from exc
    if not isinstance(record, dict):
        raise DecodeError(f"{schema.value} body is not a record")
    return record


def encode_samples(leads: Sequence[NDArray[np.integer[Any]]]) -> tuple[int, list[bytes]]:
    """Pack one 1-D integer array per lead as ``(sample_width, [bytes per lead])``.

    The width is 2 when every value of every lead fits in int16, else 4.
    Raises ``ValueError`` when a value does not fit in int32.
    """
    if len({lead.size for lead in leads}) == 1 and leads[0].size:
        # Leads of one length (every stream chunk, most upload chunks): one block, so
        # one minimum, one maximum and one conversion instead of one per lead.
        block = np.stack(leads)
        dtype = sample_dtype(int(block.min()), int(block.max()))
        return np.dtype(dtype).itemsize, [row.tobytes() for row in block.astype(dtype)]
    non_empty = [lead for lead in leads if lead.size]
    low = min((int(lead.min()) for lead in non_empty), default=0)
    high = max((int(lead.max()) for lead in non_empty), default=0)
    dtype = sample_dtype(low, high)
    return np.dtype(dtype).itemsize, [lead.astype(dtype, copy=False).tobytes() for lead in leads]


def sample_dtype(low: int, high: int) -> str:
    """The dtype of samples from ``low`` to ``high``: int16 when they fit, else int32."""
    if low >= INT16_MIN and high <= INT16_MAX:
        return "<i2"
    if low >= INT32_MIN and high <= INT32_MAX:
        return "<i4"
    raise ValueError("sample values must fit in a signed 32-bit integer")


def encode_long(value: int) -> bytes:
    """An Avro ``long`` (or ``int``): zig-zag, then 7 bits a byte, the lowest first."""
    bits = (value << 1) ^ (value >> 63)
    out = bytearray()
    while bits > 0x7F:
        out.append(bits & 0x7F | 0x80)
        bits >>= 7
    out.append(bits)
    return bytes(out)


def decode_samples(data: Sequence[bytes], sample_width: int) -> list[NDArray[np.int32]]:
    """Unpack the ``samples`` field into one int32 array per lead."""
    dtype = {2: "<i2", 4: "<i4"}.get(sample_width)
    if dtype is None:
        raise DecodeError(f"sample_width must be 2 or 4, got {sample_width}")
    leads = []
    for index, raw in enumerate(data):
        if len(raw) % sample_width:
            raise DecodeError(
                f"samples[{index}] has {len(raw)} bytes, not a multiple of {sample_width}"
            )
        leads.append(np.frombuffer(raw, dtype=dtype).astype(np.int32, copy=False))
    return leads
