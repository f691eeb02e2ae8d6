"""Declared request fields: each kind of value checks what a client sent *and* describes
itself as JSON Schema, so that the bodies and queries the gateway validates are the ones
its OpenAPI document (``gateway.openapi``) shows; nothing is written twice.

A body is an ``Obj`` of ``Field``s. ``Obj.check`` reports every broken rule, under its
field path, to a ``Findings`` (one 422 for all of them, see ``gateway.fields``), and
gives the parsed values by name; ``Obj.schema()`` is the same rules as JSON Schema
2020-12 (the dialect of OpenAPI 3.1). Rules that span fields (no duplicate lead, equal
lengths) stay in the body's own module and are written into its ``description``.

Why not pydantic or msgspec: both stop being our error messages (a detail that says
what to fix, every problem of a body in one answer, never echoing a password), and a
signal of a million samples is checked by numpy in ``gateway.signals``, not element by
element.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
from starlette.datastructures import QueryParams

from gateway.errors import describe
from gateway.fields import Findings, check_fields, parse_uuid
from gateway.leads import LEAD_NAMES, canonical_lead_name
from gateway.signals import INT32_RANGE, SignalError, to_signal
from schemas.codec import INT32_MAX, INT32_MIN
from schemas.sample_chunks import MAX_SAMPLING_RATE, MIN_SAMPLING_RATE

JsonSchema = dict[str, Any]


class Kind(Protocol):
    """A kind of JSON value: ``check`` is given a value that is not null and returns
    it parsed, or None after adding what is wrong to ``found``."""

    def check(self, value: object, path: str, found: Findings) -> Any: ...

    def schema(self) -> JsonSchema: ...


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False
    description: str = ""
    # What "is required" says for this field, when more helps the client.
    missing: str = "is required"


@dataclass(frozen=True)
class Obj:
    """A JSON object of declared fields; any other member is an error (a typo such as
    ``numberOfSamples`` is not silently dropped). ``null`` for an optional field means
    the same as leaving it out."""

    fields: tuple[Field, ...]
    description: str = ""
    title: str = ""
    expected: str = "expected an object"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def check(self, value: object, path: str, found: Findings) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            found.add(path, f"{self.expected}, got {describe(value)}")
            return None
        return self.members(value, path, found)

    def members(self, document: Mapping[str, Any], path: str, found: Findings) -> dict[str, Any]:
        """Every declared field by name: its parsed value, or None (absent, or broken:
        ``found`` says which)."""
        check_fields(document, path, self.names, found)
        values: dict[str, Any] = {}
        for f in self.fields:
            value = document.get(f.name)
            where = f"{path}.{f.name}" if path else f.name
            if value is None:
                if f.required:
                    found.add(where, f.missing)
                values[f.name] = None
            else:
                values[f.name] = f.kind.check(value, where, found)
        return values

    def schema(self) -> JsonSchema:
        properties: dict[str, JsonSchema] = {}
        for f in self.fields:
            schema = f.kind.schema()
            if f.description:
                schema = {**schema, "description": f.description}
            # Optional fields may be null, which means absent.
            properties[f.name] = schema if f.required else {"anyOf": [schema, {"type": "null"}]}
        schema = {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
        }
        if self.title:
            schema["title"] = self.title
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True)
class Number:
    """A JSON number (not a boolean): greater than ``above`` (exclusive), at least
    ``minimum`` (inclusive, with ``too_low`` saying why) and at most ``maximum``."""

    above: float = 0.0
    maximum: float = math.inf
    minimum: float | None = None
    too_low: str = ""

    def check(self, value: object, path: str, found: Findings) -> float | None:
        if type(value) not in (int, float):
            found.add(path, f"expected a number, got {describe(value)}")
            return None
        assert isinstance(value, int | float)
        if not self.above < value < math.inf:
            found.add(path, f"must be greater than {_number(self.above)}, got {describe(value)}")
            return None
        if self.minimum is not None and value < self.minimum:
            why = f"; {self.too_low}" if self.too_low else ""
            found.add(path, f"must be at least {_number(self.minimum)}{why}, got {describe(value)}")
            return None
        if value > self.maximum:
            found.add(path, f"must be at most {_number(self.maximum)}, got {describe(value)}")
            return None
        return float(value)

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "number"}
        if self.minimum is not None and self.minimum > self.above:
            schema["minimum"] = _number(self.minimum)
        else:
            schema["exclusiveMinimum"] = _number(self.above)
        if self.maximum < math.inf:
            schema["maximum"] = _number(self.maximum)
        return schema


@dataclass(frozen=True)
class Integer:
    """A JSON integer (not a float, not a boolean) within ``[minimum, maximum]``.

    ``expected`` is the message for another type (and for a value out of range unless
    ``out_of_range`` is given, formatted with ``value``)."""

    minimum: int
    maximum: int
    expected: str = "expected an integer"
    out_of_range: str | None = None

    def check(self, value: object, path: str, found: Findings) -> int | None:
        if type(value) is not int:
            found.add(path, f"{self.expected}, got {describe(value)}")
            return None
        if not self.minimum <= value <= self.maximum:
            if self.out_of_range is None:
                found.add(path, f"{self.expected}, got {describe(value)}")
            else:
                found.add(path, self.out_of_range.format(value=value))
            return None
        return value

    def schema(self) -> JsonSchema:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


INT32: Final = Integer(
    INT32_MIN,
    INT32_MAX,
    out_of_range=f"must be within the signed 32-bit range {INT32_RANGE}, got {{value}}",
)


@dataclass(frozen=True)
class Boolean:
    def check(self, value: object, path: str, found: Findings) -> bool | None:
        if type(value) is not bool:
            found.add(path, f"expected true or false, got {describe(value)}")
            return None
        return value

    def schema(self) -> JsonSchema:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Choice:
    """One of a few strings."""

    values: tuple[str, ...]

    def check(self, value: object, path: str, found: Findings) -> str | None:
        if value not in self.values:
            accepted = " or ".join(repr(v) for v in self.values)
            found.add(path, f"expected {accepted}, got {describe(value)}")
            return None
        assert isinstance(value, str)
        return value

    def schema(self) -> JsonSchema:
        return {"type": "string", "enum": list(self.values)}


@dataclass(frozen=True)
class Secret:
    """A non-empty string of at most ``max_length`` characters whose value is never
    echoed in a message: it may be a password (or an email typed in its place)."""

    max_length: int
    format: str | None = None

    def check(self, value: object, path: str, found: Findings) -> str | None:
        if not isinstance(value, str):
            found.add(path, "expected a string")
        elif not value:
            found.add(path, "must not be empty")
        elif len(value) > self.max_length:
            found.add(path, f"must be at most {self.max_length} characters")
        else:
            return value
        return None

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "string", "minLength": 1, "maxLength": self.max_length}
        if self.format:
            schema["format"] = self.format
        return schema


@dataclass(frozen=True)
class Uuid:
    def check(self, value: object, path: str, found: Findings) -> UUID | None:
        parsed = parse_uuid(value) if isinstance(value, str) else None
        if parsed is None:
            found.add(path, f"expected a UUID such as {UUID(int=0x1234)}, got {describe(value)}")
        return parsed

    def schema(self) -> JsonSchema:
        return {"type": "string", "format": "uuid"}


MAX_DATE_LENGTH: Final = 64


@dataclass(frozen=True)
class Date:
    """ISO 8601; a trailing ``Z`` is accepted, a date-time without an offset is taken as
    UTC, and a date alone means its midnight UTC."""

    def check(self, value: object, path: str, found: Findings) -> datetime | None:
        hint = "expected an ISO 8601 date-time such as 2024-05-01T10:00:00Z"
        if not isinstance(value, str) or len(value) > MAX_DATE_LENGTH:
            found.add(path, f"{hint}, got {describe(value)}")
            return None
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            found.add(path, f"{hint}, got {describe(value)}")
            return None

    def schema(self) -> JsonSchema:
        # RFC 3339's date-time or full-date; also accepted: the other ISO 8601 forms
        # that Python's ``datetime.fromisoformat`` reads.
        return {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ],
            "maxLength": MAX_DATE_LENGTH,
            "description": "ISO 8601: 2024-05-01T10:00:00Z; without an offset it is UTC; "
            "a date alone (2024-05-01) is its midnight UTC",
            "examples": ["2024-05-01T10:00:00Z"],
        }


@dataclass(frozen=True)
class LeadName:
    """A lead name (see ``gateway.leads``), any case, kept in its canonical spelling."""

    def check(self, value: object, path: str, found: Findings) -> str | None:
        name = canonical_lead_name(value) if isinstance(value, str) else None
        if name is None:
            found.add(
                path,
                f"unknown lead name {describe(value)}; accepted names (any case): "
                + ", ".join(LEAD_NAMES),
            )
        return name

    def schema(self) -> JsonSchema:
        return {
            "type": "string",
            "pattern": "^(" + "|".join(_any_case(name) for name in LEAD_NAMES) + ")$",
            "description": "one of " + ", ".join(LEAD_NAMES) + " (any case)",
            "examples": ["II"],
        }


@dataclass(frozen=True)
class Signal:
    """A non-empty array of integers in the signed 32-bit range, as int32 (numpy)."""

    max_items: int | None = None

    def check(self, value: object, path: str, found: Findings) -> NDArray[np.int32] | None:
        try:
            return to_signal(value)
        except SignalError as error:
            found.add(path if error.index is None else f"{path}[{error.index}]", str(error))
            return None

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "array", "items": INT32.schema(), "minItems": 1}
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


@dataclass(frozen=True)
class Items:
    """An array of at most ``max_items`` values of one kind, checked one by one (for
    short arrays: a signal is a ``Signal``). More than ``max_items`` is refused before
    any item is looked at, so that a huge array costs no work."""

    kind: Kind
    max_items: int
    min_items: int = 1
    expected: str = "expected an array"
    too_many: str = "has {count} items; at most {max_items} are accepted"
    too_few: str = "must contain at least one item"

    def check(self, value: object, path: str, found: Findings) -> list[Any] | None:
        if not isinstance(value, list):
            found.add(path, f"{self.expected}, got {describe(value)}")
            return None
        if len(value) < self.min_items:
            found.add(path, self.too_few)
            return None
        if len(value) > self.max_items:
            found.add(path, self.too_many.format(count=len(value), max_items=self.max_items))
            return None
        return [self.kind.check(item, f"{path}[{i}]", found) for i, item in enumerate(value)]

    def schema(self) -> JsonSchema:
        return {
            "type": "array",
            "items": self.kind.schema(),
            "minItems": self.min_items,
            "maxItems": self.max_items,
        }


@dataclass(frozen=True)
class Custom:
    """A kind whose check lives with its body (rules that need context, such as the
    stream's leads); declared here with its schema so that the document shows it."""

    checker: Callable[[object, str, Findings], Any]
    json_schema: JsonSchema = field(default_factory=dict)

    def check(self, value: object, path: str, found: Findings) -> Any:
        return self.checker(value, path, found)

    def schema(self) -> JsonSchema:
        return dict(self.json_schema)


@dataclass(frozen=True)
class QueryInteger:
    name: str
    default: int
    minimum: int
    maximum: int
    description: str = ""

    def check(self, text: str | None, found: Findings) -> int:
        if text is None:
            return self.default
        if _INTEGER.fullmatch(text) is None or len(text) > 12:
            found.add(self.name, f"expected an integer, got {describe(text)}")
            return self.default
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            found.add(self.name, f"must be within [{self.minimum}, {self.maximum}], got {value}")
            return self.default
        return value

    def schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.minimum <= self.default <= self.maximum:  # else it stands for "none given"
            schema["default"] = self.default
        return schema


_INTEGER: Final = re.compile(r"-?[0-9]+")  # one sign at most: "--5" is no integer


@dataclass(frozen=True)
class QueryUuid:
    name: str
    description: str = ""

    def check(self, text: str | None, found: Findings) -> UUID | None:
        if text is None:
            return None
        parsed = parse_uuid(text)
        if parsed is None:
            found.add(self.name, f"expected a UUID, got {describe(text)}")
        return parsed

    def schema(self) -> JsonSchema:
        return {"type": "string", "format": "uuid"}


@dataclass(frozen=True)
class QueryLeadNames:
    """Comma-separated lead names (``leads=II,v5``): each kept in its canonical spelling
    (``gateway.leads``), or as typed when it is no lead name, for the endpoint to match
    against the leads it has (and to name them when one is missing). None when absent."""

    name: str
    description: str = ""
    max_items: int = len(LEAD_NAMES)

    def check(self, text: str | None, found: Findings) -> tuple[str, ...] | None:
        if text is None:
            return None
        items = text.split(",")
        if len(items) > self.max_items:
            found.add(self.name, f"names {len(items)} leads; at most {self.max_items} are accepted")
            return None
        names: list[str] = []
        for item in items:
            if not item:
                found.add(
                    self.name, f"expected lead names separated by commas, got {describe(text)}"
                )
                return None
            name = canonical_lead_name(item) or item
            if name.casefold() in (known.casefold() for known in names):
                found.add(self.name, f"names lead {describe(name)} more than once")
                return None
            names.append(name)
        return tuple(names)

    def schema(self) -> JsonSchema:
        name = "(" + "|".join(_any_case(name) for name in LEAD_NAMES) + ")"
        return {
            "type": "string",
            "pattern": f"^{name}(,{name})*$",
            "description": "lead names separated by commas, any case: " + ", ".join(LEAD_NAMES),
            "examples": ["I,II,V5"],
        }


QueryParameter = QueryInteger | QueryUuid | QueryLeadNames


@dataclass(frozen=True)
class Query:
    """A query of declared parameters, each given at most once, and no others; every
    problem in one 422."""

    parameters: tuple[QueryParameter, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def check(self, params: QueryParams) -> dict[str, Any]:
        found = Findings()
        for name in dict.fromkeys(params.keys()):
            if name not in self.names:
                found.add(name[:40], f"unknown query parameter; accepted: {', '.join(self.names)}")
            elif len(params.getlist(name)) > 1:
                found.add(name, "given more than once")
        values = {p.name: p.check(params.get(p.name), found) for p in self.parameters}
        found.raise_if_any()
        return values

    def openapi(self) -> list[JsonSchema]:
        """The parameters as OpenAPI parameter objects."""
        return [
            {
                "name": p.name,
                "in": "query",
                "required": False,
                "description": p.description,
                "schema": p.schema(),
            }
            for p in self.parameters
        ]


# The fields that an upload and a stream's opening share.
ECG_ID: Final = Field(
    "id",
    Uuid(),
    description="the new ECG's id (hyphenated, any case; kept lower-case); generated when absent",
)
DATE: Final = Field("date", Date(), required=True, description="when the recording started")
SAMPLING_RATE: Final = Field(
    "sampling_rate",
    Number(
        minimum=MIN_SAMPLING_RATE,
        maximum=MAX_SAMPLING_RATE,
        too_low="the analysis needs 50 samples per second or more",
    ),
    description="samples per second (Hz) of every lead; without it, the analysis "
    "counts zero crossings only, in windows of a fixed number of samples",
)


def _any_case(name: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.upper() != c.lower() else c for c in name)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
