"""Binary stream chunks as a device writes them (the format of ``gateway.devices.bodies``),
encoded here from the documented layout rather than with the gateway's own constants, so
that the tests check the format and not only the code's agreement with itself."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

HEADER = struct.Struct("<2sBBQ")  # magic, version, sample width, seq


def binary_chunk(
    seq: int,
    signals: Sequence[Sequence[int]] | np.ndarray,
    width: int = 2,
    *,
    magic: bytes = b"EC",
    version: int = 1,
) -> bytes:
    """The chunk ``seq`` of ``signals`` (one row per lead), ``width`` bytes per sample,
    interleaved by sample."""
    samples = np.asarray(signals, dtype=np.int64)
    dtype = {2: "<i2", 4: "<i4"}.get(width, "<i2")  # any other width: a broken chunk
    assert np.array_equal(samples.astype(dtype), samples), "samples out of the width's range"
    return HEADER.pack(magic, version, width, seq) + samples.T.astype(dtype).tobytes()
