"""The machine line under the table."""

from __future__ import annotations

from bench.machine import Machine, render_machine


def test_the_machine_line() -> None:
    machine = Machine(2, (0.5, 0.25, 1.0), (1.5, 0.75, 1.0), "abc1234")
    assert render_machine(machine, 312.4) == (
        "machine: 2 CPUs (nproc); load 0.50 / 0.25 / 1.00 before, 1.50 / 0.75 / 1.00 after; "
        "commit abc1234; took 312 s"
    )
