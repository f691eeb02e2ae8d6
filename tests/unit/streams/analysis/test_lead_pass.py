"""The compiled pass (``accumulate``) gives bitwise the statistics and carry of the numpy
reference (``accumulate_reference``), chunk after chunk, whatever the signal, the
segments and the filters."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from streams.analysis.bands import Bands, bands_for
from streams.analysis.lead_stats import LeadCarry, accumulate, accumulate_reference

# Signals drawn by numpy from a seed: small values (many zeros and repeats), ADC-like
# ones, unsigned ones (one sign throughout), the int32 extremes.
KINDS = ("small", "adc", "unsigned", "extremes", "mixed")


def signal(kind: str, seed: int, shape: tuple[int, int]) -> NDArray[np.int32]:
    rng = np.random.default_rng(seed)
    small = rng.integers(-3, 4, shape)
    extremes = rng.choice([-(2**31), 2**31 - 1, 0, 1, -1], shape)
    values = {
        "small": small,
        "adc": np.cumsum(rng.integers(-40, 41, shape), axis=1) % 4096 - 2048,
        "unsigned": rng.integers(1, 2**11, shape),
        "extremes": extremes,
        "mixed": np.where(rng.random(shape) < 0.5, small, extremes),
    }[kind]
    return np.asarray(values, dtype=np.int32)


bands = st.one_of(
    st.none(),
    st.sampled_from([bands_for(128.0), bands_for(500.0)]),
    st.builds(
        Bands,
        high_lag=st.integers(1, 4),
        band_lag=st.integers(1, 6),
        block=st.integers(1, 9),
        blocks=st.integers(1, 5),
    ),
)


@st.composite
def chunked_leads(draw: st.DrawFn) -> tuple[NDArray[np.int32], list[list[int]], Bands | None]:
    """Leads, their chunks each cut into segments (bounds within the chunk), filters."""
    rows = draw(st.integers(1, 4))
    length = draw(st.integers(1, 600))
    x = signal(draw(st.sampled_from(KINDS)), draw(st.integers(0, 2**32)), (rows, length))
    cuts = sorted({0, length, *draw(st.lists(st.integers(0, length), max_size=6))})
    chunks = []
    for a, b in itertools.pairwise(cuts):
        # The first segment has samples, as in the analyser (its windows end after the
        # chunk's start); later ones may be empty.
        inner = draw(st.lists(st.integers(1, b - a), max_size=3))
        chunks.append([a, *sorted(a + i for i in inner), b])
    return x, chunks, draw(bands)


@settings(max_examples=400, deadline=None)
@given(chunked_leads())
def test_the_compiled_pass_equals_the_numpy_reference(
    case: tuple[NDArray[np.int32], list[list[int]], Bands | None],
) -> None:
    x, chunks, filters = case
    compiled = reference = LeadCarry.start(x.shape[0], filters)
    for bounds in chunks:
        start = bounds[0]
        part = x[:, start : bounds[-1]]
        relative = [bound - start for bound in bounds]
        found, compiled = accumulate(compiled, part, start, relative, filters)
        expected, reference = accumulate_reference(reference, part, start, relative, filters)
        assert found.tolist() == expected.tolist()
        for name in ("values", "tail", "blocks"):
            mine, theirs = getattr(compiled, name), getattr(reference, name)
            assert mine.dtype == theirs.dtype
            assert mine.tolist() == theirs.tolist()
