"""Keep one program of ``make up`` running: ``python -m infra.supervisor -- CMD...``.

Under ``up`` each stream worker and the gateway run under a supervisor of their own, as
compose's ``restart: unless-stopped`` would run them: when the program exits, for any
reason, it is started again with the same command and environment (``ECG_*``, the
token-signing key, a worker's data directory), 1 s later, then after 2, 4, … up to 30 s
while it keeps dying within 10 s of its start, so a program that crashes at once does
not spin. Each exit and restart is a line in ``supervisor.log`` in the run directory and
in the program's own log. ``python -m infra run`` supervises nothing: its tests kill
workers on purpose.

Supervision starts once ``up`` has recorded the stack ready (``state.json``). Before,
an exit is a failed start: the supervisor exits with the program's status and ``up``
reports it with the log's tail, or retries the gateway on a new port after a clash.

The supervisor is the pid that ``state.json`` records. It leads its process group, and
the program and the program's own children (uvicorn's server processes with
``GATEWAYS`` > 1) stay in it, so ``make down`` stops them all as before: SIGTERM to the
group, then SIGKILL. The program gets SIGTERM if the supervisor dies, even by SIGKILL
(PR_SET_PDEATHSIG), and stops with its children; when the program dies first, what it
leaves in the group (uvicorn's server processes still holding the port) is killed
before the restart, as a container's processes are when its main process dies. With
``GATEWAYS`` > 1, uvicorn's own supervisor already restarts a dead server process
(uvicorn 0.54 checks them every 0.5 s); this one restarts uvicorn itself.

Why not supervisord (PyPI ``supervisor``), which does restarts, backoff and logs:

- it puts each program in a process group of its own and has no parent-death setting,
  so a supervisord killed by SIGKILL leaves every program running, unknown to
  ``state.json`` and out of reach of ``make down``'s signal to its group;
- it gives up on a program that fails ``startretries`` starts in a row (FATAL), where
  ``restart: unless-stopped`` keeps trying, and logs no restart count;
- ``up``'s start checks (the program's pid while it starts, its exit with the log's
  tail, the gateway's retry on a new port) would have to go through its XML-RPC
  interface and a regenerated configuration, and ``infra`` uses the standard library
  only, so that it runs before anything is installed.

Written here, supervision is this one file on ``infra.linux_processes``, and
``state.json``, ``up``'s checks and ``down`` stay as they were.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from infra.linux_processes import die_with_parent, group_members
from infra.state import State

LOG_NAME = "supervisor.log"
FIRST_DELAY = 1.0  # seconds before the first restart, and after a program that ran a while
MAX_DELAY = 30.0
STABLE_AFTER = 10.0  # a program that ran this long is restarted after FIRST_DELAY again
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
POLL = 0.1


def command(name: str, argv: Sequence[str], run_dir: Path) -> list[str]:
    """``argv`` under a supervisor that calls it ``name`` in its log lines."""
    supervisor = [sys.executable, "-m", "infra.supervisor", "--name", name]
    return [*supervisor, "--run-dir", str(run_dir), "--", *argv]


def next_delay(previous: float | None, ran_for: float) -> float:
    """Seconds to wait before the next start: doubled after each run shorter than
    STABLE_AFTER, up to MAX_DELAY; FIRST_DELAY again after a longer one."""
    if previous is None or ran_for >= STABLE_AFTER:
        return FIRST_DELAY
    return min(2 * previous, MAX_DELAY)


def describe(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class Supervisor:
    def __init__(self, name: str, argv: Sequence[str], run_dir: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.run_dir = run_dir
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def run(self) -> int:
        """Start the program and keep it running until a stop signal; the program's
        status if it ends before the stack is ready."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._stop)
        restarts, delay = 0, None
        child = self._start()
        while True:
            started = time.monotonic()
            code = child.wait()
            ran_for = time.monotonic() - started
            self._kill_leftovers()
            if self.stopping:
                return 0
            if not self._stack_ready():
                self.say(f"{describe(code)} before the stack was ready: not restarted")
                return 128 - code if code < 0 else code
            restarts, delay = restarts + 1, next_delay(delay, ran_for)
            self.say(f"{describe(code)} after {ran_for:.1f} s; restart {restarts} in {delay:.0f} s")
            if not self._sleep(delay):
                return 0
            child = self._start()
            self.say(f"restart {restarts}: pid {child.pid}")

    def _start(self) -> subprocess.Popen[bytes]:
        self.child = child = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent(signal.SIGTERM),  # graceful: uvicorn stops its children
        )
        if self.stopping:  # a stop signal came while it was being started
            child.terminate()
        return child

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signal.SIGTERM)

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; False if a stop signal came meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(POLL)
        return not self.stopping

    def _kill_leftovers(self) -> None:
        """SIGKILL whatever the dead program left in this process group (only when this
        process leads it, as under ``up``: a group of a shell's is not ours)."""
        me = os.getpid()
        if os.getpgrp() != me:
            return
        for _ in range(50):  # bounded: a few rounds normally, each after SIGKILLs
            left = [pid for pid in group_members(me) if pid != me]
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(POLL)

    def _stack_ready(self) -> bool:
        state = State.load(self.run_dir)
        return state is not None and state.ready

    def say(self, message: str) -> None:
        line = f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S%z} {self.name}: {message}\n"
        print(f"supervisor: {line}", end="", flush=True)  # the program's log
        with open(self.run_dir / LOG_NAME, "a") as log:
            log.write(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.supervisor", description=__doc__)
    parser.add_argument("--name", required=True, help="the program's name in the log lines")
    parser.add_argument("--run-dir", type=Path, required=True, help="the stack's run directory")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    args = parser.parse_args(argv)
    program = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not program:
        parser.error("give the command to supervise after --")
    return Supervisor(args.name, program, args.run_dir).run()


if __name__ == "__main__":
    sys.exit(main())
