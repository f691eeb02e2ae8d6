"""A range of an ECG's stored signal (``GET /api/v1/ecg/{ecg_id}/signal``), as pure
functions: which leads, up to which sample, within the size bound, and the samples
themselves from the stored chunks (``schemas.sample_archive``), cut with numpy.

``signals[i][k]`` is always sample ``start + k`` of lead ``i``: a lead's samples run
from ``start`` to the end asked for, or to the end of that lead (an upload's leads may
differ in length), or to its first sample that is not stored (yet: the stream worker
archives chunks as Kafka delivers them), whichever comes first. A hole is never
bridged, so the samples after it are read with a ``start`` beyond it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gateway.errors import FieldError, InvalidInputError, describe
from gateway.recordings.repository import ArchivedChunk, ArchivedLead
from schemas.sample_archive import unpack

# Samples x leads in one answer: ~12 MB of JSON, 12 leads for 5.5 minutes at 500 Hz.
MAX_SIGNAL_VALUES: Final = 2_000_000


def select_leads(requested: Sequence[str] | None, leads: Sequence[ArchivedLead]) -> list[int]:
    """The positions of the ``requested`` leads (canonical names) among the ECG's
    ``leads``, in the requested order; every lead, in the ECG's order, by default. A 422
    names every lead the ECG lacks, and the leads it has."""
    names = [lead.name for lead in leads]
    if requested is None:
        return list(range(len(names)))
    missing = [name for name in requested if name not in names]
    if missing:
        raise InvalidInputError(
            [
                FieldError(
                    "leads",
                    f"this ECG has no lead {describe(name)}; its leads: {', '.join(names)}",
                )
                for name in missing
            ]
        )
    return [names.index(name) for name in requested]


def range_end(
    start: int, end: int | None, stored: Sequence[int], limit: int = MAX_SIGNAL_VALUES
) -> int:
    """Where to stop reading leads stored up to ``stored`` (samples each): ``end``,
    clipped to the longest of them (its length without ``end``), and never before
    ``start``. A 422 when the range holds more than ``limit`` values, saying how many
    samples per lead fit."""
    longest = max(stored, default=0)
    stop = longest if end is None else min(end, longest)
    values = sum(max(0, min(stop, length) - start) for length in stored)
    if values > limit:
        fit = limit // len(stored)
        raise InvalidInputError(
            [
                FieldError(
                    "end",
                    f"samples {start} to {stop} of {len(stored)} leads are {values:,} values, "
                    f"and an answer holds at most {limit:,}: ask for a smaller "
                    f"range, at most {fit:,} samples per lead (end={start + fit}), or fewer leads",
                )
            ]
        )
    return max(start, stop)


def read_signals(
    chunks: Iterable[ArchivedChunk], positions: Sequence[int], start: int, end: int
) -> list[NDArray[np.int32]]:
    """Samples ``[start, end)`` of the leads at ``positions``, from the stored chunks
    that overlap them in the order of their first sample; each lead stops early at its
    end or at its first sample missing from ``chunks``."""
    pieces: list[list[NDArray[np.int32]]] = [[] for _ in positions]
    reached = [start] * len(positions)  # each lead's next sample to read
    ended = [False] * len(positions)
    for chunk in chunks:
        leads = unpack(chunk.sample_width, chunk.lead_samples, chunk.samples)
        first = chunk.start_sample
        for i, position in enumerate(positions):
            if ended[i] or first > reached[i]:  # a hole, or the lead ended before it
                ended[i] = True
                continue
            piece = leads[position][reached[i] - first : end - first]
            pieces[i].append(piece)
            reached[i] += piece.size
    return [np.concatenate(lead) if lead else np.empty(0, dtype=np.int32) for lead in pieces]


def served_end(start: int, signals: Sequence[NDArray[np.int32]]) -> int:
    """The sample after the last one served: the longest lead's."""
    return start + max((signal.size for signal in signals), default=0)


def require_equal_lengths(
    start: int, names: Sequence[str], signals: Sequence[NDArray[np.int32]]
) -> None:
    """A 422 unless every lead has as many samples as the others: the binary answer
    interleaves them sample by sample."""
    lengths = [signal.size for signal in signals]
    if len(set(lengths)) > 1:
        counts = ", ".join(f"{name} {n}" for name, n in zip(names, lengths, strict=True))
        raise InvalidInputError(
            [
                FieldError(
                    "end",
                    f"from sample {start} the leads hold different numbers of samples "
                    f"({counts}), and the binary answer interleaves them: ask for JSON, "
                    f"or for a range that all of them cover (up to sample "
                    f"{start + min(lengths)}, exclusive)",
                )
            ]
        )
