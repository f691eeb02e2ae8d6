"""The overview's extremes are exact: equal to each bucket's min and max over the
samples themselves, whatever the chunks, the buckets and the range, while only the
chunks that straddle an edge are unpacked."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from gateway.recordings.overview import bucket_samples, extremes, to_unpack
from gateway.recordings.repository import ArchivedChunk, ChunkEnvelope
from schemas.sample_archive import pack


def stored(
    signals: list[NDArray[np.int32]], sizes: list[int], with_extremes: bool = True
) -> list[tuple[ChunkEnvelope, ArchivedChunk]]:
    """The leads cut in chunks of ``sizes`` (cycled), as the archive stores them."""
    rows = []
    start = 0
    longest = max(lead.size for lead in signals)
    index = 0
    while start < longest:
        size = sizes[index % len(sizes)]
        parts = [lead[start : start + size] for lead in signals]
        counts, frame = pack(4, [p.astype("<i4").tobytes() for p in parts])
        low = [int(p.min()) if p.size else None for p in parts]
        high = [int(p.max()) if p.size else None for p in parts]
        rows.append(
            (
                ChunkEnvelope(
                    start, counts, low if with_extremes else None, high if with_extremes else None
                ),
                ArchivedChunk(start, 4, counts, frame),
            )
        )
        start += size
        index += 1
    return rows


def brute_force(
    lead: NDArray[np.int32], start: int, end: int, size: int
) -> tuple[list[int | None], list[int | None]]:
    lows: list[int | None] = []
    highs: list[int | None] = []
    for first in range(start, end, size):
        piece = lead[first : min(first + size, end)]
        lows.append(int(piece.min()) if piece.size else None)
        highs.append(int(piece.max()) if piece.size else None)
    return lows, highs


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 400), min_size=1, max_size=3),
    sizes=st.lists(st.integers(1, 90), min_size=1, max_size=4),
    window=st.tuples(st.integers(0, 450), st.integers(1, 450)),
    buckets=st.integers(1, 60),
    with_extremes=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_extremes_are_those_of_the_samples(
    lengths: list[int],
    sizes: list[int],
    window: tuple[int, int],
    buckets: int,
    with_extremes: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    signals = [rng.integers(-(2**31), 2**31 - 1, size=n).astype(np.int32) for n in lengths]
    rows = stored(signals, sizes, with_extremes)
    start, end = min(window), min(window) + max(window)
    size = bucket_samples(start, end, buckets)
    envelopes = [
        e for e, _ in rows if e.start_sample < end and e.start_sample + max(e.lead_samples) > start
    ]
    positions = list(range(len(signals)))
    straddling = set(to_unpack(envelopes, positions, start, end, size))
    unpacked = [chunk for _, chunk in rows if chunk.start_sample in straddling]
    for position, lead in enumerate(signals):
        low, high, seen = extremes(envelopes, unpacked, position, start, end, size)
        lows, highs = brute_force(lead, start, end, size)
        assert [int(v) if s else None for v, s in zip(low, seen, strict=True)] == lows
        assert [int(v) if s else None for v, s in zip(high, seen, strict=True)] == highs


def test_a_day_in_a_thousand_buckets_unpacks_about_a_chunk_a_bucket() -> None:
    """86,400 one-second chunks: only those across an edge are unpacked (at most one an
    edge; none where an edge falls between two chunks)."""
    envelopes = [ChunkEnvelope(s * 500, [500], [0], [1]) for s in range(86_400)]
    size = bucket_samples(0, 86_400 * 500, 1000)
    straddling = to_unpack(envelopes, [0], 0, 86_400 * 500, size)
    assert 0 < len(straddling) <= 999
