"""Score the QRS detector on the annotated MIT-BIH records, beside NeuroKit2.

    .venv/bin/python -m bench.eval            (or: make eval)

For each record (100, 103, 105, 106, 118) at its own 360 Hz and resampled to
128, 250, 500 and 1000 Hz, it runs our detector on both leads in one call and
in 10-s chunks (the two must give identical beats), and NeuroKit2's
``ecg_clean`` + ``ecg_peaks`` (method "neurokit") on the first lead (MLII), in
one call and on each 10-s chunk separately (NeuroKit2 keeps no state between
calls). Then our detector on the second lead alone (V1, V2 or V5) at 360 Hz,
and the detector's speed. Prints one markdown table.

Scoring: the reference beats are the .atr annotations with a beat symbol
(N L R B A a J S V r F e j n E / f Q ?); ventricular flutter and fibrillation episodes
("[" to "]", with no beat annotations) are left out, as EC57 and PhysioNet's bxb do.
Detections are taken in time order, each matched to the nearest reference beat within
+-150 ms that no earlier detection took (greedy); TP matched, FP unmatched detections, FN unmatched
reference beats; Se = TP / (TP + FN), +P = TP / (TP + FP); "gross" sums the
counts over records.

Resampling is done honestly, as a recorder at that rate would have sampled:
``scipy.signal.resample_poly`` (a zero-phase polyphase low-pass) on the signal,
rounded back to integer ADC units, and the annotation times scaled by the rate
ratio and rounded.

Records come from the repository's ``data/`` folder.
``--extra DIR ...`` also scores every annotated WFDB record found under the given
folders (for instance the rest of the MIT-BIH Arrhythmia Database from PhysioNet), at
its own sampling rate, and adds their gross: the detector is not tuned to the five.
Then the beat classes, V and S per AAMI EC57, on the same records (``bench.eval_classes``).
Records among them that mark atrial fibrillation also score the AF events
(``bench.eval_af``), those with annotations only (no .dat) on their reference beats.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from bench.records import DATA
from client.wfdb import read_record
from streams.analysis.qrs import detect_beats, finish_detector, start_detector

RECORDS = ("100", "103", "105", "106", "118")
RATES = (360.0, 128.0, 250.0, 500.0, 1000.0)
TOLERANCE_S = 0.150
CHUNK_S = 10.0

# WFDB annotation codes (ecgcodes.h) of the beat symbols N L R B A a J S V r F e j n E / f Q ?
BEAT_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 38, 41})
_SKIP, _NUM, _SUB, _CHN, _AUX = 59, 60, 61, 62, 63
_RHYTHM, _VF_ON, _VF_OFF = 28, 32, 33  # "+" (rhythm in the aux text), "[" and "]"

Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Annotations:
    beats: Ints  # sample indices of the beat annotations
    codes: NDArray[np.int16]  # their WFDB codes
    rhythms: list[tuple[int, str]]  # rhythm changes: sample, rhythm ("(AFIB", "(N", ...)
    flutter: list[tuple[int, int]]  # ventricular flutter/fibrillation episodes ([ to ])
    last: int  # the last annotation's sample


def read_annotations(path: Path) -> Annotations:
    """``path``.atr (WFDB MIT format): beats, rhythm changes and VF episodes."""
    words = np.frombuffer(path.with_suffix(".atr").read_bytes(), dtype="<u2")
    beats: list[int] = []
    codes: list[int] = []
    rhythms: list[tuple[int, str]] = []
    flutter: list[tuple[int, int]] = []
    time_, last_code, flutter_on, i = 0, -1, -1, 0
    while i < words.size:
        code, value = int(words[i]) >> 10, int(words[i]) & 0x3FF
        if code == 0 and value == 0:
            break
        if code == _SKIP:  # a 32-bit interval follows, high word first
            time_ += (int(words[i + 1]) << 16) | int(words[i + 2])
            i += 3
            continue
        if code in (_NUM, _SUB, _CHN):
            i += 1
            continue
        if code == _AUX:  # value bytes of text follow, padded to a word
            text = words[i + 1 : i + 1 + (value + 1) // 2].tobytes()[:value]
            if last_code == _RHYTHM:
                rhythms.append((time_, text.decode("latin-1").strip("\x00 ")))
            i += 1 + (value + 1) // 2
            continue
        time_ += value
        last_code = code
        if code in BEAT_CODES:
            beats.append(time_)
            codes.append(code)
        elif code == _VF_ON:
            flutter_on = time_
        elif code == _VF_OFF and flutter_on >= 0:
            flutter.append((flutter_on, time_))
            flutter_on = -1
        i += 1
    if flutter_on >= 0:
        flutter.append((flutter_on, time_))
    return Annotations(
        np.array(beats, dtype=np.int64), np.array(codes, dtype=np.int16), rhythms, flutter, time_
    )


def read_beat_annotations(path: Path) -> Ints:
    """Sample indices of the beat annotations in ``path``.atr (WFDB MIT format)."""
    return read_annotations(path).beats


def outside(beats: Ints, episodes: Sequence[tuple[int, int]]) -> Ints:
    """``beats`` outside the ``episodes`` (start and end included in them)."""
    keep = np.ones(beats.size, dtype=np.bool_)
    for start, end in episodes:
        keep &= (beats < start) | (beats > end)
    return beats[keep]


@dataclass(frozen=True)
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    @property
    def sensitivity(self) -> float:
        return 100.0 * self.tp / max(self.tp + self.fn, 1)

    @property
    def predictivity(self) -> float:
        return 100.0 * self.tp / max(self.tp + self.fp, 1)

    def cells(self) -> str:
        return f"{self.tp}/{self.fn}/{self.fp} | {self.sensitivity:.2f} | {self.predictivity:.2f}"

    def short(self) -> str:
        return f"{self.sensitivity:.2f} | {self.predictivity:.2f}"


def match(reference: Ints, detected: Ints, tolerance: int) -> Score:
    """Greedy matching in time order (see the module docstring)."""
    taken = np.zeros(reference.size, dtype=np.bool_)
    tp = 0
    for d in np.sort(detected).tolist():
        lo, hi = np.searchsorted(reference, [d - tolerance, d + tolerance + 1])
        free = [j for j in range(int(lo), int(hi)) if not taken[j]]
        if free:
            best = min(free, key=lambda j: abs(int(reference[j]) - d))
            taken[best] = True
            tp += 1
    return Score(tp=tp, fn=int(reference.size) - tp, fp=int(detected.size) - tp)


def run_ours(leads: NDArray[np.int32], rate: float, chunk: int | None = None) -> Ints:
    """Our detector on all rows of ``leads``, in one call or in chunks of ``chunk``."""
    memory = start_detector(leads.shape[0], rate)
    step = chunk or leads.shape[1]
    found = []
    for start in range(0, leads.shape[1], step):
        memory, beats, _ = detect_beats(memory, list(leads[:, start : start + step]))
        found.append(beats)
    found.append(finish_detector(memory))
    return np.concatenate(found)


def run_neurokit(lead: NDArray[np.int32], rate: float, chunk: int | None = None) -> Ints:
    """NeuroKit2's ecg_clean + ecg_peaks, on the whole lead or on each chunk alone."""
    import neurokit2 as nk  # type: ignore[import-untyped]  # a dev dependency

    step = chunk or lead.size
    found = []
    for start in range(0, lead.size, step):
        piece = lead[start : start + step].astype(np.float64)
        if piece.size < rate:  # too short for its filters
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.ecg_clean(piece, sampling_rate=rate)
            _, info = nk.ecg_peaks(cleaned, sampling_rate=rate)
        found.append(np.asarray(info["ECG_R_Peaks"], dtype=np.int64) + start)
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def resample(
    signals: NDArray[np.int32], beats: Ints, rate: float, new_rate: float
) -> tuple[NDArray[np.int32], Ints]:
    if new_rate == rate:
        return signals, beats
    ratio = Fraction(new_rate / rate).limit_denominator(1000)
    x = signal.resample_poly(signals.astype(np.float64), ratio.numerator, ratio.denominator, axis=1)
    scaled = np.round(beats * (new_rate / rate)).astype(np.int64)
    return np.round(x).astype(np.int32), scaled


