"""The archive's rows: a chunk's samples packed as they travelled, read back equal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import DecodeError
from schemas.sample_archive import DTYPES, pack, unpack
from schemas.sample_chunks import encode_sample_chunk
from streams.archive import stored_chunk

DATE = datetime(2024, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("high", [100, 40_000])  # int16 and int32 on the wire
def test_a_chunk_is_stored_as_it_travelled_and_read_back_equal(high: int) -> None:
    ecg_id = uuid.uuid4()
    leads = [np.arange(-50, high, 37, dtype=np.int32), np.arange(20, dtype=np.int32) * -7]
    value = encode_sample_chunk(
        ecg_id, 3, 1200, date=DATE, sampling_rate=360.0, leads=["I", "II"], samples=leads
    )
    row = stored_chunk(value)
    assert row is not None
    assert (row.ecg_id, row.seq, row.start_sample) == (ecg_id, 3, 1200)
    assert row.sample_width == (2 if high < 32768 else 4)
    assert row.lead_samples == [leads[0].size, 20]
    assert row.lead_min == [int(leads[0].min()), -133]
    assert row.lead_max == [int(leads[0].max()), 0]
    back = unpack(row.sample_width, row.lead_samples, row.samples)
    assert [lead.tolist() for lead in back] == [lead.tolist() for lead in leads]


def test_a_streams_end_has_nothing_to_keep() -> None:
    end = encode_sample_chunk(
        uuid.uuid4(), 9, 5000, date=DATE, sampling_rate=None, leads=["I"], final=True
    )
    assert stored_chunk(end) is None


def test_a_message_that_is_no_chunk_is_refused() -> None:
    with pytest.raises(DecodeError):
        stored_chunk(b"\xc3\x01 not an avro message")


@given(
    width=st.sampled_from([2, 4]),
    leads=st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=40), max_size=5),
)
def test_packing_is_lossless_at_any_value_and_length(width: int, leads: list[list[int]]) -> None:
    """Delta coding wraps at the width: extreme neighbours and empty leads come back."""
    dtype = DTYPES[width]
    info = np.iinfo(dtype)
    arrays = [np.clip(np.array(lead, dtype=np.int64), info.min, info.max) for lead in leads]
    counts, frame = pack(width, [a.astype(dtype).tobytes() for a in arrays])
    assert counts == [a.size for a in arrays]
    back = unpack(width, counts, frame)
    assert [b.tolist() for b in back] == [a.tolist() for a in arrays]
