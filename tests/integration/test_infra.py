"""The local-infrastructure tooling (``python -m infra``) fails loudly and cleans up.

Fast checks only: the stack itself is exercised by every integration test,
which runs against the services that ``python -m infra run`` started.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from gateway.settings import jwt_secret_weakness
from infra import kafka_probe, postgres
from infra.commands import OWNER, RUN_PREFIX, down, sweep_abandoned_run_dirs
from infra.kafka import new_cluster_id
from infra.kafka_artifacts import find_java
from infra.linux_processes import start_ticks
from infra.net import http_ok
from infra.postgres_install import server_bin_dir
from infra.processes import PortInUseError, Service, StartupError, finish, is_running
from infra.state import State
from tests.e2e.conftest import make_admin, register_user
from tests.e2e.streaming import results, upload_whole
from tests.records import read_record

REPO = Path(__file__).resolve().parents[2]


def test_the_probe_sees_the_running_broker(kafka_bootstrap: str) -> None:
    host, port = kafka_bootstrap.split(",")[0].rsplit(":", 1)
    assert kafka_probe.brokers_online(host, int(port)) >= 1


def test_the_probe_does_not_mistake_an_open_port_for_a_broker() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def accept_and_hang_up() -> None:
            connection, _ = server.accept()
            connection.close()

        thread = threading.Thread(target=accept_and_hang_up)
        thread.start()
        assert not kafka_probe.is_serving("127.0.0.1", port)
        thread.join()
    assert not kafka_probe.is_serving("127.0.0.1", port)  # closed now


def test_the_probe_rejects_a_foreign_correlation_id() -> None:
    with pytest.raises(kafka_probe.ProtocolError):
        kafka_probe.broker_count(struct.pack(">ii", 7, 1))


def test_a_missing_java_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(StartupError, match="java was not found"):
        find_java()


def test_run_exits_non_zero_when_the_services_cannot_start(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no java, no mvn
    env.pop("JAVA_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "infra", "run", "--services-only", "--", "true"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 125
    assert "java was not found" in result.stderr


def test_postgres_on_an_occupied_port_fails_loudly(tmp_path: Path) -> None:
    cluster = postgres.prepare(tmp_path, server_bin_dir())
    try:
        finish(
            postgres.initdb(cluster, tmp_path / "initdb.log", parent_death_signal=None), timeout=120
        )
        with socket.create_server(("127.0.0.1", 0)) as occupied:
            port = occupied.getsockname()[1]
            log = tmp_path / "postgres.log"
            server = postgres.start_postgres(
                cluster, port, log, durable=False, parent_death_signal=signal.SIGKILL
            )
            with pytest.raises(PortInUseError, match="Address already in use"):
                postgres.wait_for_postgres(cluster, server, port)
        assert not is_running(server)
    finally:
        shutil.rmtree(cluster.base, ignore_errors=True)


CHILD = """
import signal, sys, time
from pathlib import Path
from infra.processes import spawn
service = spawn("sleeper", ["sleep", "60"], log=Path(sys.argv[1]), env={"PATH": "/usr/bin:/bin"},
                cwd=Path("."), parent_death_signal=signal.SIGKILL)
