"""What the declared fields (``gateway.declarations``) report to: a ``Findings`` collects
every problem of a body, under its field path, for one 422; and the check for members
that no declaration names."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Final
from uuid import UUID

from gateway.errors import FieldError, InvalidInputError

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
