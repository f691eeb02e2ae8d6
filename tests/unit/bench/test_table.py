"""The table of ``make bench``: ratios, units, percentiles and the markdown."""

from __future__ import annotations

import pytest

from bench.table import (
    HEADER,
    Line,
    millions_per_second,
    milliseconds,
    per_second,
    percentiles_ms,
    ratio,
    render_table,
)


def test_a_ratio_is_ours_over_the_reference_or_a_dash() -> None:
    assert ratio(3.0, 2.0) == "1.50"
    assert ratio(1.0, 3.0) == "0.33"
    assert ratio(None, 2.0) == "-"
    assert ratio(2.0, None) == "-"
    assert ratio(2.0, 0.0) == "-"


def test_units() -> None:
    assert per_second(215_911.4) == "215,911 samples/s"
    assert millions_per_second(3_000_000, 0.1) == "30.0 M samples/s"
    assert millions_per_second(3_000_000, 0.0) == "-"
    assert milliseconds({"p50": 8.94, "p90": 10.0, "p99": 1234.5}, "p50", "p99") == (
        "p50 8.9 / p99 1,234.5 ms"
    )
    assert milliseconds(None, "p50") == "-"


def test_percentiles_are_in_milliseconds() -> None:
    figures = percentiles_ms([0.001 * n for n in range(1, 101)], 50, 99)
    assert figures["p50"] == pytest.approx(50.5)
    assert figures["p99"] == pytest.approx(99.01)
    assert percentiles_ms([], 50) == {}


def test_the_table_is_markdown_with_one_row_per_line() -> None:
    table = render_table(
        [
            Line("1. e2e", "samples/s", "36,000 samples/s", "36,000 samples/s", "1.00"),
            Line("3. core", "a | b", "30.0 M samples/s"),
        ]
    )
    rows = table.splitlines()
    assert rows[0] == HEADER
    assert rows[1] == "|---|---|---|---|---|"
    assert rows[2] == "| 1. e2e | samples/s | 36,000 samples/s | 36,000 samples/s | 1.00 |"
    assert rows[3] == "| 3. core | a \\| b | 30.0 M samples/s | - | - |"
    assert all(row.count(" | ") == 4 for row in rows[2:])
