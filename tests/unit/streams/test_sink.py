"""The sink's choice among an ECG's summaries in one batch (no database)."""

from __future__ import annotations

import uuid
from typing import Any

from streams.sink import is_final, latest_summaries, summary_rank

ECG, OTHER = uuid.uuid4(), uuid.uuid4()


def summary(ecg_id: uuid.UUID, n_windows: int, final: bool, tag: str = "") -> dict[str, Any]:
    return {"ecg_id": ecg_id, "n_windows": n_windows, "final": final, "tag": tag}


def test_a_summary_without_the_flag_is_final_as_in_the_schema() -> None:
    assert is_final({"ecg_id": ECG, "n_windows": 1})
    assert not is_final(summary(ECG, 1, final=False))


def test_final_beats_provisional_and_more_windows_beat_fewer() -> None:
    ranked = [summary(ECG, 3, False), summary(ECG, 4, False), summary(ECG, 1, True)]
    assert sorted(ranked, key=summary_rank) == ranked


def test_the_batch_keeps_each_ecgs_newest_summary_whatever_the_order() -> None:
    batch = [
        summary(ECG, 2, False),
        summary(OTHER, 1, False),
        summary(ECG, 5, True),
        summary(ECG, 4, False),  # redelivered late: older than the final one
        summary(OTHER, 3, False),
        summary(OTHER, 2, False),
    ]
    kept = latest_summaries(batch)
    assert [(s["ecg_id"], s["n_windows"], s["final"]) for s in kept] == [
        (ECG, 5, True),
        (OTHER, 3, False),
    ]


def test_among_equals_the_last_one_wins() -> None:
    batch = [summary(ECG, 2, True, "first"), summary(ECG, 2, True, "again")]
    assert [s["tag"] for s in latest_summaries(batch)] == ["again"]


def test_a_later_revision_beats_any_summary_of_an_earlier_one() -> None:
    revised = summary(ECG, 1, False) | {"revision": 1}
    ranked = [summary(ECG, 9, True), revised, revised | {"final": True}]
    assert sorted(ranked, key=summary_rank) == ranked
    assert latest_summaries([revised, summary(ECG, 9, True)]) == [revised]
