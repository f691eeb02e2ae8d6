"""A result that may be missing, and why.

Every number of the analysis that cannot always be computed is a ``Measure``: a
value, or ``None`` with the reason (``"no sampling rate"``, ``"no gain"``, ``"needs
2 RR intervals, has 1"``). Records and the JSON API carry it as
``{"value": ..., "reason": ...}``, exactly one of the two being null.

Speed: the analyser builds some twenty measures per 10 s window. The ``__init__``
that ``dataclass`` writes for a frozen class sets each field through
``object.__setattr__``, so ``Measure`` defines its own, which writes its two fields
into the instance's ``__dict__`` (what ``object.__setattr__`` ends up doing): about
twice as fast. It stays a frozen dataclass otherwise: the same fields, repr, equality,
hashing, ``dataclasses.fields``/``asdict``/``replace``, and assigning a field raises
``FrozenInstanceError`` (``tests/unit/streams/analysis/test_results.py``). Missing
measures, which repeat, are shared: one immutable instance per reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

NO_SAMPLING_RATE: Final = "no sampling rate"
NO_SAMPLES: Final = "no samples"
NO_GAIN: Final = "no gain"


@dataclass(frozen=True, init=False)
class Measure:
    value: float | int | None
    reason: str | None = None

    def __init__(self, value: float | int | None, reason: str | None = None) -> None:
        attributes = self.__dict__  # frozen: see the module's docstring
        attributes["value"] = value
        attributes["reason"] = reason

    @staticmethod
    def missing(reason: str) -> Measure:
        """The missing measure for ``reason``: one shared instance per reason."""
        return _missing(reason)


@functools.lru_cache(maxsize=1024)
def _missing(reason: str) -> Measure:
    return Measure(None, reason)
