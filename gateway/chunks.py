"""Cutting an ECG's signals into the chunks that travel as ``SampleChunk`` messages.

Chunk ``k`` holds samples ``[k*C, (k+1)*C)`` of every lead, so ``start_sample``
is the same for all leads; a lead that has ended contributes an empty slice. ``C``
comes from a byte budget so that no message comes near Kafka's 1 MB limit.
Pure functions: arrays in, views of them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from schemas.codec import INT16_MAX, INT16_MIN

Signal = NDArray[np.integer[Any]]


@dataclass(frozen=True, eq=False)
class Chunk:
    seq: int
    start_sample: int
    final: bool
    samples: tuple[Signal, ...]


def sample_width(signals: Sequence[Signal]) -> int:
    """Bytes per sample on the wire: 2 when every value fits in int16, else 4
    (the rule of ``schemas.codec.encode_samples``, applied to the whole ECG)."""
    for signal in signals:
        if signal.size and (int(signal.min()) < INT16_MIN or int(signal.max()) > INT16_MAX):
            return 4
    return 2


def samples_per_chunk(n_leads: int, width: int, chunk_bytes: int) -> int:
    """How many samples of each lead fit in ``chunk_bytes`` of raw sample data."""
    if n_leads < 1 or width < 1:
        raise ValueError("need at least one lead and a positive sample width")
    return max(1, chunk_bytes // (n_leads * width))


def split_into_chunks(signals: Sequence[Signal], chunk_length: int) -> list[Chunk]:
    """Chunks of ``chunk_length`` samples per lead; always at least one, the last final."""
    if chunk_length < 1:
        raise ValueError(f"chunk_length must be positive, got {chunk_length}")
    longest = max((signal.size for signal in signals), default=0)
    count = max(1, -(-longest // chunk_length))
    return [
        Chunk(
            seq=seq,
            start_sample=seq * chunk_length,
            final=seq == count - 1,
            samples=tuple(
                signal[seq * chunk_length : (seq + 1) * chunk_length] for signal in signals
            ),
        )
        for seq in range(count)
    ]
