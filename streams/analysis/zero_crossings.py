"""Zero crossings of a lead: sign changes between consecutive non-zero samples.

Zeros are skipped, so ``[1, 0, -1]`` crosses once, ``[1, 0, 1]`` never and
``[5, 0, -5, 0, 5]`` twice. The only state carried from one chunk to the next is
the sign of the last non-zero sample seen, so any cut of a signal into chunks
gives the same count as the whole signal. ``mark_lead_crossings`` does the same for
many leads at once, with a few vectorised passes however many zeros there are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def mark_zero_crossings(
    signal: NDArray[np.integer[Any]], previous_sign: int = 0
) -> tuple[NDArray[np.bool_], int]:
    """Mark each sample at which the signal has crossed zero.

    ``previous_sign`` is the sign (-1, 0 or 1) of the last non-zero sample
    before ``signal`` (0 when there was none). Returns a boolean array, true at
    every non-zero sample whose sign differs from the previous non-zero
    sample's, and the sign to carry into the next chunk.
    """
    signs = np.sign(signal).astype(np.int8, copy=False)
    nonzero = np.flatnonzero(signs)
    crossed = np.zeros(signs.shape, dtype=np.bool_)
    if nonzero.size == 0:
        return crossed, previous_sign
    nonzero_signs = signs[nonzero]
    crossed[nonzero[1:]] = nonzero_signs[1:] != nonzero_signs[:-1]
    crossed[nonzero[0]] = previous_sign != 0 and nonzero_signs[0] != previous_sign
    return crossed, int(nonzero_signs[-1])


def count_zero_crossings(signal: NDArray[np.integer[Any]], previous_sign: int = 0) -> int:
    """Count the zero crossings of a whole signal (see ``mark_zero_crossings``)."""
    crossed, _ = mark_zero_crossings(signal, previous_sign)
    return int(np.count_nonzero(crossed))


def _signs(values: NDArray[np.int32]) -> NDArray[np.int64]:
    """-1 or 1 for non-zero values."""
    signs: NDArray[np.int64] = np.where(values < 0, -1, 1)
    return signs


def mark_lead_crossings(
    x: NDArray[np.int32], carried: NDArray[np.int64]
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Where each lead of ``x`` (leads by samples) crosses zero, given the sign
    ``carried`` into the chunk per lead, and the sign to carry on.

    Adjacent samples whose sign bits differ cross zero, unless a zero is involved; around
    the (usually few) runs of zeros the crossing is decided against the last non-zero
    sample before the run, or the sign carried into the chunk.
    """
    rows, length = x.shape
    crossed = np.empty((rows, length), dtype=bool)
    np.less(x[:, 1:] ^ x[:, :-1], 0, out=crossed[:, 1:])
    first = x[:, 0]
    crossed[:, 0] = (first != 0) & (carried != 0) & (_signs(first) != carried)
    new_signs = _signs(x[:, -1])
    zeros = np.flatnonzero(x == 0)
    if zeros.size == 0:
        return crossed, new_signs
    flat, marks = x.ravel(), crossed.ravel()
    marks[zeros] = False
    column = zeros % length
    run_start = np.ones(zeros.size, dtype=bool)
    run_start[1:] = zeros[1:] != zeros[:-1] + 1
    run_start |= column == 0
    run_end = np.ones(zeros.size, dtype=bool)
    run_end[:-1] = run_start[1:]
    run_end |= column == length - 1
    starts, ends = zeros[run_start], zeros[run_end]
    row = starts // length
    at_row_start = starts % length == 0
    before = np.where(at_row_start, carried[row], _signs(flat[np.maximum(starts - 1, 0)]))
    inside = ends % length != length - 1
    after = ends[inside] + 1
    marks[after] = (before[inside] != 0) & (_signs(flat[after]) != before[inside])
    ending = ~inside  # runs of zeros that end their lead's chunk: the sign before them goes on
    new_signs[row[ending]] = before[ending]
    return crossed, new_signs
