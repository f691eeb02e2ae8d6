"""The front end's compiled passes give bitwise what their numpy references give: the
band-pass output, filter state and frame energies (``filter_frames``), and the
measurements of candidates (``measure_candidates``), on arbitrary inputs."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from streams.analysis.qrs.feature import (
    FeatureMemory,
    _measure,
    filter_frames,
    filter_frames_reference,
    local_maxima,
    local_maxima_reference,
    measure_reference,
    start_feature,
)
from streams.analysis.qrs.params import DetectorParams, detector_params

RATES = (100.0, 128.0, 360.0, 500.0, 1000.0, 2000.0)


def same(found: NDArray[np.generic], expected: NDArray[np.generic]) -> bool:
    """Equal shapes, types and bits."""
    return (
        found.shape == expected.shape
        and found.dtype == expected.dtype
        and found.tobytes() == expected.tobytes()
    )


Chunk = tuple[DetectorParams, NDArray[np.float64], int, FeatureMemory]


@st.composite
def chunks(draw: st.DrawFn) -> Chunk:
    params = detector_params(draw(st.sampled_from(RATES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    rows = draw(st.integers(1, 12))
    length = draw(st.integers(1, 700))
    scale = draw(st.sampled_from([1.0, 300.0, 2.0**20, 2.0**31]))
    leads = np.rint(rng.normal(size=(rows, length)) * scale)
    start = draw(st.sampled_from([0, draw(st.integers(1, 10**7))]))
    held = 0 if start == 0 else draw(st.integers(0, params.frame - 1))
    memory = dataclasses.replace(
        start_feature(rows, params),
        zi=rng.normal(size=(rows, params.a.size - 1)) * scale,
        last_u=rng.normal(size=rows) * scale,
        partial=rng.random((rows, held)) * scale * scale,
    )
    return params, leads, start, memory


@settings(max_examples=300, deadline=None)
@given(chunks())
def test_filter_frames_equals_its_reference(chunk: Chunk) -> None:
    params, leads, start, memory = chunk
    found = filter_frames(memory, leads, start, params)
    expected = filter_frames_reference(memory, leads, start, params)
    assert all(same(a, b) for a, b in zip(found, expected, strict=True))


@st.composite
def candidates(draw: st.DrawFn) -> tuple[object, ...]:
    """Inputs of ``_measure`` as ``compute_feature`` makes them: ``count`` new frames,
    candidates at ascending frames among those whose integral has both neighbours."""
    params = detector_params(draw(st.sampled_from(RATES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    rows, count = draw(st.integers(1, 12)), draw(st.integers(1, 150))
    k, w = params.frame, params.window
    held = draw(st.integers(0, k - 1))
    first_frame = draw(st.integers(2, 10**5))  # (frame 0 is never a candidate)
    start = first_frame * k + held
    length = (count * k - held) + draw(st.integers(0, k - 1))
    span = params.locator_window + k
    u = rng.normal(size=(rows, length)) * 500
    u_tail = (rng.normal(size=(rows, span)) * 500).astype(np.float32)
    if draw(st.booleans()):  # ties for the largest |band-pass|
        u = np.rint(u / 200)
        u_tail = np.rint(u_tail / 200)
    qx = rng.integers(0, 2**31 - 1, (rows, w + count)).astype(np.int32)
    mx = rng.integers(0, 2**40, (rows, 2 + count))
    scales = (rng.random(rows) * 1e4, rng.random((rows, count)) * 1e4)
    picked = rng.random(count) < draw(st.sampled_from([0.05, 0.5, 1.0]))
    index = np.flatnonzero(picked).astype(np.int64) + first_frame - 1
    if index.size == 0:
        index = np.array([first_frame - 1 + count // 2])
    return u, u_tail, qx, mx, scales, index, first_frame, start, params


@settings(max_examples=300, deadline=None)
@given(candidates())
def test_measure_equals_its_reference(case: tuple[object, ...]) -> None:
    found = _measure(*case)  # type: ignore[arg-type]
    expected = measure_reference(*case)  # type: ignore[arg-type]
    for name in ("index", "value", "peak", "r_index", "r_value"):
        assert same(getattr(found, name), getattr(expected, name)), name


@st.composite
def integrals(draw: st.DrawFn) -> tuple[NDArray[np.int64], NDArray[np.int64], int, DetectorParams]:
    """Leads' integrals over a chunk's frames, with plateaus and ties, and the recent
    maxima before them (in (lead, frame) order, within twice the thinning distance)."""
    params = detector_params(draw(st.sampled_from(RATES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    rows, count = draw(st.integers(1, 12)), draw(st.integers(0, 200))
    first_frame = draw(st.integers(0, 10**5))
    top = draw(st.sampled_from([3, 2 * params.floor, 2**40]))
    mx = rng.integers(0, top, (rows, count + 2))
    if draw(st.booleans()):
        mx = np.maximum.accumulate(mx, axis=1) // 2  # plateaus
    thinning = params.frame_thinning
    recent = []
    for lead in range(rows):
        frames = np.arange(max(first_frame - 1 - 2 * thinning, 1), first_frame - 1)
        for frame in frames[rng.random(frames.size) < 0.3].tolist():
            recent.append((lead, frame, int(rng.integers(0, top))))
    return mx, np.array(recent, dtype=np.int64).reshape(-1, 3), first_frame, params


@settings(max_examples=300, deadline=None)
@given(integrals())
def test_local_maxima_equal_their_reference(
    case: tuple[NDArray[np.int64], NDArray[np.int64], int, DetectorParams],
) -> None:
    mx, recent, first_frame, params = case
    found = local_maxima(recent, mx, first_frame, params)
    expected = local_maxima_reference(recent, mx, first_frame, params)
    assert all(same(a, b) for a, b in zip(found, expected, strict=True))
