"""Naming the branch of each optional record before fastavro writes a message.

fastavro writes a union by trying every branch against the value and keeping the one
whose record matches the most fields, which validates a record value whole, nested
records included. A window result carries seven optional records per lead (min, max,
mean, their millivolt forms, quality): for 12 leads that validation cost ~0.5 ms of a
~0.55 ms write, per window and again per summary. fastavro's *tuple notation*,
``(branch name, value)``, names the branch instead, and the bytes are the same.

``branch_namer`` walks a parsed schema once and returns a function that gives a copy of
a record with every non-null value of a ``["null", record]`` union so named (or None
when the schema has no such union). Other unions are left to fastavro's own choice:
checking a primitive is cheap (naming those too measured no faster).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Namer = Callable[[Any], Any]


def branch_namer(schema: Any, named: Mapping[str, Any]) -> Namer | None:
    """For a schema parsed by ``fastavro.parse_schema(..., named_schemas=named)``."""
    return _namer(schema, named, frozenset())


def _namer(schema: Any, named: Mapping[str, Any], seen: frozenset[str]) -> Namer | None:
    if isinstance(schema, str):  # a primitive, or a reference to a named type
        if schema not in named or schema in seen:
            return None
        return _namer(named[schema], named, seen | {schema})
    if isinstance(schema, list):
        return _union(schema, named, seen)
    kind = schema["type"]
    if kind == "record":
        return _record(schema, named, seen | {schema["name"]})
    if kind == "array":
        item = _namer(schema["items"], named, seen)
        return None if item is None else _each(item)
    if isinstance(kind, (dict, list)):
        return _namer(kind, named, seen)
    return None


def _record(
    schema: Mapping[str, Any], named: Mapping[str, Any], seen: frozenset[str]
) -> Namer | None:
    fields = [
        (field["name"], namer)
        for field in schema["fields"]
        if (namer := _namer(field["type"], named, seen)) is not None
    ]
    if not fields:
        return None

    def record(value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # fastavro says what is wrong with it
        out = dict(value)
        for name, namer in fields:
            if name in out:
                out[name] = namer(out[name])
        return out

    return record


def _each(item: Namer) -> Namer:
    def each(values: Any) -> Any:
        return [item(value) for value in values] if isinstance(values, list) else values

    return each


def _union(branches: list[Any], named: Mapping[str, Any], seen: frozenset[str]) -> Namer | None:
    others = [branch for branch in branches if branch != "null"]
    if len(branches) != 2 or len(others) != 1:
        return None
    (branch,) = others
    # The name fastavro's tuple notation compares: a reference's own string, or an
    # inline record's full name.
    if isinstance(branch, str):
        record, name = named.get(branch), branch
    else:
        record, name = branch, branch.get("name")
    if not isinstance(record, Mapping) or record.get("type") != "record":
        return None
    inner = _namer(branch, named, seen)

    def named_branch(value: Any) -> Any:
        if value is None or isinstance(value, tuple):
            return value
        return (name, value if inner is None else inner(value))

    return named_branch
