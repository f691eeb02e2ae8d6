"""Readiness from what Faust says of the worker, without Kafka or PostgreSQL."""

from __future__ import annotations

from streams.health import OK, GroupState, group_checks, not_ready

READY = GroupState(stopping=False, rebalancing=False, partitions=6, recovered=True)


def test_a_worker_with_partitions_and_recovered_tables_is_ready() -> None:
    checks = group_checks(READY)
    assert checks == {"worker": OK, "partitions": OK, "recovery": OK}
    assert not_ready(checks) == []


def test_a_rebalancing_or_recovering_worker_is_not_ready() -> None:
    rebalancing = GroupState(stopping=False, rebalancing=True, partitions=6, recovered=False)
    checks = group_checks(rebalancing)
    assert checks["partitions"] == "rebalancing"
    assert checks["recovery"] == "recovering"
    assert not_ready(checks) == ["partitions", "recovery"]


def test_a_worker_without_partitions_is_not_ready() -> None:
    idle = GroupState(stopping=False, rebalancing=False, partitions=0, recovered=True)
    assert not_ready(group_checks(idle)) == ["partitions"]


def test_a_stopping_worker_is_not_ready() -> None:
    stopping = GroupState(stopping=True, rebalancing=False, partitions=6, recovered=True)
    assert not_ready(group_checks(stopping)) == ["worker", "partitions", "recovery"]


def test_the_dependencies_count_like_the_rest() -> None:
    checks = {"kafka": OK, "postgresql": "unavailable", **group_checks(READY)}
    assert not_ready(checks) == ["postgresql"]
