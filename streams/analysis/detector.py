"""The beat detector as the analyser sees it: four functions and a memory with bytes.

``qrs_detector()`` is the pipeline's detector (``streams.analysis.qrs``); tests may
hand the analyser another one with the same contract: ``detect`` takes the next
samples of every lead (same length; the analyser hands over a matrix of leads by
samples) and returns the new memory, the R-peak indices
(absolute, ascending) that are now final, and ``finalized_until``: every beat below
it has been reported and none below it will come later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from streams.analysis import qrs


class DetectorMemory(Protocol):
    def to_bytes(self) -> bytes: ...


Leads = Sequence[NDArray[np.integer[Any]]] | NDArray[np.integer[Any]]  # or leads by samples


@dataclass(frozen=True)
class BeatDetector:
    start: Callable[[int, float], DetectorMemory]
    detect: Callable[[Any, Leads], tuple[DetectorMemory, NDArray[np.int64], int]]
    finish: Callable[[Any], NDArray[np.int64]]
    load: Callable[[bytes], DetectorMemory]


def qrs_detector() -> BeatDetector:
    return BeatDetector(
        start=qrs.start_detector,
        detect=qrs.detect_beats,
        finish=qrs.finish_detector,
        load=qrs.QrsMemory.from_bytes,
    )
