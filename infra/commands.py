"""``up``, ``down`` and ``run``: the three things ``python -m infra`` does."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from infra.containers import Services
from infra.linux_processes import die_with_parent, start_ticks
from infra.processes import Service, StartupError, is_running, stop_all
from infra.scale import ONE_EACH, Scale
from infra.signals import StopSignalError, interrupts_postponed, interrupts_raise
from infra.stack import Stack, remove_cluster_outside, stop_stack
from infra.state import State

RUN_DIR_MARKER = ".ecg-run-dir"
STARTUP_FAILED = 125  # as `docker run` does: the runner failed, not the command
DATA_DIRS = ("postgres", "kafka-data", "streams-data")
RUN_PREFIX = "ecg-run-"
OWNER = "owner"  # "pid start-ticks" of the `run` that uses the directory
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")  # in a variable's name: never shown


def say(message: str) -> None:
    print(f"infra: {message}", file=sys.stderr, flush=True)


def up(run_dir: Path, *, services_only: bool, scale: Scale = ONE_EACH) -> int:
    """Start the stack detached in ``run_dir`` and return once it is ready; from then
    on the workers and the gateway are restarted if they die (``infra.supervisor``)."""
    run_dir = run_dir.resolve()
    old = State.load(run_dir)
    if old is not None:
        wanted = services_only == ("gateway" not in old.ports) and old.scale == scale
        if old.ready and wanted and all(is_running(s) for s in old.services):
            say(f"already running (from {run_dir}); `make down` stops it")
            _announce(old)
            return 0
        say("stopping what a previous `up` left behind")
        _stop(old)
    try:
        _fresh_run_dir(run_dir)
    except StartupError as exc:
        say(str(exc))
        return STARTUP_FAILED
    stack = Stack(run_dir, ephemeral=False, scale=scale)
    started = time.monotonic()
    try:
        with interrupts_raise():
            stack.start(services_only=services_only)
    except Exception as exc:  # StartupError, StopSignalError, or a bug
        if not isinstance(exc, StartupError | StopSignalError):
            traceback.print_exc()
        say(f"startup failed: {exc}\nstopping what was started; logs are in {run_dir}")
        _stop(stack.state)
        return exc.exit_code if isinstance(exc, StopSignalError) else STARTUP_FAILED
    say(f"ready in {time.monotonic() - started:.1f} s; logs and state in {run_dir}")
    _announce(stack.state)
    return 0


def down(run_dir: Path) -> int:
    """Stop everything ``up`` recorded in ``run_dir``. Idempotent."""
    state = State.load(run_dir.resolve())
    if state is None:
        say(f"nothing is recorded in {run_dir}: nothing to stop")
        return 0
    _stop(state)
    say(f"stopped {len(state.services)} process(es) recorded in {run_dir}")
    return 0


def run(
    command: Sequence[str],
    *,
    services_only: bool,
    scale: Scale = ONE_EACH,
    services: Services = "local",
) -> int:
    """Start the stack in a temporary directory, run ``command`` with its ECG_*
    environment, stop everything whatever happens, return the command's status.
    ``services``: Kafka and PostgreSQL as local processes, or from testcontainers."""
    sweep_abandoned_run_dirs()
    run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
    (run_dir / OWNER).write_text(f"{os.getpid()} {start_ticks(os.getpid())}\n")
    # PostgreSQL's user must reach its data directory:
    os.chmod(run_dir, 0o755)  # noqa: S103  # nosec B103
    stack = Stack(run_dir, ephemeral=True, scale=scale, services=services)
    code = STARTUP_FAILED
    try:
        with interrupts_raise():
            started = time.monotonic()
            env = stack.start(services_only=services_only)
            took = time.monotonic() - started
            say(f"services ready in {took:.1f} s; running {shlex.join(command)}")
            # ECG_RUN_DIR: the command may read state.json (make bench reads the pids).
            code = _run_command(command, {**os.environ, **env, "ECG_RUN_DIR": str(run_dir)})
    except StopSignalError as exc:
        say(str(exc))
        code = exc.exit_code
    except StartupError as exc:
        say(f"the services could not start: {exc}")
    except Exception:
        traceback.print_exc()
        say("the services could not start (unexpected error above)")
    finally:
        stopping = time.monotonic()
        _stop(stack.state)
        with interrupts_postponed():
            stack.close()
        _clean(run_dir, keep_logs=code != 0)
        say(f"services stopped in {time.monotonic() - stopping:.1f} s")
    return code


def _run_command(command: Sequence[str], env: dict[str, str]) -> int:
    try:
        child = subprocess.Popen(list(command), env=env, preexec_fn=die_with_parent(signal.SIGKILL))
    except OSError as exc:
        say(f"cannot run {command[0]}: {exc.strerror}")
        return 127
    try:
        code = child.wait()
    except StopSignalError as exc:
        if not (exc.signum == signal.SIGINT and _terminal_delivers_sigint()):
            child.send_signal(exc.signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=30)
        raise
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return 128 - code if code < 0 else code


def shown(key: str, value: str, env_file: Path) -> str:
    """What may be printed of a variable: neither a key nor a password, even in a URL."""
    if any(word in key.upper() for word in SECRET_WORDS):
        return f"(hidden: in {env_file})"
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if password is None:
        return value
    return value.replace(f":{password}@", ":***@", 1)


def _terminal_delivers_sigint() -> bool:
    """Ctrl-C in a terminal reaches the whole foreground process group: the
    command got its own SIGINT already and must not get a second one."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


def _stop(state: State) -> None:
    with interrupts_postponed():
        stop_stack(state)
        remove_cluster_outside(state)
        state.discard()


def _fresh_run_dir(run_dir: Path) -> None:
    if run_dir.exists() and any(run_dir.iterdir()) and not (run_dir / RUN_DIR_MARKER).exists():
        raise StartupError(f"{run_dir} is not empty and is not a run directory of ours")
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    run_dir.chmod(0o755)  # PostgreSQL's user must reach its data directory
    (run_dir / RUN_DIR_MARKER).touch()


def _clean(run_dir: Path, *, keep_logs: bool) -> None:
    if not keep_logs or not any(run_dir.glob("*.log")):
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for name in DATA_DIRS:
        shutil.rmtree(run_dir / name, ignore_errors=True)
    (run_dir / OWNER).unlink(missing_ok=True)
    say(f"logs kept in {run_dir}")


def sweep_abandoned_run_dirs() -> None:
    """A ``run`` killed by SIGKILL takes its services along (PR_SET_PDEATHSIG) but
    cannot delete its directory: drop the data of those, keep their logs. The death
    signal reaches only the processes it started, not their children: uvicorn's
    server processes (``--gateways N``) outlive their supervisor, in its process
    group, which is stopped here."""
    for run_dir in Path(tempfile.gettempdir()).glob(RUN_PREFIX + "*"):
        try:
            pid, ticks = (int(n) for n in (run_dir / OWNER).read_text().split())
        except (OSError, ValueError):
            continue
        if not is_running(Service("infra run", pid, ticks, "")):
            state = State.load(run_dir)
            if state is not None:
                stop_all(state.services)
            _clean(run_dir, keep_logs=True)


def _announce(state: State) -> None:
    env_file = state.run_dir / "env"
    for key, value in sorted(state.env.items()):
        say(f"  {key}={shown(key, value, env_file)}")
    say(f"`. {env_file}` sets these variables in a shell (the file is readable by you alone)")
    if "ECG_GATEWAY_URL" in state.env:
        print(state.env["ECG_GATEWAY_URL"], flush=True)
