"""Start, watch and stop the local services as detached process groups.

Every service runs in a session of its own (so a Ctrl-C in the terminal does not
reach it directly) with stdout and stderr going to a log file. A service is
identified by its pid *and* its start time, so a recorded pid that the kernel
has since reused for an unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.linux_processes import die_with_parent, group_members, start_ticks


class StartupError(RuntimeError):
    """A service could not be installed, started or reached; the message says why."""


class PortInUseError(StartupError):
    """The service could not bind its port: worth one retry on a fresh port."""


@dataclass(frozen=True)
class Service:
    name: str
    pid: int
    start_ticks: int
    log: str


# Popen objects of the children started by this process, so that they are reaped.
_children: dict[int, subprocess.Popen[bytes]] = {}


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str],
    cwd: Path,
    user: str | None = None,
    parent_death_signal: int | None = None,
    detached: bool = True,
) -> Service:
    """Start ``argv`` with its output appended to ``log``. A detached service gets a
    session of its own and outlives this process unless ``parent_death_signal``."""
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=detached,
                user=user,
                group=_group_of(user),
                extra_groups=[] if user else None,
                preexec_fn=None
                if parent_death_signal is None
                else die_with_parent(parent_death_signal),
            )
        except FileNotFoundError as exc:
            raise StartupError(f"cannot start {name}: {argv[0]}: {exc.strerror}") from None
    _children[proc.pid] = proc
    return Service(name, proc.pid, start_ticks(proc.pid) or 0, str(log))


def finish(step: Service, *, timeout: float) -> None:
    """Wait for a short-lived child; a failure or timeout raises with its log's tail.
    Whatever happens, the child does not outlive this call."""
    proc = _children[step.pid]
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise StartupError(
            f"{step.name} took longer than {timeout:.0f} s\n{tail(step.log)}"
        ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _children.pop(step.pid, None)
    if code != 0:
        raise StartupError(f"{step.name} failed with exit code {code}\n{tail(step.log)}")


def run_step(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    user: str | None = None,
    parent_death_signal: int | None = None,
) -> None:
    """Run a short command in the foreground (Ctrl-C reaches it) to completion."""
    step = spawn(
        name,
        argv,
        log=log,
        env=env,
        cwd=cwd,
        user=user,
        parent_death_signal=parent_death_signal,
        detached=False,
    )
    finish(step, timeout=timeout)


def _group_of(user: str | None) -> int | None:
    if user is None:
        return None
    return pwd.getpwnam(user).pw_gid


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def is_running(service: Service) -> bool:
    _reap()
    ticks = start_ticks(service.pid)
    return ticks is not None and (service.start_ticks in (0, ticks))


def stop_all(services: Sequence[Service], *, grace: float = 15.0) -> None:
    """SIGTERM to each service's process group, one bounded wait, then SIGKILL.

    The kernel does not hand out a pid again while it still names a process
    group, so a recorded pid that now belongs to a younger process means that
    the service's group is gone: it is left alone."""
    live = [s for s in services if not _reused(s) and group_members(s.pid)]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        _signal_groups(live, sig)
        if wait_until(lambda: not any(group_members(s.pid) for s in live), timeout=wait):
            break
    _reap()


def terminate(services: Sequence[Service]) -> None:
    """SIGTERM to each service's process group, without waiting."""
    _signal_groups([s for s in services if not _reused(s)], signal.SIGTERM)


def _signal_groups(services: Sequence[Service], sig: int) -> None:
    for service in services:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.pid, sig)


def _reused(service: Service) -> bool:
    ticks = start_ticks(service.pid)
    return ticks is not None and service.start_ticks not in (0, ticks)


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        _reap()
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def await_start(
    service: Service,
    name: str,
    is_ready: Callable[[], bool],
    *,
    timeout: float,
    ports: str,
    waited_for: str,
    hint: Callable[[str], str] = lambda log: "",
    interval: float = 0.1,
) -> None:
    """Bounded wait until ``is_ready()``, or raise the error that says why not: the
    ports were taken (PortInUseError: a caller may retry on others), the server exited
    (``hint`` may add advice from its log), or it did not get ready in time."""
    ready = wait_until(
        lambda: not is_running(service) or is_ready(), timeout=timeout, interval=interval
    )
    if not is_running(service):
        log = Path(service.log).read_text(errors="replace")
        if "Address already in use" in log:
            raise PortInUseError(f"{name} could not bind {ports}\n{tail(service.log)}")
        raise StartupError(f"{name} exited during startup\n{tail(service.log)}{hint(log)}")
    if not ready:
        raise StartupError(
            f"{name} did not {waited_for} within {timeout:.0f} s\n{tail(service.log)}"
        )


def tail(log: Path | str, lines: int = 30) -> str:
    try:
        text = Path(log).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {log})"
    return f"--- last lines of {log} ---\n" + "\n".join(text)
