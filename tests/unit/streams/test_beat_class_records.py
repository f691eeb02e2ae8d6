"""Beat classes as records: a window record's letters beside its beats, a summary's
counts per class, and what the sink stores of them (``streams.sink.beat_classes``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from schemas.codec import Schema, decode, encode
from streams.analysis.measures import Measure
from streams.analysis.results import EcgResult, WindowResult
from streams.analysis.rhythm import missing_rhythm
from streams.records import class_counts, summary_record, window_record
from streams.sink import beat_classes, window_json

ECG = uuid.UUID("0b7e6f3c-2a51-4c8e-9d2f-6a1b3c5d7e90")
CHUNK = {"ecg_id": ECG, "date": datetime(2024, 5, 1, tzinfo=UTC), "sampling_rate": 360.0}


def test_a_window_record_has_one_letter_per_beat_in_order() -> None:
    beats = np.array([77, 370, 662, 946], dtype=np.int64)
    result = WindowResult(0, 0, 3600, (), beats, missing_rhythm("no beats"), classes="NNVS")
    record = window_record(CHUNK, [], result)
    assert (record["beats"], record["beat_classes"]) == ([77, 370, 662, 946], "NNVS")
    decoded = decode(Schema.WINDOW_RESULT, encode(Schema.WINDOW_RESULT, record))
    assert decoded["beat_classes"] == "NNVS"
    # Stored in a column of its own, as the beats.
    assert beat_classes(record) == "NNVS"
    assert {"beats", "beat_classes"}.isdisjoint(json.loads(window_json(record)))


def test_a_summary_record_counts_every_class() -> None:
    counts = (("N", 1455), ("S", 48), ("V", 510), ("F", 0), ("Q", 15))
    ecg = EcgResult(181, (), missing_rhythm("no beats"), Measure(0.0), (), counts)
    record = summary_record(CHUNK, [], ecg)
    assert record["beat_class_counts"] == {"n": 1455, "s": 48, "v": 510, "f": 0, "q": 15}
    # Without beat detection the analysis counts none: every class 0.
    assert class_counts(()) == dict.fromkeys("nsvfq", 0)
    decoded = decode(Schema.ECG_SUMMARY, encode(Schema.ECG_SUMMARY, record))
    assert decoded["beat_class_counts"] == record["beat_class_counts"]


@pytest.mark.parametrize(
    ("beats", "classes", "stored"),
    [
        ([], "", ""),  # no beats: nothing unknown
        ([5, 9], "NV", "NV"),
        ([5, 9], "", None),  # written before the classes existed
        ([5, 9], "N", None),  # not one letter per beat
        ([5, 9], "N?", None),  # not an AAMI class
    ],
)
def test_the_sink_stores_classes_only_when_they_fit_the_beats(
    beats: list[int], classes: str, stored: str | None
) -> None:
    assert beat_classes({"beats": beats, "beat_classes": classes}) == stored


def test_a_record_without_the_field_has_unknown_classes() -> None:
    assert beat_classes({"beats": [5]}) is None
    assert beat_classes({"beats": []}) == ""
