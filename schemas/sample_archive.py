"""How a sample chunk is kept in PostgreSQL (``ecg_samples``, migration 0010): the
stream worker's archive packs it (``streams.archive``), the gateway unpacks it to serve
an ECG's signal. Lossless: the samples of the ``SampleChunk`` message, at its width.

The frame: each lead's samples delta-coded (the first as it is, then each minus the one
before, wrapping at the width, so every difference fits), the leads one after another,
the bytes of the whole then grouped by significance (all low bytes, then all high
bytes: small differences leave the high ones nearly constant), in one zstd frame at
level 3. On a 12-lead PTB record at 500 Hz this keeps 54 % of the int16 bytes where
zstd alone keeps 76 % (MIT-BIH record 100: 40 % against 51 %), for ~80 us a 12-lead
second, decoding and packing together.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Final

import cramjam
import numpy as np
from numpy.typing import NDArray

from schemas.codec import DecodeError

LEVEL: Final = 3
DTYPES: Final = {2: "<i2", 4: "<i4"}


def pack(sample_width: int, samples: Sequence[bytes]) -> tuple[list[int], bytes]:
    """``(samples per lead, the frame)`` of a chunk's ``samples`` field."""
    dtype = _dtype(sample_width)
    counts = []
    for index, lead in enumerate(samples):
        if len(lead) % sample_width:
            raise DecodeError(
                f"samples[{index}] has {len(lead)} bytes, not a multiple of {sample_width}"
            )
        counts.append(len(lead) // sample_width)
    values = np.frombuffer(b"".join(samples), dtype=dtype)
    deltas = values.copy()
    deltas[1:] -= values[:-1]  # wraps at the width: reversed exactly by unpack
    starts = np.cumsum([0, *counts])[:-1]
    present = [start for start, count in zip(starts.tolist(), counts, strict=True) if count]
    deltas[present] = values[present]  # each lead starts afresh
    grouped = deltas.view(np.uint8).reshape(-1, sample_width).T
    return counts, bytes(cramjam.zstd.compress(grouped.tobytes(), level=LEVEL))


def unpack(sample_width: int, lead_samples: Sequence[int], frame: bytes) -> list[NDArray[np.int32]]:
    """One int32 array per lead of a stored chunk."""
    dtype = _dtype(sample_width)
    grouped = np.frombuffer(bytes(cramjam.zstd.decompress(frame)), dtype=np.uint8)
    if grouped.size != sum(lead_samples) * sample_width:
        raise DecodeError(
            f"a stored chunk holds {grouped.size} bytes, its leads "
            f"{sum(lead_samples) * sample_width}"
        )
    deltas = np.ascontiguousarray(grouped.reshape(sample_width, -1).T).view(dtype).ravel()
    bounds = np.cumsum([0, *lead_samples]).tolist()
    return [
        np.cumsum(deltas[a:b], dtype=dtype).astype(np.int32) for a, b in itertools.pairwise(bounds)
    ]


def _dtype(sample_width: int) -> str:
    dtype = DTYPES.get(sample_width)
    if dtype is None:
        raise DecodeError(f"sample_width must be 2 or 4, got {sample_width}")
    return dtype
