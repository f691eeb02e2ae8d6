"""A whole ECG as an upload brings it: one int32 array per lead.

``gateway.recordings.bodies`` makes it from the body of ``POST /api/v1/ecg/``; the
recordings repository stores its row and ``gateway.publisher`` publishes its samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class Lead:
    name: str
    signal: NDArray[np.int32]
    gain: float | None = None
    baseline: int | None = None

    @property
    def number_of_samples(self) -> int:
        return int(self.signal.size)


@dataclass(frozen=True, eq=False)
class Upload:
    id: UUID
    date: datetime
    sampling_rate: float | None
    leads: tuple[Lead, ...]
