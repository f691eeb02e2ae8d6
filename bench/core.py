"""Part 3 of ``make bench``: the analysis core on one core, on a 12-lead 500 Hz signal
(PTB s0010_re resampled as ``ecg simulate --rate 500 --leads 12`` does, looped), one-shot
and in 1-s chunks with the state turned into bytes and back after each chunk as the
windows agent does, beside NeuroKit2 ``ecg_peaks`` on its first lead; and the core
alone on the 24-hour Holter of part 4, in its 60-s chunks with the state bytes.

It runs in a process of its own pinned to one CPU (``run_on_one_core``), so that the
rest of the benchmark keeps its processors. The measuring is ``bench.analysis``'s.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from bench.analysis import analyse, best, config_of, neurokit_peaks
from bench.records import DATA
from client.resampling import resample_record
from client.wfdb import Record, read_record

T = TypeVar("T")

TWELVE_LEAD = DATA / "ptbdb" / "s0010_re"
HOLTER = DATA / "mitdb" / "100"


@dataclass(frozen=True)
class CoreFigures:
    leads: int
    samples: int  # per lead
    one_shot: float  # seconds, best of the runs
    chunked_state: float
    neurokit: float  # on the first lead
    beats: int
    neurokit_beats: int


def looped(record: Record, seconds: float) -> NDArray[np.int32]:
    """The record's signals repeated to ``seconds``."""
    total = round(seconds * record.sampling_rate)
    repeats = -(-total // record.signals.shape[1])
    return np.ascontiguousarray(np.tile(record.signals, repeats)[:, :total])


def twelve_lead(minutes: float, runs: int) -> CoreFigures:
    record = resample_record(read_record(TWELVE_LEAD), 500.0, 12)
    signals, config = looped(record, minutes * 60), config_of(record)
    first_lead = (signals[0] - record.baselines[0]) / record.gains[0]
    second = round(record.sampling_rate)
    # Untimed first calls: NeuroKit2's import and every first-call cost stay out.
    beats = analyse(signals, config, signals.shape[1], False)
    neurokit_beats = neurokit_peaks(first_lead, record.sampling_rate)
    return CoreFigures(
        leads=signals.shape[0],
        samples=signals.shape[1],
        one_shot=best(runs, lambda: analyse(signals, config, signals.shape[1], False)),
        chunked_state=best(runs, lambda: analyse(signals, config, second, True)),
        neurokit=best(runs, lambda: neurokit_peaks(first_lead, record.sampling_rate)),
        beats=beats,
        neurokit_beats=neurokit_beats,
    )


def holter_seconds(hours: float, chunk_seconds: float = 60.0) -> float:
    """Seconds the core takes over MIT-BIH 100 looped to ``hours``, in its chunks."""
    record = read_record(HOLTER)
    signals = looped(record, hours * 3600)
    chunk = round(chunk_seconds * record.sampling_rate)
    started = time.perf_counter()
    analyse(signals, config_of(record), chunk, True)
    return time.perf_counter() - started


def _pin_to_one_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def run_on_one_core(action: Callable[..., T], *args: object) -> T:
    """``action(*args)`` in a fresh process pinned to one CPU (NeuroKit2 and numpy
    get one thread: ``make bench`` sets OMP_NUM_THREADS and its kin to 1)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_pin_to_one_cpu) as pool:
        return pool.submit(action, *args).result()
