"""The analyser's results on the records in data/ stay bitwise what they were.

For each record, one-shot and in 1-s and 10-s chunks (the 10-s ones with the memory
through its bytes after every chunk), every WindowResult and the EcgResult, beats
included, go into one sha256 digest, compared with ``golden_digests.json``; the
10-s run also digests the memory's bytes after every chunk, so a change of the byte
layout shows too. A change that moves any result by one bit fails here: a deliberate
one bumps ``ANALYSER_VERSION`` (``streams/analysis/version.py``) and regenerates the file
with

    .venv/bin/python -m tests.unit.streams.analysis.test_golden

which refuses to record different results under the version already recorded: results
and their version move together, so that a result's ``analyser_version`` names the
detector that computed it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from bench.analysis import config_of
from client.resampling import resample_record
from streams.analysis.results import EcgResult, WindowResult
from streams.analysis.version import ANALYSER_VERSION
from streams.analysis.windows import AnalyserMemory, AnalysisConfig, feed, finish, start_analysis
from tests.conftest import DATA
from tests.records import Record, read_record

GOLDEN = Path(__file__).with_name("golden_digests.json")
RECORDS = (
    "mitdb/100",
    "mitdb/103",
    "mitdb/105",
    "mitdb/106",
    "mitdb/118",
    "ptbdb/s0010_re",
    "ptbdb/s0010_re@500Hz12",  # as ``ecg simulate --rate 500 --leads 12`` sends it
)


@cache
def record_named(name: str) -> Record:
    path, _, resampled = name.partition("@")
    record = read_record(DATA / path)
    return resample_record(record, 500.0, 12) if resampled else record


def _plain(value: Any) -> Any:
    """JSON-ready data; floats as their exact hexadecimal form, so equal text is equal bits."""
    if isinstance(value, float):
        return value.hex() if math.isfinite(value) else repr(value)
    if isinstance(value, np.ndarray):
        return [str(value.dtype), value.tolist()]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def digest_results(windows: list[WindowResult], ecg: EcgResult) -> str:
    results: list[WindowResult | EcgResult] = [*windows, ecg]
    plain = [_plain(dataclasses.asdict(result)) for result in results]
    return hashlib.sha256(json.dumps(plain).encode()).hexdigest()


def analyse(
    signals: NDArray[np.int32], config: AnalysisConfig, chunk: int, state_bytes: bool
) -> tuple[str, str | None]:
    """The results' digest in chunks of ``chunk`` samples; with ``state_bytes`` the memory
    goes through its bytes after every chunk, and the digest of those bytes comes too."""
    memory = start_analysis(signals.shape[0], config)
    windows: list[WindowResult] = []
    states = hashlib.sha256()
    for start in range(0, signals.shape[1], chunk):
        memory, closed = feed(memory, list(signals[:, start : start + chunk]))
        windows += closed
        if state_bytes:
            data = memory.to_bytes()
            states.update(len(data).to_bytes(4, "little") + data)
            memory = AnalyserMemory.from_bytes(data)
    last, ecg = finish(memory)
    return digest_results(windows + last, ecg), states.hexdigest() if state_bytes else None


def digests(name: str) -> dict[str, str]:
    record = record_named(name)
    signals, config = np.ascontiguousarray(record.signals), config_of(record)
    second = round(record.sampling_rate)
    found = {
        "whole": analyse(signals, config, signals.shape[1], False)[0],
        "1 s": analyse(signals, config, second, False)[0],
    }
    found["10 s"], states = analyse(signals, config, 10 * second, True)
    assert states is not None
    found["10 s state bytes"] = states
    return found


@pytest.mark.parametrize("name", RECORDS)
def test_results_are_bitwise_those_recorded(data_dir: Path, name: str) -> None:
    expected = json.loads(GOLDEN.read_text())[name]
    found = digests(name)
    # Any chunking gives the results of the whole, and those are the recorded ones.
    assert found["1 s"] == found["10 s"] == found["whole"]
    assert found == expected


def test_the_results_were_recorded_with_this_version() -> None:
    recorded = json.loads(GOLDEN.read_text())["analyser_version"]
    assert recorded == ANALYSER_VERSION, (
        f"the golden digests were recorded by analyser {recorded}; "
        f"regenerate them for {ANALYSER_VERSION} (see this module)"
    )


def regenerate() -> str:
    """Record the digests of this code under ``ANALYSER_VERSION``; refused when they
    differ from those recorded under the same version."""
    recorded = json.loads(GOLDEN.read_text())
    found = {name: digests(name) for name in RECORDS}
    if recorded.get("analyser_version") == ANALYSER_VERSION and any(
        recorded.get(name) != digest for name, digest in found.items()
    ):
        return (
            f"the results differ from those recorded for analyser {ANALYSER_VERSION}: "
            "bump ANALYSER_VERSION in streams/analysis/version.py first"
        )
    GOLDEN.write_text(json.dumps({"analyser_version": ANALYSER_VERSION, **found}, indent=2) + "\n")
    return f"recorded the digests of analyser {ANALYSER_VERSION}"


if __name__ == "__main__":
    print(regenerate())
