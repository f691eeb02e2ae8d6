"""The table's lines from each part's figures: ours, the reference and their ratio."""

from __future__ import annotations

from bench.core import CoreFigures
from bench.open_streams import MemoryFigures
from bench.raw_kafka import RawFigures
from bench.reanalysis import ReanalysisFigures
from bench.report import core_lines, fast_lines, memory_lines, missing_line, reanalysis_lines

MIB = 1024 * 1024


def test_the_core_beside_neurokit_counts_our_leads_and_its_one() -> None:
    core = CoreFigures(
        leads=12,
        samples=1_000_000,
        one_shot=0.4,
        chunked_state=2.0,
        neurokit=0.1,
        beats=2_000,
        neurokit_beats=1_990,
    )
    one_shot, chunked, beats = core_lines(core)
    assert (one_shot.ours, one_shot.reference, one_shot.ratio) == (
        "30.0 M samples/s",
        "10.0 M samples/s",
        "3.00",
    )
    assert (chunked.ours, chunked.ratio) == ("6.0 M samples/s", "0.60")
    assert (beats.ours, beats.reference, beats.ratio) == ("2,000", "1,990", "1.01")


def test_memory_per_stream_is_the_growth_over_the_streams() -> None:
    memory = MemoryFigures(
        streams=1000,
        chunks=3,
        rss_before=100 * MIB,
        rss_after=150 * MIB,
        state_bytes_mean=25 * 1024,
        state_bytes_max=30_000,
        states_seen=1000,
    )
    whole, per_stream = memory_lines(memory)
    assert (whole.ours, whole.reference, whole.ratio) == ("150 MiB", "100 MiB", "1.50")
    assert (per_stream.ours, per_stream.reference, per_stream.ratio) == (
        "51.2 KiB",
        "25.0 KiB",
        "2.05",
    )
    assert "1,000/1,000 states seen" in per_stream.what


def test_a_part_that_did_not_finish_has_a_line_saying_so() -> None:
    raw = RawFigures(10, 12_000, 0.5, 1.0, (0.01,) * 10)
    assert fast_lines(None, raw, 6000) == [missing_line("2. as fast as acks allow")]
    assert memory_lines(None)[0].ours == "-"


def test_the_reanalysis_beside_the_core_says_what_was_replaced() -> None:
    (line,) = reanalysis_lines(ReanalysisFigures(72.0, 8_640, "done"), 48.0, 24)
    assert (line.ours, line.reference, line.ratio) == (
        "72.0 s (1,200 x real time)",
        "48.0 s",
        "1.50",
    )
    assert "8,640 windows replaced" in line.what
    assert reanalysis_lines(None, 48.0, 24)[0].ours == "-"
