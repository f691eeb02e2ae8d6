"""The result records of the topics (``window_result.avsc``, ``ecg_summary.avsc``) as
JSON Schema 2020-12, the dialect of OpenAPI 3.1: the gateway serves these records as
JSON (the sink stores them with ``json.dumps``), so its API document describes them from
the same ``.avsc`` files the workers write with, and cannot drift from them.

The mapping is the JSON the sink writes: ``int``/``long`` are integers, ``float`` and
``double`` numbers (a double may be any JSON number), a ``uuid`` a string, a
``timestamp-micros`` the text the sink writes for a datetime, a union with ``null`` an
``anyOf`` with null, a ``map`` an object; named types become ``$defs`` referenced by
name, as Avro refers to them. Written here rather than taken from a package: the few on
PyPI that convert Avro to JSON Schema are unmaintained, and this is the 60 lines of the
subset our schemas use.
"""

from __future__ import annotations

from typing import Any

from schemas.codec import Schema, load_schema_json

JsonSchema = dict[str, Any]

_PRIMITIVES: dict[str, JsonSchema] = {
    "null": {"type": "null"},
    "boolean": {"type": "boolean"},
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "string": {"type": "string"},
    "bytes": {"type": "string"},
}


def json_schema(
    schema: Schema, *, ref_prefix: str = "#/$defs/"
) -> tuple[JsonSchema, dict[str, JsonSchema]]:
    """The schema of one record of ``schema``, and the definitions (by Avro name) that it
    and they refer to with ``ref_prefix`` + name."""
    definitions: dict[str, JsonSchema] = {}
    root = _convert(load_schema_json(schema), definitions, ref_prefix)
    return root, definitions


def _convert(avro: Any, definitions: dict[str, JsonSchema], prefix: str) -> JsonSchema:
    if isinstance(avro, str):
        if avro in _PRIMITIVES:
            return dict(_PRIMITIVES[avro])
        return {"$ref": prefix + avro}  # a named type defined earlier
    if isinstance(avro, list):
        branches = [_convert(branch, definitions, prefix) for branch in avro]
        return branches[0] if len(branches) == 1 else {"anyOf": branches}
    kind = avro["type"]
    logical = avro.get("logicalType")
    converted: JsonSchema
    if logical == "uuid":
        converted = {"type": "string", "format": "uuid"}
    elif logical in ("timestamp-micros", "timestamp-millis"):
        converted = {"type": "string"}
    elif kind == "record":
        converted = {
            "type": "object",
            "properties": {
                f["name"]: _with_doc(_convert(f["type"], definitions, prefix), f)
                for f in avro["fields"]
            },
            "required": [f["name"] for f in avro["fields"] if "default" not in f],
        }
        definitions[avro["name"]] = _with_doc(converted, avro)
        return {"$ref": prefix + avro["name"]}
    elif kind == "array":
        converted = {"type": "array", "items": _convert(avro["items"], definitions, prefix)}
    elif kind == "map":
        converted = {
            "type": "object",
            "additionalProperties": _convert(avro["values"], definitions, prefix),
        }
    elif kind == "enum":
        converted = {"type": "string", "enum": list(avro["symbols"])}
    else:
        converted = _convert(kind, definitions, prefix)
    return _with_doc(converted, avro)


def _with_doc(converted: JsonSchema, avro: Any) -> JsonSchema:
    doc = avro.get("doc") if isinstance(avro, dict) else None
    if doc and "$ref" not in converted:
        return {**converted, "description": doc}
    return converted
