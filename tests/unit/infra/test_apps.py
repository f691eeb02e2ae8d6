"""When several workers have settled in one consumer group, read from their logs."""

from __future__ import annotations

from infra.apps import SERVER_OPTIONS, recovered_generation
from infra.paths import REPO_ROOT

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


def test_a_leader_that_synced_into_the_next_generation_is_in_that_one() -> None:
    # A second worker joined while the leader of generation 1 computed its assignment:
    # the leader's sync answered for generation 2, with no join line of its own.
    synced = JOIN_4.replace(
        "[INFO] Setting",
        "[INFO] Successfully synced group ecg-pipeline with generation 5\n[INFO] Setting",
    )
    assert recovered_generation(synced) == 5


def test_a_member_rebalanced_with_only_fausts_line_is_in_its_generation() -> None:
    rebalanced = JOIN_4 + REBALANCING + "[INFO] generation id 6 app consumers id 6\n"
    assert recovered_generation(rebalanced) is None  # recovering
    assert recovered_generation(rebalanced + "[INFO] [^---Recovery]: Worker ready\n") == 6


def test_every_gateway_command_bounds_heads_and_ignores_uvicorns_proxy_trust() -> None:
    """``make up``, the image and compose serve the gateway with the same options."""
    dockerfile = (REPO_ROOT / "infra" / "Dockerfile").read_text()
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    assert ", ".join(f'"{option}"' for option in SERVER_OPTIONS) in dockerfile
    assert "\n".join(f"      - {option}" for option in SERVER_OPTIONS) in compose


def test_the_sample_archives_group_is_not_the_apps() -> None:
    """The archive's consumer group joins, syncs and takes partitions in the same log."""
    archive = (
        "[INFO] (Re-)joining group ecg-pipeline-archive\n"
        "[INFO] Joined group 'ecg-pipeline-archive' (generation 9) with member_id a\n"
        "[INFO] Successfully synced group ecg-pipeline-archive with generation 9\n"
        "[INFO] Setting newly assigned partitions {TopicPartition(topic='ecg.samples.v1', "
        "partition=0)} for group ecg-pipeline-archive\n"
    )
    assert recovered_generation(JOIN_4 + archive) == 4
    assert recovered_generation(archive) is None
