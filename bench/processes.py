"""The CPU time and memory of the stack's processes, read from /proc with psutil.

The stack's pids are in its run directory's ``state.json`` (``infra.state``). A
process's CPU time here includes its children, live ones (PostgreSQL's backends) and
reaped ones, so that a server's work is counted whichever process did it. A name
may stand for several processes (``make up WORKERS=2``, or the gateway's uvicorn
supervisor and its server processes): their figures are summed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from infra.state import State

# The processes a figure names, by the name infra gives them.
MEASURED = {"gateway": "gateway", "worker": "worker", "kafka": "Kafka", "postgres": "PostgreSQL"}
SIMULATOR = "simulator"


class StackError(Exception):
    """The stack's processes cannot be found."""


def stack_pids(run_dir: Path) -> dict[str, tuple[int, ...]]:
    """The pids of the gateway, the workers, Kafka and PostgreSQL, and this process as
    the simulator, by their names in the table."""
    state = State.load(run_dir)
    if state is None:
        raise StackError(f"no state.json in {run_dir}: start the stack with make up")
    found: dict[str, tuple[int, ...]] = {}
    for service in state.services:
        found[service.name] = (*found.get(service.name, ()), service.pid)
    missing = [name for name in MEASURED if name not in found]
    if missing:
        raise StackError(f"{run_dir}/state.json lists no {', '.join(missing)}")
    pids = {shown: found[name] for name, shown in MEASURED.items()}
    return pids | {SIMULATOR: (os.getpid(),)}


def cpu_seconds(pid: int) -> float:
    """User and system seconds of ``pid`` and its children so far; 0 once it is gone."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            times = process.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    for child in children:
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue  # its time is in its parent's children_* once reaped
        total += times.user + times.system
    return float(total)


def cpu_snapshot(pids: Mapping[str, Sequence[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}


@dataclass(frozen=True)
class CpuUse:
    name: str
    seconds: float  # of CPU
    percent: float  # of one core over the wall time


def cpu_use(
    before: Mapping[str, float], after: Mapping[str, float], wall_seconds: float
) -> list[CpuUse]:
    """Each process's CPU seconds between two snapshots, and that as a percentage of one
    core over ``wall_seconds`` (200 % is two cores busy)."""
    uses = []
    for name, started in before.items():
        seconds = max(0.0, after.get(name, started) - started)
        percent = 100.0 * seconds / wall_seconds if wall_seconds > 0 else 0.0
        uses.append(CpuUse(name, seconds, percent))
    return uses


def rss_bytes(pids: Sequence[int]) -> int:
    """The resident set size of ``pids`` and their live children, summed."""
    total = 0
    for pid in pids:
        process = psutil.Process(pid)
        for member in (process, *process.children(recursive=True)):
            try:
                total += int(member.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
    return total
