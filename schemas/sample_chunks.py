"""The one builder of ``SampleChunk`` messages (``sample_chunk.avsc``), for the three
producers of the samples topic: an upload's chunks (``gateway.publisher``), a stream's
chunks and its end (``gateway.devices.service``), and the end that the pipeline writes for a
silent stream (``streams.idle``). Plain values in, single-object encoded bytes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from schemas.codec import Schema, encode, encode_samples


@dataclass(frozen=True)
class LeadInfo:
    """A lead as the ``LeadInfo`` record describes it; a stream's leads have a name only."""

    name: str
    gain: float | None = None  # ADC units per mV
    baseline: int | None = None  # ADC value of 0 mV


def encode_sample_chunk(
    ecg_id: UUID | str,
    seq: int,
    start_sample: int,
    *,
    date: datetime,
    sampling_rate: float | None,
    leads: Sequence[LeadInfo | str],
    samples: Sequence[NDArray[np.integer[Any]]] | None = None,
    final: bool = False,
) -> bytes:
    """Chunk ``seq`` of the ECG ``ecg_id``: ``samples`` holds one integer array per lead
    (in ADC units, from sample ``start_sample`` of every lead), ``leads`` their names or
    ``LeadInfo``; ``sampling_rate`` in Hz; ``final`` on the ECG's last chunk. Without
    ``samples`` the chunk is empty, as the final chunk that ends a stream is."""
    if samples is None:
        samples = [np.empty(0, dtype=np.int32) for _ in leads]
    width, packed = encode_samples(samples)
    record = {
        "ecg_id": str(ecg_id),
        "seq": seq,
        "start_sample": start_sample,
        "final": final,
        "date": date,
        "sampling_rate": sampling_rate,
        "leads": [_lead_record(lead) for lead in leads],
        "sample_width": width,
        "samples": packed,
    }
    return encode(Schema.SAMPLE_CHUNK, record)


def _lead_record(lead: LeadInfo | str) -> dict[str, Any]:
    info = LeadInfo(lead) if isinstance(lead, str) else lead
    return {"name": info.name, "gain": info.gain, "baseline": info.baseline}
