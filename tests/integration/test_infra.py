"""The local-infrastructure tooling (``python -m infra``) fails loudly and cleans up.

Fast checks only: the stack itself is exercised by every integration test,
which runs against the services that ``python -m infra run`` started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra import kafka_probe, postgres
from infra.commands import down
from infra.kafka import new_cluster_id
from infra.kafka_artifacts import find_java
from infra.linux_processes import start_ticks
from infra.postgres_install import server_bin_dir
from infra.processes import PortInUseError, Service, StartupError, finish, is_running
from infra.state import State

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
