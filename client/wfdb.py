"""A small reader of WFDB records (formats 212 and 16), such as those of MIT-BIH and
PTB in the repository's data/ folder: ``ecg simulate`` streams them, the tests and benchmarks read
them. numpy only: the ``wfdb`` package would pull pandas and matplotlib into the
gateway's dependencies for two binary formats."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Record:
    name: str
    sampling_rate: float
    lead_names: list[str]
    gains: list[float]
    baselines: list[int]
    signals: NDArray[np.int32]  # (leads, samples), ADC units


def read_record(path: Path) -> Record:
    """Read ``path``.hea and its signal file (all signals in one file)."""
    lines = [
        line
        for line in path.with_suffix(".hea").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    _, n_signals, rate, n_samples = lines[0].split()[:4]
    specs = [line.split() for line in lines[1 : 1 + int(n_signals)]]
    signals = np.empty((len(specs), int(n_samples)), dtype=np.int32)
    # Signals stored in the same file are interleaved sample by sample.
    for file_name in dict.fromkeys(spec[0] for spec in specs):
        rows = [i for i, spec in enumerate(specs) if spec[0] == file_name]
        fmt = specs[rows[0]][1]
        raw = (path.parent / file_name).read_bytes()
        count = int(n_samples) * len(rows)
        if fmt == "212":
            flat = _unpack_212(raw, count)
        elif fmt == "16":
            flat = np.frombuffer(raw, dtype="<i2", count=count).astype(np.int32)
        else:
            raise ValueError(f"unsupported WFDB format {fmt}")
        signals[rows] = flat.reshape(-1, len(rows)).T
    return Record(
        name=path.name,
        sampling_rate=float(rate),
        lead_names=[spec[8] if len(spec) > 8 else f"sig{i}" for i, spec in enumerate(specs)],
        gains=[float(spec[2].split("(")[0].split("/")[0]) for spec in specs],
        baselines=[int(spec[4]) for spec in specs],
        signals=signals,
    )


def _unpack_212(raw: bytes, count: int) -> NDArray[np.int32]:
    """Two 12-bit two's-complement samples in every three bytes."""
    triples = np.frombuffer(raw[: (count + 1) // 2 * 3], dtype=np.uint8).reshape(-1, 3)
    triples = triples.astype(np.int32)
    first = triples[:, 0] | ((triples[:, 1] & 0x0F) << 8)
    second = triples[:, 2] | ((triples[:, 1] & 0xF0) << 4)
    flat = np.empty(triples.shape[0] * 2, dtype=np.int32)
    flat[0::2], flat[1::2] = first, second
    flat[flat > 2047] -= 4096
    return flat[:count]
