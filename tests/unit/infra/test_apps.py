"""When several workers have settled in one consumer group, read from their logs."""

from __future__ import annotations

from infra.apps import recovered_generation

JOIN_4 = """\
[INFO] (Re-)joining group ecg-pipeline
[INFO] Joined group 'ecg-pipeline' (generation 4) with member_id faust-a
[INFO] Setting newly assigned partitions
[INFO] [^---Recovery]: Worker ready
"""
REBALANCING = "[WARNING] Heartbeat failed for group ecg-pipeline because it is rebalancing\n"
JOIN_5 = JOIN_4.replace("generation 4", "generation 5")


def test_a_worker_recovered_after_its_last_join_is_at_that_generation() -> None:
    assert recovered_generation(JOIN_4) == 4
    assert recovered_generation(JOIN_4 + REBALANCING + JOIN_5) == 5


def test_a_worker_joining_or_recovering_has_no_generation() -> None:
    assert recovered_generation("") is None
    assert recovered_generation(JOIN_4.rsplit("[INFO] [^", 1)[0]) is None  # recovering
    rejoining = JOIN_4 + REBALANCING + "[INFO] (Re-)joining group ecg-pipeline\n"
    assert recovered_generation(rejoining) is None
    assigned = JOIN_4 + JOIN_5.rsplit("[INFO] [^", 1)[0]
    assert recovered_generation(assigned) is None
