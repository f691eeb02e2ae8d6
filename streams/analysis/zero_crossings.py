"""Zero crossings of a lead: sign changes between consecutive non-zero samples.

Zeros are skipped, so ``[1, 0, -1]`` crosses once, ``[1, 0, 1]`` never and
``[5, 0, -5, 0, 5]`` twice. The only memory carried from one chunk to the next is
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


def _signs(values: NDArray[np.signedinteger[Any]]) -> NDArray[np.int64]:
    """-1 or 1 for non-zero values."""
    signs: NDArray[np.int64] = np.where(values < 0, -1, 1)
    return signs


def first_crossings(
    first: NDArray[np.signedinteger[Any]], carried: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Whether each lead crosses zero at its first sample of a chunk, ``first``, given the
    sign ``carried`` into the chunk per lead."""
    crossed: NDArray[np.bool_] = (first != 0) & (carried != 0) & (_signs(first) != carried)
    return crossed


def mark_lead_crossings(
    x: NDArray[np.signedinteger[Any]], carried: NDArray[np.int64]
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Where each lead of ``x`` (leads by samples) crosses zero, given the sign
    ``carried`` into the chunk per lead, and the sign to carry on.

    Adjacent samples of which one is negative cross zero, unless a zero is involved;
    around the (usually few) runs of zeros the crossing is decided against the last
    non-zero sample before the run, or the sign carried into the chunk.
    """
    rows, length = x.shape
    crossed = np.empty((rows, length), dtype=bool)
    negative = x < 0  # a pass over bytes, not samples, finds the changes
    np.not_equal(negative[:, 1:], negative[:, :-1], out=crossed[:, 1:])
    crossed[:, 0] = first_crossings(x[:, 0], carried)
    new_signs = _signs(x[:, -1])
    is_zero = x == 0
    if not is_zero.any():
        return crossed, new_signs
    zeros = np.flatnonzero(is_zero)
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
