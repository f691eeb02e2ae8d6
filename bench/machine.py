"""What a benchmark ran on: the processors, the load before and after, the commit."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Machine:
    cpus: int  # that this process may run on, as nproc counts them
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    commit: str


def load() -> tuple[float, float, float]:
    """``uptime``'s 1-, 5- and 15-minute load averages."""
    return os.getloadavg()


def commit() -> str:
    """The checked-out commit, ``+ changes`` when the work tree differs from it."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} + changes" if dirty else head


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def render_machine(machine: Machine, seconds: float) -> str:
    def average(values: tuple[float, float, float]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    return (
        f"machine: {machine.cpus} CPUs (nproc); load {average(machine.load_before)} before, "
        f"{average(machine.load_after)} after; commit {machine.commit}; "
        f"took {seconds:.0f} s"
    )
