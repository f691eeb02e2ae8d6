"""The re-analysis replays stored chunks through the live path's own functions: the same
windows and summary as the live analysis, whatever the page size, with the revision and
the analyser's version set; and the archive's frames back to the bytes that travelled."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from schemas.codec import encode_samples
from schemas.sample_archive import pack
from streams.analysis.version import ANALYSER_VERSION
from streams.chunks import StreamState, apply_chunk
from streams.reanalysis import EcgHead, Replay, wire_samples
from tests.records import read_record

ECG_ID = uuid.uuid4()
DATE = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
SIZES = (360, 1, 999, 2500, 77)  # samples per chunk, cycled


def window_samples(rate: float | None) -> int:
    assert rate == 360.0
    return 3600


def chunks_of(signals: np.ndarray[Any, Any], head: EcgHead) -> list[dict[str, Any]]:
    """The signal as a device would stream it, in chunks of uneven size."""
    chunks: list[dict[str, Any]] = []
    start = 0
    while start < signals.shape[1]:
        size = SIZES[len(chunks) % len(SIZES)]
        width, samples = encode_samples(list(signals[:, start : start + size]))
        chunks.append(
            {
                "ecg_id": ECG_ID,
                "seq": len(chunks),
                "start_sample": start,
                "final": False,
                "date": DATE,
                "sampling_rate": 360.0,
                "leads": head.leads,
                "sample_width": width,
                "samples": samples,
            }
        )
        start += size
    return chunks


def live(chunks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the windows agent makes of the chunks, then the stream's end."""
    state: StreamState | None = None
    windows: list[dict[str, Any]] = []
    for chunk in chunks:
        outcome = apply_chunk(state, chunk, window_samples)
        state, windows = outcome.state, windows + outcome.windows
    assert state is not None
    end = chunks[-1] | {
        "seq": state.next_seq,
        "start_sample": chunks[-1]["start_sample"] + len(chunks[-1]["samples"][0]) // 2,
        "samples": [b"", b""],
        "final": True,
    }
    outcome = apply_chunk(state, end, window_samples)
    assert outcome.summary is not None
    return windows + outcome.windows, outcome.summary


@pytest.mark.parametrize("page", [1, 7, 200])
def test_the_replay_gives_the_live_results(data_dir: Path, page: int) -> None:
    record = read_record(data_dir / "mitdb" / "100")
    signals = record.signals[:, : 360 * 65]
    leads = [
        {"name": name, "gain": gain, "baseline": baseline}
        for name, gain, baseline in zip(
            record.lead_names, record.gains, record.baselines, strict=True
        )
    ]
    head = EcgHead(ECG_ID, DATE, 360.0, leads, [signals.shape[1]] * 2)
    chunks = chunks_of(signals, head)
    windows, summary = live(chunks)

    replay = Replay(head, window_samples, revision=3)
    replayed: list[dict[str, Any]] = []
    for first in range(0, len(chunks), page):
        stored = [
            replay.chunk(c["seq"], c["start_sample"], c["sample_width"], c["samples"])
            for c in chunks[first : first + page]
        ]
        replayed += replay.feed(stored)
    last, replayed_summary = replay.finish()
    replayed += last

    assert len(replayed) == len(windows) == 7
    stamp = {"analyser_version": ANALYSER_VERSION, "revision": 3}
    assert replayed == [window | stamp for window in windows]
    assert replayed_summary == summary | stamp
    assert replay.received == head.samples


@pytest.mark.parametrize("width", [2, 4])
def test_a_stored_frame_gives_back_the_bytes_that_travelled(width: int) -> None:
    rng = np.random.default_rng(7)
    high = 2**15 if width == 2 else 2**31
    leads = [rng.integers(-high, high, size, dtype=np.int64) for size in (500, 500, 0)]
    travelled = [lead.astype(f"<i{width}").tobytes() for lead in leads]
    lead_samples, frame = pack(width, travelled)
    assert wire_samples(width, lead_samples, frame) == travelled
