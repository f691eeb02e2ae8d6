"""The rows of a window's statistics and of what a lead carries between chunks (see
``lead_stats``), in a module of their own so that the compiled pass (``lead_pass``)
and the numpy reference share them."""

from __future__ import annotations

import enum


class Stat(enum.IntEnum):
    """Rows of a window's statistics (one column per lead)."""

    SAMPLES = 0
    ZERO_CROSSINGS = 1
    SUM = 2
    MIN = 3
    MAX = 4
    AT_MIN = 5  # samples equal to the window's minimum
    AT_MAX = 6
    REPEATS = 7  # samples equal to the sample before them
    HIGH_BAND = 8  # sum of |h|
    QRS_BAND = 9  # sum of |d|
    FILTERED = 10  # how many filter outputs the two sums hold
    BASE_MIN = 11  # min and max of the baseline moving sums (16 blocks)
    BASE_MAX = 12
    BASE_POINTS = 13


N_STATS = len(Stat)


class Carry(enum.IntEnum):
    """Rows of what is carried per lead from one chunk to the next."""

    SIGN = 0  # sign of the last non-zero sample (0: none yet)
    LAST = 1  # last sample
    BLOCK_SUM = 2  # sum of the open baseline block


N_CARRY = len(Carry)
