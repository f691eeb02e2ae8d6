"""Loops compiled by numba, for the few passes of the analysis core where numpy's
per-call cost outweighs the work (a 1-s chunk is a few thousand samples).

Compiled code is cached beside the module (or in numba's user-wide cache) so that a
process loads it in milliseconds instead of compiling it for a second or so; where
neither place is writable (a read-only install run by a user without a home, as in
the container image) each process compiles it once, when the module is imported.
Each compiled pass has a numpy reference that property tests hold it to, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numpy.typing import DTypeLike, NDArray

F = TypeVar("F", bound=Callable[..., Any])


def compiled(signature: str | None = None) -> Callable[[F], F]:
    """``numba.njit`` (eagerly for ``signature``), cached where a cache can be written."""

    def compile_(function: F) -> F:
        try:
            return cast(F, njit(signature, cache=True, nogil=True)(function))
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return cast(F, njit(signature, nogil=True)(function))

    return compile_


def as_argument(array: NDArray[Any], dtype: DTypeLike) -> NDArray[Any]:
    """``array`` as a compiled function's signature takes it: C-contiguous, writable
    (numba types a read-only array apart) and of ``dtype``; copied only if need be."""
    return np.require(array, dtype, ["C", "W"])
