"""Checks of single JSON fields, shared by the bodies that create ECGs
(``gateway.recordings.bodies``, ``gateway.devices.bodies``): each reports what is wrong,
under the field's path, to a ``Findings`` that collects every problem of a body for one 422.

``null`` for an optional field means the same as leaving it out.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from gateway.errors import FieldError, InvalidInputError, describe
from gateway.leads import LEAD_NAMES, canonical_lead_name

MAX_REPORTED_ERRORS: Final = 50
UUID_TEXT: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class Findings:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.omitted = 0

    def add(self, field: str, message: str) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(FieldError(field, message))
        else:
            self.omitted += 1

    def __len__(self) -> int:
        return len(self.errors) + self.omitted

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInputError(self.errors, self.omitted)


def parse_uuid(text: str) -> UUID | None:
    """A UUID in its hyphenated 8-4-4-4-12 form (any case), or None."""
    return UUID(text) if UUID_TEXT.fullmatch(text) else None


def check_fields(
    obj: Mapping[str, object], path: str, allowed: Sequence[str], found: Findings
) -> None:
    """Unknown fields are errors, so that a typo (``numberOfSamples``) is not silently dropped."""
    for key in obj:
        if key not in allowed:
            found.add(_member(path, key), f"unknown field; {_suggest(key, allowed)}")


MAX_SAMPLING_RATE: Final = 100_000


def ecg_header(
    document: Mapping[str, object], found: Findings
) -> tuple[UUID | None, datetime | None, float | None]:
    """The fields an upload and a stream's opening share: the optional ``id``, the
    required ``date`` and the optional ``sampling_rate`` (0 < Hz <= MAX_SAMPLING_RATE)."""
    return (
        ecg_id(document.get("id"), found),
        date(document.get("date"), found),
        positive_number(document.get("sampling_rate"), "sampling_rate", found, MAX_SAMPLING_RATE),
    )


def ecg_id(value: object, found: Findings) -> UUID | None:
    """The optional ``id`` of a new ECG; kept lower-case."""
    if value is None:
        return None
    parsed = parse_uuid(value) if isinstance(value, str) else None
    if parsed is None:
        found.add("id", f"expected a UUID such as {UUID(int=0x1234)}, got {describe(value)}")
    return parsed


def date(value: object, found: Findings) -> datetime | None:
    """The required ``date``: ISO 8601; a trailing ``Z`` is accepted, a date-time without
    an offset is taken as UTC, and a date alone means its midnight UTC."""
    if value is None:
        found.add("date", "is required")
        return None
    hint = "expected an ISO 8601 date-time such as 2024-05-01T10:00:00Z"
    if not isinstance(value, str) or len(value) > 64:
        found.add("date", f"{hint}, got {describe(value)}")
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        found.add("date", f"{hint}, got {describe(value)}")
        return None


def positive_number(
    value: object, path: str, found: Findings, maximum: float = math.inf
) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        found.add(path, f"expected a number, got {describe(value)}")
        return None
    assert isinstance(value, int | float)
    if not 0 < value < math.inf:
        found.add(path, f"must be greater than 0, got {describe(value)}")
        return None
    if value > maximum:
        found.add(path, f"must be at most {maximum}, got {describe(value)}")
        return None
    return float(value)


def lead_name(value: object, path: str, found: Findings) -> str | None:
    """A required lead name in its canonical spelling (see ``gateway.leads``)."""
    if value is None:
        found.add(path, "is required")
        return None
    name = canonical_lead_name(value) if isinstance(value, str) else None
    if name is None:
        found.add(
            path,
            f"unknown lead name {describe(value)}; accepted names (any case): "
            + ", ".join(LEAD_NAMES),
        )
    return name


def _member(path: str, key: str) -> str:
    shown = key if len(key) <= 40 else key[:37] + "..."
    if not shown.isidentifier():
        return f"{path}[{json.dumps(shown)}]"
    return f"{path}.{shown}" if path else shown


def _suggest(key: str, allowed: Sequence[str]) -> str:
    squashed = {name.replace("_", ""): name for name in allowed}
    match = squashed.get(key.replace("_", "").replace("-", "").lower())
    if match is None:
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        match = close[0] if close else None
    if match is not None:
        return f"did you mean {match!r}?"
    return f"accepted fields: {', '.join(allowed)}"
