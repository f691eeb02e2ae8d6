"""Topic names and the schema of each topic's values: the contract between the
gateway, the stream workers and downstream consumers. Every topic is keyed by
the ECG id (UTF-8 text of the UUID), so one ECG stays on one partition, in order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from schemas.codec import Schema

SAMPLES: Final = "ecg.samples.v1"
WINDOWS: Final = "ecg.windows.v1"
SUMMARIES: Final = "ecg.summaries.v1"
DEAD_LETTERS: Final = "ecg.dlq.v1"
# Rhythm events (AF, pauses, brady- and tachycardia episodes), each report published
# with the window result that carries it.
EVENTS: Final = "ecg.events.v1"
# Requests to analyse an ECG again from its stored samples: from the gateway to the
# stream workers (streams.reanalysis).
ANALYSIS_REQUESTS: Final = "ecg.analysis-requests.v1"

# The Kafka header of a sample chunk that names the gateway request it came with (its
# X-Request-ID), for the worker's log lines about it; absent on chunks that the pipeline
# writes itself (an idle stream's end).
REQUEST_ID_HEADER: Final = "request_id"


def request_id_of(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None) -> str | None:
    """The ``request_id`` header of a message's headers (a list of pairs, or a mapping),
    if it has one."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if name == REQUEST_ID_HEADER:
            return value.decode(errors="replace")[:64]
    return None


VALUE_SCHEMAS: Final[dict[str, Schema]] = {
    SAMPLES: Schema.SAMPLE_CHUNK,
    WINDOWS: Schema.WINDOW_RESULT,
    SUMMARIES: Schema.ECG_SUMMARY,
    DEAD_LETTERS: Schema.DEAD_LETTER,
    ANALYSIS_REQUESTS: Schema.ANALYSIS_REQUEST,
    EVENTS: Schema.RHYTHM_EVENT,
}
