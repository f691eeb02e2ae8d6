"""Score the atrial-fibrillation events (``streams.analysis.events``) on annotated AF
records: part of ``make eval EXTRA="DIR ..."``.

For every WFDB record under the folders whose .atr marks atrial fibrillation (rhythm
annotations "(AFIB"), the reference episodes run from an "(AFIB" rhythm change to the
next rhythm change. Our episodes come from the events that the beats give: with the
record's signal (.dat), the whole analysis of all its leads (our beats and classes);
with the annotations alone (the Long-Term AF Database, whose signals are not at hand),
the reference beats and their classes, so that the AF detection is scored on its own.

Scoring, after ANSI/AAMI EC57 for AF: duration Se = the reference AF time that our
episodes cover / the reference AF time; duration +P = the part of our episodes' time
within reference AF / our episodes' time; episode Se = the reference episodes that one
of ours overlaps / all reference episodes; episode +P = our episodes that overlap a
reference one / all of ours. Gross sums the times and counts over records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.eval import read_annotations
from client.wfdb import read_record
from streams.analysis.beat_classes import F_CLASS, N_CLASS, Q_CLASS, S_CLASS, V_CLASS
from streams.analysis.events import RhythmEvent, finish_events, follow_beats, start_events
from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis

Ints = NDArray[np.int64]
Episodes = list[tuple[int, int]]


# WFDB beat codes (ecgcodes.h) by AAMI EC57 class: N L R e j B; A a J S n; V E r; F;
# / f Q ?.
AAMI_CLASS = {
    **dict.fromkeys((1, 2, 3, 34, 11, 25), N_CLASS),
    **dict.fromkeys((8, 4, 7, 9, 35), S_CLASS),
    **dict.fromkeys((5, 10, 41), V_CLASS),
    6: F_CLASS,
    **dict.fromkeys((12, 38, 13, 30), Q_CLASS),
}


PACED = 12  # WFDB's code of a paced beat ("/")


def aami_classes(codes: NDArray[np.int16]) -> NDArray[np.int8]:
    """The AAMI EC57 classes (indices into ``CLASS_LETTERS``) of WFDB beat codes."""
    return np.array([AAMI_CLASS[int(code)] for code in codes], dtype=np.int8)


def reference_episodes(rhythms: list[tuple[int, str]], end: int) -> Episodes:
    episodes: Episodes = []
    start: int | None = None
    for at, rhythm in rhythms:
        if rhythm == "(AFIB" and start is None:
            start = at
        elif rhythm != "(AFIB" and start is not None:
            episodes.append((start, at))
            start = None
    if start is not None:
        episodes.append((start, end))
    return episodes


def af_episodes(events: Sequence[RhythmEvent]) -> Episodes:
    return [
        (event.start_sample, event.end_sample)
        for event in events
        if event.type == "af" and event.end_sample is not None
    ]


def followed(beats: Ints, classes: NDArray[np.int8], rate: float) -> list[RhythmEvent]:
    """The events of ``beats`` of ``classes`` (the reference's)."""
    memory, events, _ = follow_beats(start_events(), beats, rate, classes)
    memory, ended = finish_events(memory, rate)
    return [*events, *ended]


def analysed(signals: NDArray[np.int32], rate: float) -> list[RhythmEvent]:
    """The events of the whole analysis (the pipeline's core) of ``signals``."""
    memory = start_analysis(signals.shape[0], AnalysisConfig(round(10 * rate), rate))
    memory, windows = feed(memory, list(signals))
    last, _ = finish(memory)
    return [event for window in [*windows, *last] for event in window.events]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


@dataclass(frozen=True)
class AfScore:
    reference_time: float = 0.0  # seconds
    detected_time: float = 0.0
    covered_time: float = 0.0  # reference AF time within our episodes
    reference_episodes: int = 0
    found_episodes: int = 0  # reference episodes overlapped by one of ours
    detected_episodes: int = 0
    true_episodes: int = 0  # ours that overlap a reference episode

    def __add__(self, other: AfScore) -> AfScore:
        return AfScore(
            *(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True))
        )

    def cells(self) -> str:
        def pct(a: float, b: float) -> str:
            return f"{100 * a / b:.2f}" if b else "-"

        return (
            f"{self.reference_time / 3600:.2f} | {self.detected_time / 3600:.2f} | "
            f"{pct(self.covered_time, self.reference_time)} | "
            f"{pct(self.covered_time, self.detected_time)} | "
            f"{self.found_episodes}/{self.reference_episodes} | "
            f"{self.true_episodes}/{self.detected_episodes}"
        )


def score_af(reference: Episodes, ours: Episodes, rate: float) -> AfScore:
    covered = sum(_overlap(r, o) for r in reference for o in ours)
    return AfScore(
        reference_time=sum(b - a for a, b in reference) / rate,
        detected_time=sum(b - a for a, b in ours) / rate,
        covered_time=covered / rate,
        reference_episodes=len(reference),
        found_episodes=sum(1 for r in reference if any(_overlap(r, o) for o in ours)),
        detected_episodes=len(ours),
        true_episodes=sum(1 for o in ours if any(_overlap(r, o) for r in reference)),
    )


def _rate_of(path: Path) -> float | None:
    hea = path.with_suffix(".hea")
    if not hea.is_file():
        return None
    fields = hea.read_text().split("\n", 1)[0].split()
    return float(fields[2].split("/")[0]) if len(fields) > 2 else None


def evaluate_af(folders: Sequence[Path], default_rate: float = 128.0) -> str:
    """The AF table for the records under ``folders`` that mark atrial fibrillation."""
    paths = sorted(
        {atr.with_suffix("") for folder in folders for atr in Path(folder).rglob("*.atr")},
        key=lambda p: (str(p.parent), p.name),
    )
    lines = [
        "| record | beats from | reference AF h | our AF h | duration Se % | duration +P % "
        "| episodes found | our episodes true |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals: dict[str, AfScore] = {}
    for path in paths:
        notes = read_annotations(path)
        beats, codes, rhythms, last = notes.beats, notes.codes, notes.rhythms, notes.last
        if not any(rhythm == "(AFIB" for _, rhythm in rhythms):
            continue
        rate = _rate_of(path) or default_rate
        if path.with_suffix(".dat").is_file():
            record = read_record(path)
            source, end = "our analysis", record.signals.shape[1]
            events = analysed(record.signals, record.sampling_rate)
        else:
            source, end = "reference beats and classes", last
            events = followed(beats, aami_classes(codes), rate)
        score = score_af(reference_episodes(rhythms, end), af_episodes(events), rate)
        totals[source] = totals.get(source, AfScore()) + score
        lines.append(f"| {path.parent.name}/{path.name} | {source} | {score.cells()} |")
    for source, total in totals.items():
        lines.append(f"| **gross, {source}** | | {total.cells()} |")
    return "\n".join(lines) if totals else ""
