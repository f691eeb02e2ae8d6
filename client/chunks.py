"""A chunk that the simulated devices send: its seq and samples, and its binary body,
encoded once however many devices send it (every device of ``ecg simulate`` streams the
same record, so chunk ``seq`` is the same for all of them)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from schemas.binary_chunks import encode_binary_chunk


@dataclass(frozen=True, eq=False)
class Chunk:
    seq: int
    signal: NDArray[np.int32]  # one row of samples per lead

    @cached_property
    def binary(self) -> bytes:
        """The ``application/octet-stream`` body, and WebSocket binary frame, of the chunk
        (``schemas.binary_chunks``)."""
        return encode_binary_chunk(self.seq, self.signal)
