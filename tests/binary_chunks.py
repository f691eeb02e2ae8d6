"""Binary stream chunks as devices write them, broken ones too: the samples encoded by
``schemas.binary_chunks``, the header fields as given (a wrong magic, version, width or
seq is what the gateway's tests need to send). tests/unit/schemas/test_binary_chunks.py
checks the encoder against the documented layout, byte by byte."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from schemas.binary_chunks import DTYPES, HEADER, MAGIC, MAX_SEQ, VERSION, encode_binary_chunk


def binary_chunk(
    seq: int,
    signals: Sequence[Sequence[int]] | np.ndarray,
    width: int = 2,
    *,
    magic: bytes = MAGIC,
    version: int = VERSION,
) -> bytes:
    """The chunk ``seq`` of ``signals`` (one row per lead), ``width`` bytes per sample
    (any other width than 2 and 4: int16 samples under that header)."""
    data = bytearray(
        encode_binary_chunk(min(seq, MAX_SEQ), signals, width if width in DTYPES else 2)
    )
    HEADER.pack_into(data, 0, magic, version, width, seq)
    return bytes(data)