@dataclass
class Row:
    label: str
    ours: Score
    chunked_identical: bool
    nk: Score
    nk_chunked: Score

    def plus(self, other: Row) -> Row:
        """The sums of both rows' counts, under this row's label."""
        return Row(
            self.label,
            self.ours + other.ours,
            self.chunked_identical and other.chunked_identical,
            self.nk + other.nk,
            self.nk_chunked + other.nk_chunked,
        )


def score(
    label: str,
    signals: NDArray[np.int32],
    reference: Ints,
    rate: float,
    neurokit: bool,
    flutter: Sequence[tuple[int, int]] = (),
) -> Row:
    """Our detector on all leads in one call and in 10-s chunks, NeuroKit2 on the first.
    As EC57 (and bxb), the ventricular flutter and fibrillation episodes are left out:
    detections within them are not scored (they have no beat annotations)."""
    tolerance, chunk = round(TOLERANCE_S * rate), round(CHUNK_S * rate)
    ours = run_ours(signals, rate)
    nk = nk_chunked = Score()
    if neurokit:
        nk = match(reference, outside(run_neurokit(signals[0], rate), flutter), tolerance)
        nk_chunked = match(
            reference, outside(run_neurokit(signals[0], rate, chunk), flutter), tolerance
        )
    same = bool(np.array_equal(ours, run_ours(signals, rate, chunk)))
    return Row(label, match(reference, outside(ours, flutter), tolerance), same, nk, nk_chunked)


def evaluate(records: Sequence[str], rates: Sequence[float], neurokit: bool) -> list[Row]:
    rows: list[Row] = []
    for rate in rates:
        total = Row(f"gross @ {rate:g} Hz", Score(), True, Score(), Score())
        for name in records:
            record = read_record(DATA / "mitdb" / name)
            signals, reference = resample(
                record.signals,
                read_beat_annotations(DATA / "mitdb" / name),
                record.sampling_rate,
                rate,
            )
            row = score(f"{name} @ {rate:g} Hz", signals, reference, rate, neurokit)
            rows.append(row)
            total = total.plus(row)
        rows.append(total)
    return rows


