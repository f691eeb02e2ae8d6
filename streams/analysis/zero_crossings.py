"""Zero crossings of a lead: sign changes between consecutive non-zero samples.

Zeros are skipped, so ``[1, 0, -1]`` crosses once, ``[1, 0, 1]`` never and
``[5, 0, -5, 0, 5]`` twice. The only state carried from one chunk to the next is
the sign of the last non-zero sample seen, so any cut of a signal into chunks
gives the same count as the whole signal.
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
