from __future__ import annotations

import numpy as np
import pytest

from streams.analysis.packing import Reader, Writer


def test_values_come_back_in_order() -> None:
    matrix = np.array([[1, -2, 3], [2**40, 0, -(2**40)]], dtype=np.int64)
    data = (
        Writer()
        .big(2**100)
        .bigs([-(2**70), 3])
        .ints(matrix)
        .ints(matrix, by_row=True)
        .ints(np.array([1, -1], dtype=np.int64))
        .ints(np.zeros((2, 0), dtype=np.int64), by_row=True)
        .array(np.array([1.5, np.nan]), "<f8")
        .blob(b"detector")
        .to_bytes()
    )
    reader = Reader(data)
    assert reader.big() == 2**100
    assert reader.bigs() == [-(2**70), 3]
    assert np.array_equal(reader.ints(), matrix)
    assert np.array_equal(reader.ints(by_row=True), matrix)
    assert reader.ints().tolist() == [1, -1]
    assert reader.ints(by_row=True).shape == (2, 0)
    assert np.array_equal(reader.array("<f8", np.float64), [1.5, np.nan], equal_nan=True)
    assert reader.blob() == b"detector"
    reader.done()


def test_small_integers_take_small_room() -> None:
    narrow = Writer().ints(np.arange(100, dtype=np.int64)).to_bytes()
    wide = Writer().ints(np.arange(100, dtype=np.int64) * 2**33).to_bytes()
    assert len(narrow) == 1 + 9 + 100
    assert len(wide) == 1 + 9 + 800
    rows = np.stack([np.arange(100), np.arange(100) * 2**33])
    assert len(Writer().ints(rows, by_row=True).to_bytes()) == 9 + 2 + 100 + 800


def test_truncated_or_overlong_state_is_refused() -> None:
    data = Writer().blob(b"abc").to_bytes()
    with pytest.raises(ValueError, match="truncated"):
        Reader(data[:-1]).blob()
    reader = Reader(data + b"x")
    reader.blob()
    with pytest.raises(ValueError, match="1 unexpected bytes"):
        reader.done()
