"""A lead's ``signal``: a JSON array of integers in the signed 32-bit range, as int32.

Checked without a Python loop over samples: ``set(map(type, ...))`` finds the
element types in C (``bool`` is its own type there, so ``true`` is caught, which
``numpy.array`` would silently turn into 1), and numpy converts and range-checks
the values. Finding *where* a bad sample is costs more, but only on the error path.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from gateway.errors import describe
from schemas.codec import INT32_MAX, INT32_MIN

INT32_RANGE: Final = f"[{INT32_MIN}, {INT32_MAX}]"


class SignalError(ValueError):
    """What is wrong with a signal, and at which sample (None: the signal as a whole)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def to_signal(value: object) -> NDArray[np.int32]:
    """The samples as a read-only int32 array; ``SignalError`` for the first problem."""
    if not isinstance(value, list):
        raise SignalError(f"expected an array of integers, got {describe(value)}")
    if not value:
        raise SignalError("must contain at least one sample")
    kinds = set(map(type, value))
    if kinds != {int}:
        raise _non_integer(value, kinds)
    try:
        signal = np.fromiter(value, dtype=np.int32, count=len(value))
    except OverflowError:
        raise _out_of_range(value) from None
    signal.flags.writeable = False
    return signal


def _non_integer(value: list[Any], kinds: set[type]) -> SignalError:
    types = list(map(type, value))
    first = min(types.index(kind) for kind in kinds if kind is not int)
    others = len(types) - types.count(int) - 1
    more = f" ({_count(others, 'more non-integer sample')} in this lead)" if others else ""
    return SignalError(f"expected an integer, got {describe(value[first])}{more}", first)


def _out_of_range(value: list[int]) -> SignalError:
    # An object array compares Python ints of any size, still without a Python loop.
    objects = np.array(value, dtype=object)
    bad = np.flatnonzero((objects < INT32_MIN) | (objects > INT32_MAX))
    first = int(bad[0])
    others = int(bad.size) - 1
    more = f" ({_count(others, 'more out-of-range sample')} in this lead)" if others else ""
    return SignalError(
        f"{describe(value[first])} is outside the signed 32-bit range {INT32_RANGE}{more}", first
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
