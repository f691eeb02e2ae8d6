"""The pure parts of ``ecg simulate``: when each chunk is due, which chunk brought a
sample, latency percentiles, the progress line and the closing report.

Times are seconds on one monotonic clock (the event loop's); the report shows
milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np

ACK_PERCENTILES: Final = (50, 90, 99)
WINDOW_PERCENTILES: Final = (50, 99)


def send_time(start: float, period: float, seq: int, device: int, devices: int) -> float:
    """When ``device`` (0-based, of ``devices``) sends chunk ``seq``: one ``period`` per
    chunk from ``start``, the devices spread evenly over the first period so that they
    do not all send at the same instant. Absolute deadlines: a slow ack delays the
    chunks that queue behind it, never the whole schedule that follows. A ``period``
    of 0 (as fast as acks allow) makes every chunk due at once."""
    return start + period * (seq + device / devices)


def chunk_bounds(total_samples: int, chunk_samples: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of every chunk: ``chunk_samples`` each, the last one shorter."""
    if chunk_samples < 1:
        raise ValueError(f"chunk_samples must be positive, got {chunk_samples}")
    return [
        (start, min(start + chunk_samples, total_samples))
        for start in range(0, total_samples, chunk_samples)
    ]


def triggering_chunk(end_sample: int, total_samples: int, chunk_samples: int) -> int | None:
    """The seq of the chunk that brought the last sample of a window ending (exclusive)
    at ``end_sample``, or None for the window that ends the stream: that one is closed
    by the end of the stream, not by a chunk, so its latency counts from the end's ack."""
    if end_sample >= total_samples:
        return None
    return (end_sample - 1) // chunk_samples


def expected_windows(total_samples: int, window_samples: int) -> int:
    """Windows of ``window_samples`` that the stream workers cut ``total_samples`` into
    (the last one partial)."""
    return math.ceil(total_samples / window_samples)


def window_latencies(
    arrivals: Iterable[tuple[int, float]],
    ack_times: Sequence[float],
    end_time: float,
    total_samples: int,
    chunk_samples: int,
) -> list[float]:
    """Seconds from the ack of each window's triggering chunk (``ack_times`` by seq; the
    end's ack ``end_time`` for the last window) to the window's arrival, for the
    ``(end_sample, arrival time)`` of every window that arrived."""
    latencies = []
    for end_sample, arrived in arrivals:
        seq = triggering_chunk(end_sample, total_samples, chunk_samples)
        latencies.append(arrived - (end_time if seq is None else ack_times[seq]))
    return latencies