print(service.pid, service.start_ticks, flush=True)
time.sleep(60)
"""


def test_children_of_run_die_with_it_even_by_sigkill(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "sleeper.log")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid, ticks = (int(n) for n in parent.stdout.readline().split())
    parent.stdout.close()
    sleeper = Service("sleeper", pid, ticks, "")
    assert is_running(sleeper)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while is_running(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_running(sleeper), "the child outlived its SIGKILLed parent"


def test_down_is_idempotent_and_keeps_foreign_processes(tmp_path: Path) -> None:
    assert down(tmp_path) == 0  # nothing recorded
    state = State(tmp_path)
    state.record(Service("gone", 2**22 - 1, 1, ""))  # a pid that is not running
    me = Service("this test", os.getpid(), start_ticks(os.getpid()) or 0, "")
    state.record(Service(me.name, me.pid, me.start_ticks + 1, ""))  # pid reused: not ours
    assert down(tmp_path) == 0
    assert is_running(me)
    assert State.load(tmp_path) is None
    assert down(tmp_path) == 0


def test_state_survives_a_round_trip(tmp_path: Path) -> None:
    state = State(tmp_path, ports={"kafka": 1234}, env={"ECG_X": "a b'c"}, ready=True)
    state.record(Service("kafka", 42, 7, "kafka.log"))
    loaded = State.load(tmp_path)
    assert loaded is not None
    assert (loaded.services, loaded.ports, loaded.env, loaded.ready) == (
        state.services,
        state.ports,
        state.env,
        True,
    )
    sourced = subprocess.run(
        ["bash", "-c", f'. {tmp_path / "env"} && printf %s "$ECG_X"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sourced.stdout == "a b'c"


def test_cluster_ids_are_valid_and_never_look_like_options() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


# A stack of its own, several processes: ``up --gateways 2 --workers 2``, one uvicorn with
# two server processes and two workers in one consumer group that split the samples
# topic; an ECG uploaded through the gateway is analysed; ``down`` leaves nothing behind.
GROUP = "ecg-pipeline"  # the workers' app id, the default ECG_STREAMS_APP_ID
SAMPLES_TOPIC = "ecg.samples.v1"
PARTITIONS = 4  # the default ECG_TOPIC_PARTITIONS
UP_TIMEOUT = 150.0
GROUP_TIMEOUT = 30.0


def test_two_gateway_processes_and_two_workers_share_the_work(
    tmp_path: Path, data_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    # None of the shared stack's ECG_* variables: this stack describes itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    argv = [sys.executable, "-m", "infra", "up", "--run-dir", str(run_dir)]
    started = subprocess.run(
        [*argv, "--gateways", "2", "--workers", "2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=UP_TIMEOUT,
    )
    processes: list[psutil.Process] = []
    try:
        assert started.returncode == 0, started.stderr
        state = State.load(run_dir)
        assert state is not None
        key = state.env["ECG_JWT_SECRET"]  # made up by `up`, strong enough for production
        assert jwt_secret_weakness(key) is None
        assert key not in started.stdout + started.stderr, "`up` printed the signing key"
        assert stat.S_IMODE((run_dir / "env").stat().st_mode) == 0o600
        assert state.env["ECG_ENV"] == "development"
        for service in state.services:
            process = psutil.Process(service.pid)
            processes += [process, *process.children(recursive=True)]
        workers = [s for s in state.services if s.name == "worker"]
        assert sorted(Path(w.log).name for w in workers) == ["worker-1.log", "worker-2.log"]
        (gateway,) = [s for s in state.services if s.name == "gateway"]
        servers = [  # under uvicorn, itself under infra.supervisor (the recorded pid)
            p
            for p in psutil.Process(gateway.pid).children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())
        ]
        assert len(servers) == 2, "uvicorn did not start two server processes"
        split = asyncio.run(samples_assignment(state.env["ECG_KAFKA_BOOTSTRAP"]))
        assert len(split) == 2, f"not two members in the group: {split}"
        assert all(split), f"a worker got no partition of {SAMPLES_TOPIC}: {split}"
        assert sorted(p for partitions in split for p in partitions) == list(range(PARTITIONS))
        urls = state.env["ECG_WORKER_URLS"].split()  # each worker's endpoints, worker 1 first
        assert len(set(urls)) == 2
        assert state.env["ECG_WORKER_URL"] == urls[0]
        assert all(http_ok(f"{url}/livez") and http_ok(f"{url}/readyz") for url in urls)
        analysed = asyncio.run(upload(state.env, data_dir))
        assert analysed == "done", (run_dir / "worker-1.log").read_text(errors="replace")
    finally:
        assert down(run_dir) == 0
    left = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"processes outlived `down`: {left}"


async def samples_assignment(bootstrap: str) -> list[list[int]]:
    """Each member's partitions of the samples topic once the group is stable with two
    members (the second worker's join may still be rebalancing)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + GROUP_TIMEOUT
        split: list[list[int]] = []
        while time.monotonic() < deadline:
            (response,) = await admin.describe_consumer_groups([GROUP])
            (group,) = response.groups
            _, _, group_state, _, _, members = group[:6]
            split = [partitions_of(member[-1]) for member in members]
            if group_state == "Stable" and len(split) == 2 and all(split):
                return split
            await asyncio.sleep(0.5)
        return split
    finally:
        await admin.close()


def partitions_of(assignment: bytes) -> list[int]:
    if not assignment:
        return []
    decoded = ConsumerProtocolMemberAssignment.decode(assignment)
    return sorted(p for topic, ps in decoded.assignment if topic == SAMPLES_TOPIC for p in ps)


async def upload(env: dict[str, str], data_dir: Path) -> str:
    """Upload 20 s of MIT-BIH record 100 through the gateway; its status when done."""
    record = read_record(data_dir / "mitdb" / "100")
    async with httpx.AsyncClient(base_url=env["ECG_GATEWAY_URL"], timeout=60) as http:
        user = await register_user(http, await make_admin(http, env["ECG_DATABASE_URL"]))
        http.headers.update(user.headers())
        ecg_id = await upload_whole(http, record.signals[:, : 20 * 360], record.lead_names, 360)
        status: str = (await results(http, ecg_id, deadline_seconds=60))["status"]
    return status


def test_a_killed_run_leaves_no_gateway_process_behind_after_the_next_sweep() -> None:
    """SIGKILL reaches uvicorn's supervisor through PR_SET_PDEATHSIG, not its server
    processes: the next ``run`` stops what is left of the dead run's process groups."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    argv = [sys.executable, "-m", "infra", "run", "--gateways", "2", "--", "sleep", "120"]
    runner = subprocess.Popen(argv, env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert runner.stderr is not None
        for line in runner.stderr:  # bounded by the stack's own startup timeouts
            if "services ready" in line or "could not start" in line:
                break
        (run_dir,) = [
            d
            for d in Path(tempfile.gettempdir()).glob(RUN_PREFIX + "*")
            if (d / OWNER).is_file() and (d / OWNER).read_text().split()[0] == str(runner.pid)
        ]
        state = State.load(run_dir)
        assert state is not None
        assert state.ready
        (gateway,) = [s for s in state.services if s.name == "gateway"]
        servers = psutil.Process(gateway.pid).children()
        assert len(servers) >= 2
    finally:
        runner.kill()
        runner.wait()
        if runner.stderr is not None:
            runner.stderr.close()
    sweep_abandoned_run_dirs()
    shutil.rmtree(run_dir)  # the logs the sweep keeps for a person to read
    left = [p for p in servers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"uvicorn's processes outlived the sweep: {left}"
