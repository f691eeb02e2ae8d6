"""The one table ``make bench`` prints: each figure of ours beside its reference,
measured in the same run, and their ratio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HEADER = "| section | what | ours | reference | ratio |"


@dataclass(frozen=True)
class Line:
    section: str
    what: str
    ours: str
    reference: str = "-"
    ratio: str = "-"


def ratio(ours: float | None, reference: float | None) -> str:
    """``ours / reference`` to two decimals, or "-" when either is missing or the
    reference is not above 0."""
    if ours is None or reference is None or not reference > 0:
        return "-"
    return f"{ours / reference:.2f}"


def per_second(count: float, unit: str = "samples/s") -> str:
    return f"{count:,.0f} {unit}"


def millions_per_second(count: float, seconds: float) -> str:
    return f"{count / seconds / 1e6:.1f} M samples/s" if seconds > 0 else "-"


def milliseconds(figures: dict[str, float] | None, *names: str) -> str:
    """``p50 9.0 / p99 12.1 ms`` from a report's latency figures (milliseconds)."""
    if not figures:
        return "-"
    return " / ".join(f"{name} {figures[name]:,.1f}" for name in names) + " ms"


def percentiles_ms(seconds: Sequence[float], *quantiles: int) -> dict[str, float]:
    """``{"p50": ..., "p99": ...}`` in milliseconds of ``seconds``; empty without any."""
    if not seconds:
        return {}
    values = np.percentile(np.asarray(seconds, dtype=np.float64) * 1000.0, quantiles)
    return {f"p{q}": float(v) for q, v in zip(quantiles, values, strict=True)}


def render_table(lines: Sequence[Line]) -> str:
    """A markdown table; ``|`` inside a cell is escaped."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = [HEADER, "|---|---|---|---|---|"]
    for line in lines:
        cells = (line.section, line.what, line.ours, line.reference, line.ratio)
        rows.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(rows)
