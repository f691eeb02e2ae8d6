"""``make up``'s processes are supervised (``infra.supervisor``): a program that dies is
restarted and the restart logged, a crash loop backs off, a killed supervisor leaves no
program behind, and a stack of ``up`` gets its killed worker and gateway back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import psutil
import pytest

from infra.commands import down
from infra.net import free_ports, http_ok
from infra.processes import Service, tail, wait_until
from infra.state import State
from infra.supervisor import LOG_NAME
from tests.e2e.conftest import Account, make_admin, register_user
from tests.e2e.streaming import results, upload_whole
from tests.records import read_record

REPO = Path(__file__).resolve().parents[2]
UP_TIMEOUT = 150.0
BACK_WITHIN = 10.0  # the bound for a SIGKILLed worker

Supervise = Callable[[str, Sequence[str]], "subprocess.Popen[bytes]"]


def mark_ready(run_dir: Path) -> None:
    """What ``up`` records once the stack is ready: supervision starts then."""
    State(run_dir, ready=True).save()


def restart_log(run_dir: Path) -> str:
    try:
        return (run_dir / LOG_NAME).read_text()
    except FileNotFoundError:
        return ""


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Supervise]:
    """Start ``python -m infra.supervisor`` as ``up`` does (a session of its own, its
    output in a log); whatever is left of its process group is killed afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "infra.supervisor", "--name", name]
        command += ["--run-dir", str(tmp_path), "--", *argv]
        with open(tmp_path / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(process)
        return process

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_program_that_dies_at_once_is_restarted_with_growing_delays(
    tmp_path: Path, supervise: Supervise
) -> None:
    mark_ready(tmp_path)
    started = time.monotonic()
    supervisor = supervise("crasher", ["sh", "-c", "exit 3"])
    assert wait_until(lambda: "restart 3 in 4 s" in restart_log(tmp_path), timeout=10)
    took = time.monotonic() - started
    log = restart_log(tmp_path)
    assert "crasher: exited with status 3 after 0.0 s; restart 1 in 1 s" in log
    assert "restart 2 in 2 s" in log
    assert 3.0 <= took < 8.0, f"three restarts took {took:.1f} s, not 1 + 2 s"
    assert "crasher: restart 1: pid " in (tmp_path / "crasher.log").read_text()
    stopping = time.monotonic()
    supervisor.terminate()  # while it waits 4 s before the next start
    assert supervisor.wait(timeout=5) == 0
    assert time.monotonic() - stopping < 2.0


def test_before_the_stack_is_ready_an_exit_is_a_failed_start(
    tmp_path: Path, supervise: Supervise
) -> None:
    supervisor = supervise("crasher", ["sh", "-c", "echo broken; exit 3"])
    assert supervisor.wait(timeout=10) == 3
    assert "before the stack was ready: not restarted" in restart_log(tmp_path)
    assert "broken" in (tmp_path / "crasher.log").read_text()


# A tiny ASGI app under uvicorn --workers 2, as the gateway runs with GATEWAYS=2.
APP = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def uvicorn_of(supervisor: int) -> psutil.Process | None:
    children = psutil.Process(supervisor).children()
    return children[0] if len(children) == 1 else None


def servers_of(uvicorn: psutil.Process | None) -> list[psutil.Process]:
    if uvicorn is None:
        return []
    return [p for p in uvicorn.children() if "spawn_main" in " ".join(p.cmdline())]


def alive(processes: Sequence[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_uvicorn_and_its_server_processes_are_replaced_and_never_outlive_the_supervisor(
    tmp_path: Path, supervise: Supervise
) -> None:
    (tmp_path / "tiny.py").write_text(APP)
    mark_ready(tmp_path)
    (port,) = free_ports(1)
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(tmp_path), "tiny:app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    supervisor = supervise("gateway", argv)
    assert wait_until(lambda: len(servers_of(uvicorn_of(supervisor.pid))) == 2, timeout=30)
    first = uvicorn_of(supervisor.pid)
    assert first is not None
    old_servers = servers_of(first)
    assert wait_until(lambda: http_ok(url), timeout=30)

    # The server processes that uvicorn's death leaves hold the port: they go first.
    first.kill()
    assert wait_until(lambda: not alive(old_servers), timeout=5), "uvicorn's orphans survived"

    def replaced() -> bool:
        now = uvicorn_of(supervisor.pid)
        return now is not None and now.pid != first.pid and len(servers_of(now)) == 2

    assert wait_until(replaced, timeout=BACK_WITHIN)
    assert wait_until(lambda: http_ok(url), timeout=30)
    assert "gateway: was killed by SIGKILL" in restart_log(tmp_path)

    # Killed, the supervisor takes uvicorn and its server processes along.
    second = uvicorn_of(supervisor.pid)
    assert second is not None
    everything = [second, *servers_of(second)]
    os.kill(supervisor.pid, signal.SIGKILL)
    supervisor.wait()
    assert wait_until(lambda: not alive(everything), timeout=15), alive(everything)


def test_up_brings_back_a_killed_worker_and_gateway_and_down_stops_everything(
    tmp_path: Path, data_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    # None of the shared stack's ECG_* variables: this stack describes itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    argv = [sys.executable, "-m", "infra", "up", "--run-dir", str(run_dir)]
    started = subprocess.run(
        [*argv, "--gateways", "2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=UP_TIMEOUT,
    )
    state: State | None = None
    try:
        assert started.returncode == 0, started.stderr
        state = State.load(run_dir)
        assert state is not None
        (worker,) = [s for s in state.services if s.name == "worker"]
        (gateway,) = [s for s in state.services if s.name == "gateway"]
        user = asyncio.run(new_user(state.env))

        # The worker: SIGKILL, back within 10 s, the restart in supervisor.log.
        program = only_child(worker)
        assert program is not None
        assert "streams" in program.cmdline()
        program.kill()
        killed = time.monotonic()

        def worker_back() -> bool:
            now = only_child(worker)
            return now is not None and now.pid != program.pid

        assert wait_until(worker_back, timeout=BACK_WITHIN), "no new worker within 10 s"
        back_after = time.monotonic() - killed
        assert "worker: was killed by SIGKILL" in restart_log(run_dir)
        assert back_after < 3.0, f"the first restart took {back_after:.1f} s"

        # The gateway (uvicorn's own supervisor with GATEWAYS=2): SIGKILL, /healthz again,
        # and a token signed before the restart still holds (the same ECG_JWT_SECRET).
        uvicorn = only_child(gateway)
        assert uvicorn is not None
        old_servers = servers_of(uvicorn)
        assert len(old_servers) == 2
        uvicorn.kill()
        # Its server processes, orphans that still answer, go before the new uvicorn.
        assert wait_until(lambda: not alive(old_servers), timeout=5), "uvicorn's orphans lived"

        def gateway_back() -> bool:
            now = only_child(gateway)
            return now is not None and now.pid != uvicorn.pid

        assert wait_until(gateway_back, timeout=BACK_WITHIN), "no new uvicorn within 10 s"
        health = state.env["ECG_GATEWAY_URL"] + "/healthz"
        assert wait_until(lambda: http_ok(health), timeout=60), tail(run_dir / "gateway.log")
        assert "gateway: was killed by SIGKILL" in restart_log(run_dir)

        # The restarted worker analyses an ECG uploaded through the restarted gateway.
        status = asyncio.run(upload(state.env, user, data_dir))
        assert status == "done", tail(run_dir / "worker.log")
    finally:
        processes = [] if state is None else run_processes(state)
        assert down(run_dir) == 0
        assert down(run_dir) == 0  # idempotent
    left = alive(processes)
    assert not left, f"processes outlived `down`: {left}"


def only_child(service: Service) -> psutil.Process | None:
    """The program that ``service``'s supervisor runs, if it runs one."""
    children = psutil.Process(service.pid).children()
    return children[0] if len(children) == 1 else None


def run_processes(state: State) -> list[psutil.Process]:
    """Every live process of the stack: its services and their descendants."""
    found: list[psutil.Process] = []
    for service in state.services:
        try:
            process = psutil.Process(service.pid)
            found += [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


async def new_user(env: dict[str, str]) -> Account:
    async with httpx.AsyncClient(base_url=env["ECG_GATEWAY_URL"], timeout=30) as http:
        return await register_user(http, await make_admin(http, env["ECG_DATABASE_URL"]))


async def upload(env: dict[str, str], user: Account, data_dir: Path) -> str:
    """Upload 20 s of MIT-BIH record 100 with ``user``'s token; its status when done."""
    record = read_record(data_dir / "mitdb" / "100")
    async with httpx.AsyncClient(base_url=env["ECG_GATEWAY_URL"], timeout=60) as http:
        http.headers.update(user.headers())
        missing = await http.get(f"/api/v1/ecg/{uuid.uuid4()}")
        assert missing.status_code == 404, missing.text  # the token holds, the ECG is unknown
        ecg_id = await upload_whole(http, record.signals[:, : 20 * 360], record.lead_names, 360)
        outcome: str = (await results(http, ecg_id, deadline_seconds=60))["status"]
    return outcome
