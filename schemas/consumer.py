"""Decoding the pipeline's messages as an outside consumer would: with the ``.avsc``
files and fastavro, nothing else.

Every message value is Avro *single-object encoded* (Avro 1.10 specification): the
marker ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
schema's parsing canonical form, then the Avro binary body. So a consumer indexes
every schema it holds by that fingerprint and reads each message with the schema
that wrote it. This module deliberately does not use ``schemas.codec``: it is the
proof, and the worked example in the README, that the ``.avsc`` files are the whole
contract.

A message is read with its *writer* schema, as it was written: a message written
with an earlier version (``history/``) lacks the fields added since.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader
from fastavro.schema import fingerprint, to_parsing_canonical_form

FOLDER = Path(__file__).parent
MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8


class DecodeError(ValueError):
    """The bytes are not a message of any schema held."""


def read_schemas(folder: Path = FOLDER) -> dict[bytes, Any]:
    """Every ``.avsc`` file under ``folder`` (``history/`` included), parsed and keyed
    by its CRC-64-AVRO fingerprint as it appears in a message header."""
    schemas = {}
    for path in sorted(folder.rglob("*.avsc")):
        parsed = parse_schema(json.loads(path.read_text(encoding="utf-8")))
        canonical = to_parsing_canonical_form(parsed)
        schemas[bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))] = parsed
    return schemas


def leading_fields(schemas: Mapping[bytes, Any], names: Sequence[str]) -> dict[bytes, Any]:
    """The record schemas of ``schemas`` whose first fields are ``names``, cut to those
    fields, by the same fingerprints: ``decode`` with them reads just those fields of a
    message and stops, since Avro writes a record's fields one after the other, in
    order. For a consumer that needs a few fields of large messages."""
    cut = {}
    for key, schema in schemas.items():
        fields = schema.get("fields", []) if isinstance(schema, dict) else []
        if [field["name"] for field in fields[: len(names)]] == list(names):
            leading = [{"name": f["name"], "type": f["type"]} for f in fields[: len(names)]]
            cut[key] = parse_schema({"type": "record", "name": schema["name"], "fields": leading})
    return cut


def decode(data: bytes, schemas: Mapping[bytes, Any]) -> dict[str, Any]:
    """The record in the single-object encoded ``data``, read with the schema whose
    fingerprint its header carries."""
    if data[: len(MARKER)] != MARKER or len(data) < HEADER_SIZE:
        raise DecodeError(f"not Avro single-object encoded (header {data[:HEADER_SIZE].hex()})")
    writer = data[len(MARKER) : HEADER_SIZE]
    schema = schemas.get(writer)
    if schema is None:
        raise DecodeError(
            f"unknown writer schema fingerprint {writer.hex()}: none of the "
            f"{len(schemas)} schemas held has it (are the .avsc files up to date?)"
        )
    try:
        record = schemaless_reader(io.BytesIO(data[HEADER_SIZE:]), schema, None)
    except (EOFError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"malformed {schema['name']} body: {exc}") from exc
    if not isinstance(record, dict):
        raise DecodeError(f"{schema['name']} is not a record schema")
    return record


def to_json(value: Any) -> str:
    """``value`` as one line of JSON. fastavro reads the logical types into Python
    objects, which JSON lacks: a uuid becomes its text, a timestamp ISO 8601 text in
    UTC, and ``bytes`` (e.g. a dead letter's payload) base64 text."""
    return json.dumps(value, default=_json_value, separators=(",", ":"), ensure_ascii=False)


def _json_value(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} has no JSON form")
