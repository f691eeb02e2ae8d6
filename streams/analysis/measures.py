"""A result that may be missing, and why.

Every number of the analysis that cannot always be computed is a ``Measure``: a
value, or ``None`` with the reason (``"no sampling rate"``, ``"no gain"``, ``"needs
2 RR intervals, has 1"``). Records and the JSON API carry it as
``{"value": ..., "reason": ...}``, exactly one of the two being null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NO_SAMPLING_RATE: Final = "no sampling rate"
NO_SAMPLES: Final = "no samples"
NO_GAIN: Final = "no gain"


@dataclass(frozen=True)
class Measure:
    value: float | int | None
    reason: str | None = None

    @classmethod
    def missing(cls, reason: str) -> Measure:
        return cls(None, reason)
