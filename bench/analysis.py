"""Throughput of the whole per-window analysis (statistics, quality, QRS detector, RR
and HRV) on one core, one-shot and in 1 s chunks, beside NeuroKit2's ``ecg_peaks`` on
the same records in the same run; the cost per 1 s chunk of 12 leads at 500 Hz, with
and without the memory's round trip through bytes; and the size of the carried state
for 12 leads at 500 Hz.

    make bench-analysis        # or: .venv/bin/python -m bench.analysis [--runs N]

The process is pinned to one CPU. Samples are counted over all leads (a 2-lead record
of 650,000 samples per lead is 1.3 M samples); NeuroKit2 gets the first lead only, so
its figure counts that lead's samples. "1 s chunks + state" also turns the state into
bytes after every chunk that closed a window: the windows agent's checkpoint. Each
figure is the best of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import resample_poly

from bench.records import DATA
from client.wfdb import Record, read_record
from streams.analysis import qrs
from streams.analysis.windows import (
    PIECE_VALUES,
    AnalysisConfig,
    feed,
    finish,
    start_analysis,
)

RECORDS = ("mitdb/100", "mitdb/103", "mitdb/105", "mitdb/106", "mitdb/118", "ptbdb/s0010_re")


@dataclass(frozen=True)
class Row:
    name: str
    leads: int
    samples: int  # per lead
    one_shot: float  # seconds
    detector: float
    chunked: float
    chunked_state: float
    neurokit: float
    beats: int
    neurokit_beats: int


def best(runs: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def config_of(record: Record) -> AnalysisConfig:
    rate = record.sampling_rate
    return AnalysisConfig(
        window_samples=round(10 * rate),
        sampling_rate=rate,
        gains=tuple(record.gains),
        baselines=tuple(record.baselines),
    )


def analyse(
    signals: NDArray[np.int32], config: AnalysisConfig, chunk: int, state_bytes: bool
) -> int:
    """Analyse in chunks of ``chunk`` samples; the number of beats found."""
    memory = start_analysis(signals.shape[0], config)
    beats = 0
    for start in range(0, signals.shape[1], chunk):
        memory, windows = feed(memory, list(signals[:, start : start + chunk]))
        beats += sum(w.beats.size for w in windows)
        if state_bytes and windows:
            memory.to_bytes()
    windows, _ = finish(memory)
    return beats + sum(w.beats.size for w in windows)


def detect_only(signals: NDArray[np.int32], rate: float) -> None:
    """The QRS detector alone, fed the pieces that ``feed`` gives it."""
    memory = qrs.start_detector(signals.shape[0], rate)
    step = max(1024, PIECE_VALUES // signals.shape[0])
    for start in range(0, signals.shape[1], step):
        memory, _, _ = qrs.detect_beats(memory, list(signals[:, start : start + step]))
    qrs.finish_detector(memory)


def neurokit_peaks(lead: NDArray[np.float64], rate: float) -> int:
    nk = importlib.import_module("neurokit2")  # a dev dependency without type hints
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = nk.ecg_peaks(lead, sampling_rate=int(rate))
    return len(info["ECG_R_Peaks"])


def measure(name: str, runs: int) -> Row:
    record = read_record(DATA / name)
    signals = np.ascontiguousarray(record.signals)
    config, rate = config_of(record), record.sampling_rate
    second = round(rate)
    first_lead = (signals[0] - record.baselines[0]) / record.gains[0]
    beats = analyse(signals, config, signals.shape[1], False)
    return Row(
        name=name,
        leads=signals.shape[0],
        samples=signals.shape[1],
        one_shot=best(runs, lambda: analyse(signals, config, signals.shape[1], False)),
        detector=best(runs, lambda: detect_only(signals, rate)),
        chunked=best(runs, lambda: analyse(signals, config, second, False)),
        chunked_state=best(runs, lambda: analyse(signals, config, second, True)),
        neurokit=best(runs, lambda: neurokit_peaks(first_lead, rate)),
        beats=beats,
        neurokit_beats=neurokit_peaks(first_lead, rate),
    )


def state_size(seconds: float = 600.0) -> tuple[int, int, int, int]:
    """(largest state, largest detector state, state after 1 min, state after
    ``seconds``) in bytes, for PTB s0010_re's 12 standard leads taken to 500 Hz and
    repeated to ``seconds``, fed in 1 s chunks."""
    record = read_record(DATA / "ptbdb" / "s0010_re")
    pairs = record.signals[:12, : record.signals.shape[1] // 2 * 2].reshape(12, -1, 2)
    at_500 = pairs.sum(axis=2) // 2  # 1000 Hz to 500 Hz: means of pairs
    repeats = int(np.ceil(seconds * 500 / at_500.shape[1]))
    signals = np.tile(at_500, repeats)[:, : round(seconds * 500)].astype(np.int32)
    config = AnalysisConfig(5000, 500.0, tuple(record.gains[:12]), tuple(record.baselines[:12]))
    memory = start_analysis(12, config)
    largest = largest_detector = after_minute = 0
    for start in range(0, signals.shape[1], 500):
        memory, _ = feed(memory, list(signals[:, start : start + 500]))
        size = len(memory.to_bytes())
        largest = max(largest, size)
        if memory.detector is not None:
            largest_detector = max(largest_detector, len(memory.detector.to_bytes()))
        if start + 500 == 60 * 500:
            after_minute = size
    return largest, largest_detector, after_minute, len(memory.to_bytes())


def ptb_12_leads_500hz(seconds: float) -> tuple[NDArray[np.int32], AnalysisConfig]:
    """PTB s0010_re's 12 standard leads resampled from 1000 to 500 Hz (polyphase, rounded
    to integers) and repeated to ``seconds``: a 12-lead diagnostic ECG."""
    record = read_record(DATA / "ptbdb" / "s0010_re")
    at_500 = np.rint(resample_poly(record.signals[:12].astype(np.float64), 1, 2, axis=1))
    repeats = int(np.ceil(seconds * 500 / at_500.shape[1]))
    signals = np.tile(at_500.astype(np.int32), repeats)[:, : round(seconds * 500)]
    config = AnalysisConfig(5000, 500.0, tuple(record.gains[:12]), tuple(record.baselines[:12]))
    return np.ascontiguousarray(signals), config


@dataclass(frozen=True)
class ChunkCost:
    chunks: int
    one_shot: float  # seconds for the whole signal in one call
    chunked: float  # seconds in 1-s chunks
    chunked_state: float  # the same, the memory to bytes at every checkpoint (window)

    def per_chunk(self, seconds: float) -> float:
        """Milliseconds per chunk."""
        return seconds / self.chunks * 1e3


def chunk_cost(runs: int, seconds: float = 180.0) -> ChunkCost:
    """The per-chunk cost of the analysis for 12 leads at 500 Hz in 1-s chunks, with and
    without the memory's round trip through bytes (as the windows agent does), beside
    one-shot processing of the same ``seconds`` of signal."""
    signals, config = ptb_12_leads_500hz(seconds)
    return ChunkCost(
        chunks=-(-signals.shape[1] // 500),
        one_shot=best(runs, lambda: analyse(signals, config, signals.shape[1], False)),
        chunked=best(runs, lambda: analyse(signals, config, 500, False)),
        chunked_state=best(runs, lambda: analyse(signals, config, 500, True)),
    )


def rate(samples: int, seconds: float) -> str:
    return f"{samples / seconds / 1e6:.1f}"


def _line(name: str, rows: list[Row]) -> str:
    """A table row for one record, or the total of several (their samples over their
    summed times)."""
    leads, samples = rows[0].leads, sum(row.samples for row in rows)
    n = leads * samples

    def total(field: str) -> float:
        return float(sum(getattr(row, field) for row in rows))

    one_shot = total("one_shot")
    return (
        f"| {name} | {leads} x {samples:,} | {rate(n, one_shot)} | "
        f"{total('detector') / one_shot:.0%} | {rate(n, total('chunked'))} | "
        f"{rate(n, total('chunked_state'))} | {rate(samples, total('neurokit'))} | "
        f"{int(total('beats'))} / {int(total('neurokit_beats'))} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("records", nargs="*", default=RECORDS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(
        "| record | leads x samples | one-shot M samples/s | of which QRS detector | "
        "1 s chunks | 1 s chunks + state bytes | NeuroKit2 ecg_peaks (1 lead) | beats: ours / NK |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for name in args.records:
        row = measure(name, args.runs)
        rows.append(row)
        print(_line(row.name, [row]), flush=True)
    mitdb = [row for row in rows if row.name.startswith("mitdb/")]
    if len(mitdb) > 1:  # throughput over a mix of recordings, noisy ones included
        print(_line(f"all {len(mitdb)} MIT-BIH records", mitdb))
    cost, samples = chunk_cost(args.runs), 12 * 180 * 500
    print(
        "\n12 leads at 500 Hz (PTB s0010_re resampled), 3 min: "
        f"one-shot {rate(samples, cost.one_shot)} M samples/s; 1 s chunks "
        f"{cost.per_chunk(cost.chunked):.3f} ms per chunk ({rate(samples, cost.chunked)} M/s); "
        f"with the memory to bytes and back after each chunk "
        f"{cost.per_chunk(cost.chunked_state):.3f} ms ({rate(samples, cost.chunked_state)} M/s)"
    )
    largest, detector, minute, end = state_size()
    print(
        f"\nstate, 12 leads at 500 Hz in 1 s chunks over 10 min: at most {largest:,} bytes "
        f"(of which the QRS detector at most {detector:,}); {minute:,} bytes after 1 min, "
        f"{end:,} after 10 min"
    )


if __name__ == "__main__":
    main()