def evaluate_extra(folders: Sequence[Path], neurokit: bool) -> list[Row]:
    """Every annotated WFDB record (a .hea with an .atr beside it) under ``folders``, at
    its own sampling rate, all its leads; then their gross."""
    rows: list[Row] = []
    total = Row("gross, extra records", Score(), True, Score(), Score())
    paths = sorted(
        {hea.with_suffix("") for folder in folders for hea in Path(folder).rglob("*.hea")},
        key=lambda p: (str(p.parent), p.name),
    )
    for path in paths:
        if not path.with_suffix(".atr").is_file():
            continue
        record = read_record(path)
        label = f"{path.parent.name}/{path.name} @ {record.sampling_rate:g} Hz"
        notes = read_annotations(path)
        row = score(
            label, record.signals, notes.beats, record.sampling_rate, neurokit, notes.flutter
        )
        rows.append(row)
        total = total.plus(row)
    return [*rows, total] if rows else []


def evaluate_second_lead(records: Sequence[str]) -> list[tuple[str, Score]]:
    out: list[tuple[str, Score]] = []
    total = Score()
    for name in records:
        record = read_record(DATA / "mitdb" / name)
        reference = read_beat_annotations(DATA / "mitdb" / name)
        rate = record.sampling_rate
        beats = run_ours(record.signals[1:2], rate)
        score = match(reference, beats, round(TOLERANCE_S * rate))
        out.append((f"{name} {record.lead_names[1]} alone @ {rate:g} Hz", score))
        total = total + score
    out.append(("gross, second lead alone", total))
    return out


def measure_speed(name: str = "100", repeats: int = 3) -> tuple[float, float]:
    """Samples per second per lead (both leads processed), one call and 1-s chunks."""
    record = read_record(DATA / "mitdb" / name)
    rate = record.sampling_rate
    timings: dict[int | None, float] = {}
    for chunk in (None, round(rate)):
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            run_ours(record.signals, rate, chunk)
            best = min(best, time.perf_counter() - started)
        timings[chunk] = record.signals.shape[1] / best
    return timings[None], timings[round(rate)]


def render(rows: list[Row], second: list[tuple[str, Score]], speed: tuple[float, float]) -> str:
    lines = [
        "| record | ours TP/FN/FP | ours Se % | ours +P % | ours, 10-s chunks "
        "| NeuroKit2 Se % | NeuroKit2 +P % | NeuroKit2 10-s chunks Se % | +P % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        label = f"**{row.label}**" if row.label.startswith("gross") else row.label
        same = "identical" if row.chunked_identical else "DIFFERENT"
        nk = f"{row.nk.short()} | {row.nk_chunked.short()}"
        lines.append(f"| {label} | {row.ours.cells()} | {same} | {nk} |")
    for label, score in second:
        lines.append(f"| {label} | {score.cells()} | | | | | |")
    one_shot, chunked = speed
    lines.append("")
    lines.append(
        "Detector speed, record 100 (2 leads, 360 Hz), one core: "
        f"{one_shot / 1e6:.1f} M samples/s per lead in one call "
        f"({2 * one_shot / 1e6:.1f} M lead-samples/s), {chunked / 1e6:.1f} M/s per lead "
        f"in 1-s chunks ({2 * chunked / 1e6:.1f} M lead-samples/s)."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", nargs="*", default=list(RECORDS))
    parser.add_argument("--rates", nargs="*", type=float, default=list(RATES))
    parser.add_argument("--no-neurokit", action="store_true", help="skip NeuroKit2 (faster)")
    parser.add_argument(
        "--extra",
        nargs="*",
        type=Path,
        default=[],
        metavar="DIR",
        help="also score every annotated WFDB record under DIR, at its own rate",
    )
    args = parser.parse_args(argv)
    rows = evaluate(args.records, args.rates, not args.no_neurokit)
    rows += evaluate_extra(args.extra, not args.no_neurokit)
    print(render(rows, evaluate_second_lead(args.records), measure_speed()))
    from bench.eval_classes import evaluate_classes  # (these import this module)

    extra = sorted(
        {p.with_suffix("") for d in args.extra for p in Path(d).rglob("*.dat")},
        key=lambda p: (str(p.parent), p.name),
    )
    extra = [p for p in extra if p.with_suffix(".atr").is_file()]
    # A record of data/ that the extra folders hold too (MIT-BIH's) is scored once.
    paths = [DATA / "mitdb" / name for name in args.records]
    paths = [p for p in paths if p.name not in {e.name for e in extra}] + extra
    print("\nBeat classes (AAMI EC57), our whole analysis at each record's own rate:\n")
    print(evaluate_classes(paths))
    if args.extra:
        from bench.eval_af import evaluate_af

        table = evaluate_af(args.extra)
        if table:
            print("\nAtrial fibrillation (events), records under --extra that mark it:\n")
            print(table)


if __name__ == "__main__":
    main()
