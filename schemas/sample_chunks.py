"""The one builder of ``SampleChunk`` messages (``sample_chunk.avsc``), for the three
producers of the samples topic: an upload's chunks (``gateway.publisher``), a stream's
chunks and its end (``gateway.devices.service``), and the end that the pipeline writes for a
silent stream (``streams.idle``). Plain values in, single-object encoded bytes out.

``StreamChunks`` writes the chunks of one stream, whose id, date, rate and leads never
change, at the cost of a stream's every second: it encodes those fields once, with
``encode_sample_chunk``, and per chunk writes only ``seq``, ``start_sample`` and the
samples around them, byte for byte what fastavro writes for the whole record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from schemas.codec import (
    HEADER_SIZE,
    Schema,
    encode,
    encode_long,
    encode_samples,
    sample_dtype,
)

# The sampling rates (Hz) a chunk may carry: the worker refuses a message above the
# maximum; the gateway also refuses an ECG below the minimum, where a QRS complex (most
# of its energy at 5-25 Hz) is not sampled and every few samples would make a window of
# their own (0.1 Hz made a 171 KB upload 20,000 windows). The slowest ECG recorders
# sample at 100-128 Hz.
MIN_SAMPLING_RATE: Final = 50
MAX_SAMPLING_RATE: Final = 100_000
# The longest ECG the gateway takes: 14 days, as long as the longest ambulatory patches
# record; at 10-s windows, 120,960 windows. Without a sampling rate, as many samples as
# 14 days at 500 Hz (the worker's windows are then 5,000 samples: as many windows again).
MAX_ECG_SECONDS: Final = 14 * 24 * 3600
RATE_WITHOUT_ONE: Final = 500


def max_samples_per_lead(sampling_rate: float | None) -> int:
    """The most samples one lead of an ECG may have."""
    return int(MAX_ECG_SECONDS * (sampling_rate or RATE_WITHOUT_ONE))


@dataclass(frozen=True)
class LeadInfo:
    """A lead as the ``LeadInfo`` record describes it: its gain and baseline are optional."""

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


class StreamChunks:
    """The ``SampleChunk`` messages of one ECG with the given id, date, rate and leads
    (a stream's), chunk by chunk: ``encode_sample_chunk``'s bytes at a fraction of its
    cost. The record's fields are in the order ``ecg_id``, ``seq``, ``start_sample``,
    then ``final``, ``date``, ``sampling_rate`` and ``leads``, which are fixed for the
    chunks that are not final, then ``sample_width`` and ``samples``."""

    def __init__(
        self,
        ecg_id: UUID | str,
        *,
        date: datetime,
        sampling_rate: float | None,
        leads: Sequence[LeadInfo | str],
    ) -> None:
        self._leads = len(leads)
        template = encode_sample_chunk(
            ecg_id, 0, 0, date=date, sampling_rate=sampling_rate, leads=leads
        )
        # The template: header, ecg_id, seq 0 and start_sample 0 (one zero byte each),
        # the fixed fields, sample_width 2, and one empty bytes value per lead.
        text = str(ecg_id).encode()
        head = HEADER_SIZE + len(encode_long(len(text))) + len(text)
        tail = encode_long(2) + encode_long(self._leads) + bytes(self._leads) + b"\x00"
        if template[head : head + 2] != b"\x00\x00" or not template.endswith(tail):
            raise AssertionError("the SampleChunk schema no longer has the expected layout")
        self._head = template[:head]
        self._fixed = template[head + 2 : len(template) - len(tail)]
        self._count = encode_long(self._leads)

    def encode(self, seq: int, start_sample: int, samples: NDArray[np.integer[Any]]) -> bytes:
        """Chunk ``seq`` (not final), from sample ``start_sample`` of every lead:
        ``samples`` holds one row per lead, every row as long, at least one sample."""
        if samples.ndim != 2 or samples.shape[0] != self._leads or not samples.shape[1]:
            raise ValueError(f"expected {self._leads} rows of at least one sample")
        if samples.dtype != np.int16:
            samples = samples.astype(sample_dtype(int(samples.min()), int(samples.max())))
        block = np.ascontiguousarray(samples, dtype=samples.dtype.newbyteorder("<"))
        row = block.shape[1] * block.itemsize
        data = block.data.cast("B")
        size = encode_long(row)
        parts: list[bytes | memoryview] = [
            self._head,
            encode_long(seq),
            encode_long(start_sample),
            self._fixed,
            encode_long(block.itemsize),
            self._count,
        ]
        for start in range(0, self._leads * row, row):
            parts += (size, data[start : start + row])
        parts.append(b"\x00")
        return b"".join(parts)
