"""Score the beat classes (``streams.analysis.beat_classes``) per ANSI/AAMI EC57: part
of ``make eval``.

Each record goes through the whole analysis (one call, its own sampling rate, all its
leads). Every beat we report is matched to the nearest reference beat within 150 ms;
for class C (V: ventricular ectopic, S: supraventricular ectopic), TP = our C beats
whose reference is C, FP = our C beats whose reference is another class or that match
no reference beat (false detections), FN = reference C beats that our beats do not
call C (missed beats included). Se = TP / (TP + FN), +P = TP / (TP + FP). Records with
paced beats are scored but left out of the gross, as EC57 leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.eval import read_annotations
from bench.eval_af import PACED, aami_classes
from client.wfdb import read_record
from streams.analysis.beat_classes import CLASS_LETTERS
from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis

TOLERANCE_S = 0.150


@dataclass(frozen=True)
class ClassScore:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    def __add__(self, other: ClassScore) -> ClassScore:
        return ClassScore(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    def cells(self) -> str:
        se = f"{100 * self.tp / (self.tp + self.fn):.2f}" if self.tp + self.fn else "-"
        pp = f"{100 * self.tp / (self.tp + self.fp):.2f}" if self.tp + self.fp else "-"
        return f"{self.tp}/{self.fn}/{self.fp} | {se} | {pp}"


def our_classes(signals: NDArray[np.int32], rate: float) -> tuple[NDArray[np.int64], str]:
    memory = start_analysis(signals.shape[0], AnalysisConfig(round(10 * rate), rate))
    memory, windows = feed(memory, list(signals))
    last, _ = finish(memory)
    windows += last
    beats = np.concatenate([window.beats for window in windows])
    return beats, "".join(window.classes for window in windows)


def score_classes(
    beats: NDArray[np.int64],
    letters: str,
    reference: NDArray[np.int64],
    classes: NDArray[np.int8],
    tolerance: int,
) -> dict[str, ClassScore]:
    """V and S scores of our ``beats`` and ``letters`` against the reference."""
    truth = np.full(beats.size, -1)  # the matched reference beat's class, -1: none
    taken = np.zeros(reference.size, dtype=np.bool_)
    for k, beat in enumerate(beats.tolist()):  # greedy in time order, as bench.eval
        lo, hi = np.searchsorted(reference, [beat - tolerance, beat + tolerance + 1])
        free = [j for j in range(int(lo), int(hi)) if not taken[j]]
        if free:
            best = min(free, key=lambda j: abs(int(reference[j]) - beat))
            taken[best] = True
            truth[k] = classes[best]
    ours = np.frombuffer(letters.encode(), dtype=np.uint8)
    scores = {}
    for letter in "VS":
        code = CLASS_LETTERS.index(letter)
        mine = ours == ord(letter)
        tp = int(np.sum(mine & (truth == code)))
        scores[letter] = ClassScore(
            tp=tp, fn=int(np.sum(classes == code)) - tp, fp=int(np.sum(mine & (truth != code)))
        )
    return scores


def evaluate_classes(paths: Sequence[Path]) -> str:
    """The V and S table for the WFDB records at ``paths`` (with .dat and .atr)."""
    lines = [
        "| record | beats N/S/V/F/Q (ours) | V TP/FN/FP | V Se % | V +P % "
        "| S TP/FN/FP | S Se % | S +P % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    gross = {"V": ClassScore(), "S": ClassScore()}
    for path in paths:
        record = read_record(path)
        rate = record.sampling_rate
        notes = read_annotations(path)
        reference, codes = notes.beats, notes.codes
        classes = aami_classes(codes)
        beats, letters = our_classes(record.signals, rate)
        scores = score_classes(beats, letters, reference, classes, round(TOLERANCE_S * rate))
        counts = "/".join(str(letters.count(c)) for c in CLASS_LETTERS)
        paced = bool(np.any(codes == PACED))
        label = f"{path.parent.name}/{path.name}" + (" (paced: not in the gross)" if paced else "")
        lines.append(f"| {label} | {counts} | {scores['V'].cells()} | {scores['S'].cells()} |")
        if not paced:
            gross = {c: gross[c] + scores[c] for c in gross}
    lines.append(f"| **gross** | | {gross['V'].cells()} | {gross['S'].cells()} |")
    return "\n".join(lines)
