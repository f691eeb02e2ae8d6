from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gateway.signals import SignalError, to_signal


def test_integers_become_read_only_int32() -> None:
    signal = to_signal([12, -3, 0, 7, 2**31 - 1, -(2**31)])
    assert signal.dtype == np.int32
    assert signal.tolist() == [12, -3, 0, 7, 2**31 - 1, -(2**31)]
    assert not signal.flags.writeable


@pytest.mark.parametrize(
    ("value", "index", "message"),
    [
        ([1, 2, 1.5], 2, "expected an integer, got 1.5"),
        ([1.0], 0, "expected an integer, got 1.0"),
        ([0, True], 1, "expected an integer, got true"),
        ([False, 1], 0, "expected an integer, got false"),
        ([1, "2"], 1, 'expected an integer, got "2"'),
        ([None], 0, "expected an integer, got null"),
        ([1, {}], 1, "expected an integer, got an object"),
        ([1, 2.5, 3, 4.5, 5.5], 1, "expected an integer, got 2.5 (2 more non-integer samples"),
        ([0, 2**31], 1, "2147483648 is outside the signed 32-bit range"),
        ([-(2**31) - 1], 0, "-2147483649 is outside the signed 32-bit range"),
        (
            [0, 10**30, 2**31],
            1,
            "1000000000000000000000000000000 is outside the signed 32-bit range"
            " [-2147483648, 2147483647] (1 more out-of-range sample in this lead)",
        ),
    ],
)
def test_bad_samples_are_located(value: list[Any], index: int, message: str) -> None:
    with pytest.raises(SignalError) as raised:
        to_signal(value)
    assert raised.value.index == index
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("value", [[], "1,2", {"0": 1}, 5])
def test_not_a_non_empty_array(value: object) -> None:
    with pytest.raises(SignalError) as raised:
        to_signal(value)
    assert raised.value.index is None


def test_large_signal_is_converted_exactly() -> None:
    values = np.random.default_rng(7).integers(-(2**31), 2**31, 1_000_000).tolist()
    assert np.array_equal(to_signal(values), np.array(values, dtype=np.int64))
