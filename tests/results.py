"""Realistic result records: a seeded synthetic ECG analysed by the real core and turned
into the records of ``window_result.avsc`` and ``ecg_summary.avsc`` by ``streams.records``,
as the windows agent emits them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from streams.analysis.windows import AnalysisConfig, feed, finish, start_analysis
from streams.records import summary_record, window_record
from tests.synthetic_ecg import GAIN, synthetic_ecg

RATE = 360.0
LEADS = ["I", "II"]


def analysed_ecg(
    ecg_id: uuid.UUID, seconds: float = 25.0
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The window records (10-s windows) and the summary record of one ECG."""
    signals, _ = synthetic_ecg(RATE, seconds, n_leads=len(LEADS))
    config = AnalysisConfig(round(10 * RATE), RATE, (GAIN,) * len(LEADS), (0,) * len(LEADS))
    state, windows = feed(start_analysis(len(LEADS), config), list(signals))
    last, ecg = finish(state)
    first = {"ecg_id": ecg_id, "sampling_rate": RATE, "date": datetime(2024, 5, 1, 10, tzinfo=UTC)}
    records = [window_record(first, LEADS, window) for window in windows + last]
    return records, summary_record(first, LEADS, ecg)