def lookup_problem(lookup: Mapping[str, Any], samples: int, window_samples: int) -> str | None:
    """What is wrong with the lookup of an ECG streamed with ``samples`` per lead, or
    None when it is done with every sample and every window."""
    if lookup.get("status") != "done":
        return f"its lookup says {lookup.get('status')!r}, not 'done'"
    counts = [lead.get("number_of_samples") for lead in lookup.get("leads", [])]
    if not counts or any(count != samples for count in counts):
        return f"its leads have {counts} samples; {samples} each were sent"
    windows = (lookup.get("windows") or {}).get("count")
    wanted = expected_windows(samples, window_samples)
    if windows != wanted:
        return f"it has {windows} windows; {samples} samples make {wanted} of {window_samples}"
    return None


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retrying a chunk: the server's ``Retry-After`` when it gave one,
    else 0.25 s doubling per failed attempt (1-based), at most 5 s."""
    if retry_after is not None:
        return retry_after
    return min(5.0, 0.25 * 2.0 ** (attempt - 1))


def latency_ms(seconds: Sequence[float], quantiles: Sequence[int]) -> dict[str, float] | None:
    """``{"p50": ..., ..., "max": ...}`` in milliseconds, or None without a value."""
    if not seconds:
        return None
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    figures = {
        f"p{q}": round(float(v), 1)
        for q, v in zip(quantiles, np.percentile(values, quantiles), strict=True)
    }
    figures["max"] = round(float(values.max()), 1)
    return figures


@dataclass(frozen=True)
class Progress:
    elapsed: float
    expected_seconds: float | None  # None at full speed: unknown in advance
    chunks_acked: int
    chunks_total: int
    samples_acked: int
    retries: int
    gaps: int
    failed_devices: int


def progress_line(progress: Progress) -> str:
    """One line of progress, e.g. ``12.0/120 s · chunks 600/6000 (10%) · 7,200
    samples/s · retries 0 · gaps 0``."""
    done = progress.chunks_acked / progress.chunks_total if progress.chunks_total else 1.0
    clock = f"{progress.elapsed:.1f}"
    if progress.expected_seconds is not None:
        clock += f"/{progress.expected_seconds:.0f}"
    rate = progress.samples_acked / progress.elapsed if progress.elapsed > 0 else 0.0
    parts = [
        f"{clock} s",
        f"chunks {progress.chunks_acked}/{progress.chunks_total} ({done:.0%})",
        f"{rate:,.0f} samples/s",
        f"retries {progress.retries}",
        f"gaps {progress.gaps}",
    ]
    if progress.failed_devices:
        parts.append(f"FAILED devices {progress.failed_devices}")
    return " · ".join(parts)


@dataclass(frozen=True)
class Report:
    transport: str
    record: str
    leads: tuple[str, ...]
    sampling_rate: float
    devices: int
    speed: float  # 0: as fast as acks allow
    chunk_samples: int
    seconds: float  # from the first chunk due to the last end acknowledged
    samples_per_lead: int  # sent by each device on each lead
    samples_total: int  # every device, every lead
    samples_per_second: float
    chunks: int
    retries: int
    gaps: int
    late_chunks: int | None  # sent more than one period after their time; None at full speed
    max_lag_ms: float | None
    ack_latency_ms: dict[str, float] | None
    window_latency_ms: dict[str, float] | None
    windows_seen: int
    window_note: str | None  # why the window latency is missing, when it is
    verified: int  # lookups done with every sample and every window
    failures: tuple[str, ...] = field(default=())
    chunk_format: str = "json"  # or "binary"

    @property
    def ok(self) -> bool:
        return self.gaps == 0 and not self.failures and self.verified == self.devices


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data, with its verdict ``ok``."""
    return {**asdict(report), "failures": list(report.failures), "ok": report.ok}


def render_report(report: Report) -> str:
    """The closing table, one figure per line."""
    speed = "as fast as acks allow" if report.speed == 0 else f"{report.speed:g}x real time"
    if report.speed == 1:
        speed = "real time"
    rows = [
        (
            "devices",
            f"{report.devices} x {report.record} ({', '.join(report.leads)} at "
            f"{report.sampling_rate:g} Hz), {speed}, {report.transport} "
            f"({report.chunk_format} chunks)",
        ),
        ("duration", f"{report.seconds:.1f} s"),
        (
            "samples sent",
            f"{report.samples_per_lead:,} per lead per device, {report.samples_total:,} in all",
        ),
        ("achieved", f"{report.samples_per_second:,.0f} samples/s"),
        (
            "chunks",
            f"{report.chunks:,} of {report.chunk_samples} samples per lead "
            f"(retries {report.retries}, gaps {report.gaps})",
        ),
        ("ack latency", _figures(report.ack_latency_ms)),
        ("window latency", _window_figures(report)),
        ("lookups verified", f"{report.verified}/{report.devices}"),
    ]
    if report.late_chunks is not None:
        lag = f"{report.max_lag_ms:.0f} ms" if report.max_lag_ms is not None else "-"
        rows.insert(5, ("behind schedule", f"{report.late_chunks} chunks late, max lag {lag}"))
    rows.append(("result", "OK" if report.ok else "FAILED"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"  failure: {failure}" for failure in report.failures]
    return "\n".join(lines)


def _figures(figures: dict[str, float] | None) -> str:
    if figures is None:
        return "-"
    return ", ".join(f"{name} {value:,.1f} ms" for name, value in figures.items())


def _window_figures(report: Report) -> str:
    if report.window_latency_ms is None:
        return f"not measured: {report.window_note or 'no window arrived'}"
    return f"{_figures(report.window_latency_ms)} ({report.windows_seen:,} windows)"
