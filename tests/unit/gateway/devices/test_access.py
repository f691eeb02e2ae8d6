"""The most bytes a binary chunk takes (who may write to a stream is tested over HTTP in
tests/e2e/test_streams.py and tests/e2e/test_ownership.py)."""

from __future__ import annotations

import pytest

from gateway.chunks import samples_per_chunk
from gateway.devices.access import binary_chunk_limit
from gateway.leads import LEAD_NAMES
from gateway.settings import KIB, MAX_CHUNK_BYTES


@pytest.mark.parametrize("chunk_bytes", [KIB, KIB + 7, 256 * KIB, MAX_CHUNK_BYTES])
@pytest.mark.parametrize("n_leads", [1, 2, 3, 12, len(LEAD_NAMES)])
def test_the_binary_limit_holds_the_largest_chunk_of_any_stream(
    chunk_bytes: int, n_leads: int
) -> None:
    largest = 12 + samples_per_chunk(n_leads, 4, chunk_bytes) * n_leads * 4
    assert largest <= binary_chunk_limit(chunk_bytes) < largest + n_leads * 4
