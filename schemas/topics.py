"""Topic names and the schema of each topic's values: the contract between the
gateway, the stream workers and downstream consumers. Every topic is keyed by
the ECG id (UTF-8 text of the UUID), so one ECG stays on one partition, in order."""

from __future__ import annotations

from typing import Final

from schemas.codec import Schema

SAMPLES: Final = "ecg.samples.v1"
WINDOWS: Final = "ecg.windows.v1"
SUMMARIES: Final = "ecg.summaries.v1"
DEAD_LETTERS: Final = "ecg.dlq.v1"

VALUE_SCHEMAS: Final[dict[str, Schema]] = {
    SAMPLES: Schema.SAMPLE_CHUNK,
    WINDOWS: Schema.WINDOW_RESULT,
    SUMMARIES: Schema.ECG_SUMMARY,
    DEAD_LETTERS: Schema.DEAD_LETTER,
}
