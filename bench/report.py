"""The table's lines for each part of ``make bench``, from its figures: what was
measured, ours, the reference measured beside it, and the ratio."""

from __future__ import annotations

from collections.abc import Sequence

from bench.core import CoreFigures
from bench.open_streams import MemoryFigures
from bench.pipeline import Run
from bench.processes import CpuUse
from bench.raw_kafka import RawFigures
from bench.reanalysis import ReanalysisFigures
from bench.table import Line, millions_per_second, milliseconds, per_second, percentiles_ms, ratio

MIB = 1024 * 1024


def missing_line(section: str) -> Line:
    return Line(section, "did not finish within its bound (see stderr)", "-")


def _verified(run: Run) -> str:
    report = run.report
    verdict = "" if report.ok else ", FAILED"
    return f"{report.verified}/{report.devices} lookups verified{verdict}"


def _cpu(uses: Sequence[CpuUse]) -> str:
    return ", ".join(f"{use.name} {use.percent:.0f} %" for use in uses)


def e2e_lines(run: Run, devices: int) -> list[Line]:
    report, section = run.report, "1. e2e, real time"
    offered = devices * len(report.leads) * report.sampling_rate
    window = report.window_latency_ms
    return [
        Line(
            section,
            f"{devices} devices x {len(report.leads)} leads x {report.sampling_rate:g} Hz, "
            f"1-s binary chunks over WebSocket, {report.samples_per_lead / report.sampling_rate:g} "
            f"s: samples/s sustained ({_verified(run)}, {report.late_chunks or 0} chunks late) "
            "vs offered",
            per_second(report.samples_per_second),
            per_second(offered),
            ratio(report.samples_per_second, offered),
        ),
        Line(section, "ack latency p50 / p99", milliseconds(report.ack_latency_ms, "p50", "p99")),
        Line(
            section,
            "chunk → window result p50 / p99 vs one chunk period (a window closes with the "
            "next chunk)",
            milliseconds(window, "p50", "p99"),
            "1,000.0 ms",
            ratio(window["p50"] if window else None, 1000.0),
        ),
        Line(section, f"CPU over {run.seconds:.0f} s, % of one core", _cpu(run.cpu)),
    ]


def fast_lines(run: Run | None, raw: RawFigures | None, samples_per_message: int) -> list[Line]:
    section = "2. as fast as acks allow"
    raw_rate = raw.messages * samples_per_message / raw.seconds if raw else None
    raw_acks = percentiles_ms(raw.ack_seconds, 50, 99) if raw else {}
    if run is None:
        return [missing_line(section)]
    report = run.report
    messages = f"{raw.messages:,} messages of {raw.message_bytes:,} bytes" if raw else "messages"
    return [
        Line(
            section,
            f"{report.devices} devices x {report.samples_per_lead / report.sampling_rate:g} s of "
            f"record, samples/s acked ({_verified(run)}) vs aiokafka alone: the same "
            f"{messages} (acks=all, idempotent, zstd, {report.devices} senders each awaiting "
            "its ack), first send → last consumed",
            per_second(report.samples_per_second),
            per_second(raw_rate) if raw_rate else "-",
            ratio(report.samples_per_second, raw_rate),
        ),
        Line(
            section,
            "ack latency p50 / p99 vs aiokafka's send → ack",
            milliseconds(report.ack_latency_ms, "p50", "p99"),
            milliseconds(raw_acks, "p50", "p99"),
            ratio(
                report.ack_latency_ms["p50"] if report.ack_latency_ms else None,
                raw_acks.get("p50"),
            ),
        ),
        Line(
            section,
            "start → every lookup done (the worker's backlog included) vs aiokafka's "
            "first send → last consumed",
            f"{run.seconds:.1f} s",
            f"{raw.seconds:.1f} s" if raw else "-",
            ratio(run.seconds, raw.seconds if raw else None),
        ),
        Line(section, f"CPU over {run.seconds:.0f} s, % of one core", _cpu(run.cpu)),
    ]


def core_lines(core: CoreFigures) -> list[Line]:
    section = "3. analysis core, one core"
    ours_n = core.leads * core.samples
    what = f"{core.leads} leads x {core.samples:,} samples at 500 Hz"
    nk = core.samples / core.neurokit
    timed = (
        ("one-shot, samples/s over all leads", core.one_shot),
        ("1-s chunks + state to bytes at each window (checkpoint)", core.chunked_state),
    )
    return [
        *(
            Line(
                section,
                f"{what}, {how} vs NeuroKit2 ecg_peaks on lead 1 (one-shot)",
                millions_per_second(ours_n, seconds),
                millions_per_second(core.samples, core.neurokit),
                ratio(ours_n / seconds, nk),
            )
            for how, seconds in timed
        ),
        Line(
            section,
            "beats found vs NeuroKit2's",
            f"{core.beats:,}",
            f"{core.neurokit_beats:,}",
            ratio(core.beats, core.neurokit_beats),
        ),
    ]


def holter_lines(run: Run | None, core_seconds: float, hours: float) -> list[Line]:
    section = "4. Holter"
    if run is None:
        return [missing_line(section)]
    report = run.report
    return [
        Line(
            section,
            f"{hours:g} h of 2 leads at 360 Hz (MIT-BIH 100 looped), 60-s binary chunks over "
            f"one WebSocket as fast as acks allow: start → lookup done ({_verified(run)}) vs "
            "the analysis core alone in the same chunks on one core",
            f"{run.seconds:.1f} s ({hours * 3600 / run.seconds:,.0f} x real time)",
            f"{core_seconds:.1f} s",
            ratio(run.seconds, core_seconds),
        ),
        Line(
            section,
            "ack latency p50 / p99 of a 60-s chunk",
            milliseconds(report.ack_latency_ms, "p50", "p99"),
        ),
        Line(section, f"CPU over {run.seconds:.0f} s, % of one core", _cpu(run.cpu)),
    ]


def reanalysis_lines(
    figures: ReanalysisFigures | None, core_seconds: float, hours: float
) -> list[Line]:
    section = "4. Holter"
    if figures is None:
        return [missing_line(section)]
    return [
        Line(
            section,
            f"the same {hours:g} h analysed again from the samples stored in PostgreSQL "
            f"(POST …/analyses → {figures.status}, {figures.windows:,} windows replaced in "
            "one transaction) vs the analysis core alone",
            f"{figures.seconds:.1f} s ({hours * 3600 / figures.seconds:,.0f} x real time)",
            f"{core_seconds:.1f} s",
            ratio(figures.seconds, core_seconds),
        )
    ]


def memory_lines(memory: MemoryFigures | None) -> list[Line]:
    section = "5. open streams"
    if memory is None:
        return [missing_line(section)]
    grown = (memory.rss_after - memory.rss_before) / memory.streams
    return [
        Line(
            section,
            f"worker RSS with {memory.streams:,} 12-lead 500 Hz streams open "
            f"({memory.chunks} chunks each) vs before them",
            f"{memory.rss_after / MIB:,.0f} MiB",
            f"{memory.rss_before / MIB:,.0f} MiB",
            ratio(memory.rss_after, memory.rss_before),
        ),
        Line(
            section,
            f"per stream: RSS growth vs the state bytes on the changelog (mean; max "
            f"{memory.state_bytes_max:,}; {memory.states_seen:,}/{memory.streams:,} states seen)",
            f"{grown / 1024:,.1f} KiB",
            f"{memory.state_bytes_mean / 1024:,.1f} KiB",
            ratio(grown, memory.state_bytes_mean),
        ),
    ]
