"""The binary chunk of a device stream: what a device too small to write JSON sends
(``application/octet-stream`` bodies and WebSocket binary frames). Format version 1:

- a 12-byte header: bytes 0-1 the ASCII magic ``EC``; byte 2 the format version, 1;
  byte 3 the sample width in bytes, 2 (int16) or 4 (int32); bytes 4-11 ``seq``, unsigned
  64-bit little-endian, at most 2**63 - 1 (an Avro long);
- then the samples, signed little-endian integers of that width, interleaved by sample
  in the order the stream's opening declared the leads: sample 0 of lead 0, sample 0 of
  lead 1, ..., sample 1 of lead 0, ... The payload is a non-zero whole number of samples
  (width x leads bytes each), at most ``max_samples`` per lead.

Interleaving is what a recorder's ADC loop writes naturally; the width is per chunk, so
a device sends int16 while its values fit and int32 when they do not. The magic and the
version are read first: when they are wrong nothing else of the body can be trusted,
so they are the only problem reported. The client encodes, the gateway decodes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

HEADER: Final = struct.Struct("<2sBBQ")  # magic, version, sample width, seq
MAGIC: Final = b"EC"
VERSION: Final = 1
DTYPES: Final = {2: "<i2", 4: "<i4"}  # numpy dtypes by sample width
MAX_SEQ: Final = 2**63 - 1  # an Avro long

Signals = Sequence[Sequence[int]] | NDArray[Any]


class BinaryChunkError(ValueError):
    """What is wrong with a binary chunk: one ``(part, message)`` per problem, the part one
    of ``header``, ``header.magic``, ``header.version``, ``header.sample_width``,
    ``header.seq`` and ``samples``."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{part}: {message}" for part, message in problems))
        self.problems = tuple(problems)


def encode_binary_chunk(seq: int, signals: Signals, width: int | None = None) -> bytes:
    """Chunk ``seq`` of ``signals`` (one row of integers per lead), ``width`` bytes per
    sample: by default 2 when every sample fits in int16, else 4."""
    samples = np.asarray(signals)
    if samples.dtype.kind not in "iu":  # lists of ints; NumPy integers are taken as they are
        samples = np.asarray(signals, dtype=np.int64)
    low, high = (int(samples.min()), int(samples.max())) if samples.size else (0, 0)
    if width is None:
        width = 2 if low >= -(2**15) and high < 2**15 else 4
    if width not in DTYPES:
        raise ValueError(f"the sample width is 2 or 4 bytes, not {width}")
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"seq must be from 0 to {MAX_SEQ}, got {seq}")
    if low < -(2 ** (8 * width - 1)) or high >= 2 ** (8 * width - 1):
        raise ValueError(f"a sample does not fit in {width} bytes")
    return HEADER.pack(MAGIC, VERSION, width, seq) + samples.T.astype(DTYPES[width]).tobytes()


def decode_binary_chunk(
    data: bytes | bytearray, n_leads: int, max_samples: int
) -> tuple[int, NDArray[np.signedinteger[Any]]]:
    """The seq and the samples (one row per lead, of the chunk's width: int16 or int32;
    read-only, C-contiguous, never a view of ``data``) of the chunk ``data`` of a stream
    of ``n_leads`` leads, with at most ``max_samples`` per lead; BinaryChunkError names
    every part that is wrong."""
    problems: list[tuple[str, str]] = []
    width, seq = _header(data, problems)
    signals = None if width is None else _interleaved(data, width, n_leads, max_samples, problems)
    if problems:
        raise BinaryChunkError(problems)
    assert seq is not None
    assert signals is not None
    return seq, signals


def read_seq(data: bytes | bytearray) -> int | None:
    """The seq in the header of ``data``, if its magic, version and seq are right."""
    if len(data) < HEADER.size:
        return None
    magic, version, _, seq = HEADER.unpack_from(data)
    ok = magic == MAGIC and version == VERSION and seq <= MAX_SEQ
    return int(seq) if ok else None


def _header(
    data: bytes | bytearray, problems: list[tuple[str, str]]
) -> tuple[int | None, int | None]:
    """The sample width and the seq of the header, each None when it is wrong."""
    if len(data) < HEADER.size:
        problems.append(
            (
                "header",
                f"the body has {_count(len(data), 'byte')}; a binary chunk starts with a "
                f"{HEADER.size}-byte header: the magic 'EC', the version {VERSION}, "
                "the sample width and the seq",
            )
        )
        return None, None
    magic, version, width, seq = HEADER.unpack_from(data)
    if magic != MAGIC:
        json = data[:1] == b"{"
        hint = "; this looks like a JSON chunk: send it as application/json" if json else ""
        problems.append(
            ("header.magic", f"expected the ASCII magic 'EC' in bytes 0-1, got {magic!r}{hint}")
        )
        return None, None
    if version != VERSION:
        problems.append(("header.version", f"expected format version {VERSION}, got {version}"))
        return None, None
    if width not in DTYPES:
        problems.append(
            (
                "header.sample_width",
                f"expected the bytes per sample, 2 (int16) or 4 (int32), got {width}",
            )
        )
        width = None
    if seq > MAX_SEQ:
        problems.append(
            ("header.seq", f"expected a seq from 0 (the first chunk) to {MAX_SEQ}, got {seq}")
        )
        seq = None
    return width, seq


def _interleaved(
    data: bytes | bytearray,
    width: int,
    n_leads: int,
    max_samples: int,
    problems: list[tuple[str, str]],
) -> NDArray[np.signedinteger[Any]] | None:
    """The samples after the header, de-interleaved: one row per lead, in one copy."""
    size = len(data) - HEADER.size
    frame = width * n_leads
    per_sample = f"{_count(n_leads, 'lead')} x {width} bytes = {frame} bytes per sample"
    if size == 0:
        problems.append(
            ("samples", f"none after the header; a chunk has at least one ({per_sample})")
        )
        return None
    if size % frame:
        problems.append(
            (
                "samples",
                f"{size} bytes after the header is not a whole number of samples: {per_sample}",
            )
        )
        return None
    if size // frame > max_samples:
        problems.append(
            (
                "samples",
                f"has {size // frame} samples per lead; a chunk takes at most {max_samples}: "
                "send them in several chunks",
            )
        )
        return None
    interleaved = np.frombuffer(data, DTYPES[width], offset=HEADER.size)
    # (samples, leads) -> (leads, samples): each lead contiguous, and never a view of a
    # buffer that the caller may reuse. The width stays: a SampleChunk message has it.
    signals: NDArray[np.signedinteger[Any]] = np.array(
        interleaved.reshape(-1, n_leads).T, order="C"
    )
    signals.flags.writeable = False
    return signals


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
