"""CPU and memory of the stack's processes: the arithmetic, the pids from state.json,
and this very process read through psutil."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.processes import (
    StackError,
    cpu_seconds,
    cpu_snapshot,
    cpu_use,
    rss_bytes,
    stack_pids,
)
from infra.processes import Service
from infra.state import State


def test_cpu_use_is_the_difference_over_the_wall_time() -> None:
    uses = cpu_use({"gateway": 10.0, "worker": 5.0}, {"gateway": 13.0, "worker": 5.5}, 2.0)
    assert [(u.name, u.seconds, u.percent) for u in uses] == [
        ("gateway", 3.0, 150.0),
        ("worker", 0.5, 25.0),
    ]


def test_a_process_gone_or_a_zero_wall_time_counts_nothing() -> None:
    uses = cpu_use({"gateway": 10.0, "kafka": 4.0}, {"gateway": 0.0}, 0.0)
    assert [(u.seconds, u.percent) for u in uses] == [(0.0, 0.0), (0.0, 0.0)]


def test_the_pids_come_from_the_run_directory(tmp_path: Path) -> None:
    state = State(run_dir=tmp_path)
    for pid, name in enumerate(("postgres", "kafka", "gateway", "worker"), start=100):
        state.record(Service(name, pid, 0, f"{name}.log"))
    state.record(Service("worker", 104, 0, "worker-2.log"))
    assert stack_pids(tmp_path) == {
        "gateway": (102,),
        "worker": (103, 104),
        "Kafka": (101,),
        "PostgreSQL": (100,),
        "simulator": (os.getpid(),),
    }


def test_a_missing_stack_or_service_is_said(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"no state\.json"):
        stack_pids(tmp_path)
    State(run_dir=tmp_path, services=[Service("kafka", 1, 0, "k.log")]).save()
    with pytest.raises(StackError, match="gateway, worker, postgres"):
        stack_pids(tmp_path)


def test_several_processes_of_one_name_are_summed() -> None:
    me = os.getpid()
    assert cpu_snapshot({"worker": (me, me)})["worker"] >= 2 * cpu_seconds(me) * 0.99
    assert rss_bytes([me, me]) >= 2 * rss_bytes([me]) * 0.9


def test_this_process_has_cpu_time_and_memory() -> None:
    sum(n * n for n in range(200_000))  # some CPU time
    assert cpu_seconds(os.getpid()) > 0
    assert rss_bytes([os.getpid()]) > 1024 * 1024
