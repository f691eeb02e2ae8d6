"""Compact binary packing of the analyser's memory.

A memory is written as a sequence of values and read back in the same order: opaque
blobs with a length, float arrays, integer arrays in the narrowest of int8/16/32/64
that holds them (optionally chosen row by row), and Python integers of any size up to
16 bytes (two's complement: the per-ECG sums of samples and of squared RR intervals).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

_U32 = struct.Struct("<I")
_SHAPE = struct.Struct("<BII")
BIG_BYTES = 16
_WIDTHS = ("<i1", "<i2", "<i4", "<i8")
_TYPES = tuple(np.dtype(width) for width in _WIDTHS)
_LIMITS = tuple((-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1) for size in (1, 2, 4, 8))


def _narrowest(low: int, high: int) -> int:
    for code, (smallest, largest) in enumerate(_LIMITS):
        if smallest <= low and high <= largest:
            return code
    raise ValueError("integers beyond int64 cannot be packed as an array")


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def big(self, value: int) -> Writer:
        self._parts.append(value.to_bytes(BIG_BYTES, "little", signed=True))
        return self

    def bigs(self, values: list[int]) -> Writer:
        self._parts.append(_U32.pack(len(values)))
        self._parts.extend(v.to_bytes(BIG_BYTES, "little", signed=True) for v in values)
        return self

    def array(self, values: NDArray[Any], dtype: str | np.dtype[Any]) -> Writer:
        """A 1-D or 2-D array with its shape; ``dtype`` is the wire type (e.g. ``<f8``)."""
        rows, columns = values.shape if values.ndim == 2 else (1, values.size)
        self._parts.append(_SHAPE.pack(values.ndim, rows, columns))
        self._parts.append(values.astype(dtype, copy=False).tobytes())  # tobytes: C order
        return self

    def ints(self, values: NDArray[np.integer[Any]], *, by_row: bool = False) -> Writer:
        """An integer array in the narrowest width that holds it; ``by_row``: a 2-D
        array whose rows each get their own width."""
        if not by_row:
            low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
            code = _narrowest(low, high)
            self._parts.append(bytes((code,)))
            return self.array(values, _TYPES[code])
        lows = values.min(axis=1).tolist() if values.size else [0] * values.shape[0]
        highs = values.max(axis=1).tolist() if values.size else [0] * values.shape[0]
        codes = [_narrowest(low, high) for low, high in zip(lows, highs, strict=True)]
        self._parts.append(_SHAPE.pack(2, *values.shape) + bytes(codes))
        # The matrix in each width its rows need, once; then each row's bytes from it.
        wide = {code: values.astype(_TYPES[code], copy=False).tobytes() for code in set(codes)}
        columns = values.shape[1]
        for row, code in enumerate(codes):
            size = _TYPES[code].itemsize * columns
            self._parts.append(wide[code][row * size : (row + 1) * size])
        return self

    def blob(self, data: bytes) -> Writer:
        self._parts.append(_U32.pack(len(data)))
        self._parts.append(data)
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._offset = 0

    def _skip(self, size: int) -> int:
        """The offset of the next ``size`` bytes, which it passes."""
        start = self._offset
        end = start + size
        if end > len(self._data):
            raise ValueError("analyser memory is truncated")
        self._offset = end
        return start

    def _take(self, size: int) -> bytes:
        start = self._skip(size)
        return self._data[start : start + size]

    def big(self) -> int:
        return int.from_bytes(self._take(BIG_BYTES), "little", signed=True)

    def bigs(self) -> list[int]:
        (count,) = _U32.unpack(self._take(_U32.size))
        data = self._take(BIG_BYTES * count)
        return [
            int.from_bytes(data[at : at + BIG_BYTES], "little", signed=True)
            for at in range(0, len(data), BIG_BYTES)
        ]

    def array(self, dtype: str | np.dtype[Any], into: type[np.generic]) -> NDArray[Any]:
        ndim, rows, columns = _SHAPE.unpack(self._take(_SHAPE.size))
        wire = np.dtype(dtype)
        start = self._skip(wire.itemsize * rows * columns)
        flat = np.frombuffer(self._data, wire, rows * columns, start).astype(into)
        return flat.reshape(rows, columns) if ndim == 2 else flat

    def array_bytes(self, dtype: str) -> bytes:
        """The bytes of an array that ``array`` would read, as they are."""
        _, rows, columns = _SHAPE.unpack(self._take(_SHAPE.size))
        return self._take(np.dtype(dtype).itemsize * rows * columns)

    def ints(self, *, by_row: bool = False) -> NDArray[np.int64]:
        if not by_row:
            return self.array(_TYPES[self._take(1)[0]], np.int64)
        _, rows, columns = _SHAPE.unpack(self._take(_SHAPE.size))
        codes = self._take(rows)
        out = np.empty((rows, columns), dtype=np.int64)
        for row, code in enumerate(codes):
            wire = _TYPES[code]
            start = self._skip(wire.itemsize * columns)
            out[row] = np.frombuffer(self._data, wire, columns, start)
        return out

    def blob(self) -> bytes:
        (size,) = _U32.unpack(self._take(_U32.size))
        return self._take(size)

    def done(self) -> None:
        if self._offset != len(self._data):
            raise ValueError(f"{len(self._data) - self._offset} unexpected bytes after the memory")
