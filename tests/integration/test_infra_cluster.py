"""``python -m infra up --brokers 3 --workers 2 --gateways 2``: a three-node KRaft cluster
whose topics have three replicas, two of them in sync for a write, with unclean leader
election off. The broker that leads an ECG's partition is killed (SIGKILL) in the middle
of its stream: the gateway keeps acknowledging chunks, refusing them (503 with
``Retry-After``) only while partition leadership moves, and the ECG ends ``done`` with
the results of the same signal uploaded whole.

A stack of its own, beside the shared one of ``make test``, as
``test_infra.test_two_gateway_processes_and_two_workers_share_the_work`` starts. The
same cluster with Docker, ``infra/compose.cluster.yml`` over ``docker-compose.yml``, is
checked as Compose merges the two files (``config``, no engine needed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import murmur2
from numpy.typing import NDArray

from infra.commands import down
from infra.compose_cli import compose_command
from infra.processes import Service, is_running, wait_until
from infra.state import State
from tests.e2e.conftest import make_admin, register_user
from tests.e2e.streaming import device, open_stream, results, send, upload_whole
from tests.e2e.test_kafka_outage import check_unavailable
from tests.integration.test_compose import REQUIRED
from tests.records import read_record

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILES = (REPO / "docker-compose.yml", REPO / "infra" / "compose.cluster.yml")
NODES = ("kafka", "kafka-2", "kafka-3")
UP_TIMEOUT = 150.0
PIPELINE_TOPICS = (
    "ecg.samples.v1",
    "ecg.windows.v1",
    "ecg.summaries.v1",
    "ecg.dlq.v1",
    "ecg.analysis-requests.v1",
)
CHANGELOG = "ecg-pipeline-ecg-stream-state-changelog"  # Faust's, of the windows agent's table
PARTITIONS = 4  # the default ECG_TOPIC_PARTITIONS
SAMPLES = 64 * 360  # 64 s of MIT-BIH record 100
CHUNK = 360  # one second per chunk: 64 chunks
KILLED_AFTER = 20  # chunks acknowledged before the broker dies
# The longest chunks may be refused: the controller fences a silent broker after
# broker.session.timeout.ms (9 s), elects new leaders and shrinks the in-sync replica
# sets; the gateway's requests that waited meanwhile time out after 10 s.
FAILOVER_SECONDS = 30.0
DONE_SECONDS = 90.0


Request = Callable[[], Awaitable[httpx.Response]]


@pytest.fixture
def signals(data_dir: Path) -> NDArray[np.int32]:
    return read_record(data_dir / "mitdb" / "100").signals[:, :SAMPLES]


def test_a_three_broker_cluster_keeps_acknowledging_when_a_broker_dies(
    tmp_path: Path, signals: NDArray[np.int32], record_property: Callable[[str, object], None]
) -> None:
    run_dir = tmp_path / "run"
    # None of the shared stack's ECG_* variables: this stack describes itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    argv = [sys.executable, "-m", "infra", "up", "--run-dir", str(run_dir)]
    argv += ["--brokers", "3", "--workers", "2", "--gateways", "2"]
    started = time.monotonic()
    up = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, check=False, timeout=UP_TIMEOUT
    )
    startup_seconds = time.monotonic() - started
    try:
        assert up.returncode == 0, up.stderr
        state = State.load(run_dir)
        assert state is not None
        brokers = {node_id(s): s for s in state.services if s.name == "kafka"}
        assert sorted(brokers) == [1, 2, 3]
        bootstrap = state.env["ECG_KAFKA_BOOTSTRAP"]
        assert len(bootstrap.split(",")) == 3
        assert state.env["ECG_TOPIC_REPLICATION"] == "3"
        asyncio.run(check_replication(bootstrap))
        measured = asyncio.run(stream_through_a_broker_death(state.env, brokers, signals))
    finally:
        assert down(run_dir) == 0
    measured = {"startup_seconds": round(startup_seconds, 1), **measured}
    for name, value in measured.items():
        record_property(name, value)
    print(f"three-broker cluster: {measured}")


def node_id(broker: Service) -> int:
    """A cluster node's id, from its log's name (``kafka-N.log``)."""
    return int(Path(broker.log).stem.removeprefix("kafka-"))


async def check_replication(bootstrap: str) -> None:
    """Every topic of the pipeline, Faust's changelog and the consumer offsets have three
    replicas, all in sync; a write needs two, and unclean leader election is off."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [*PIPELINE_TOPICS, CHANGELOG, "__consumer_offsets"]
        for topic in await admin.describe_topics(names):
            assert topic["error_code"] == 0, topic
            for partition in topic["partitions"]:
                assert len(partition["replicas"]) == 3, (topic["topic"], partition)
                assert sorted(partition["isr"]) == [1, 2, 3], (topic["topic"], partition)
        wanted = {"min.insync.replicas": None, "unclean.leader.election.enable": None}
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, wanted) for t in names]
        (response,) = await admin.describe_configs(resources)
        for resource in response.to_object()["resources"]:
            configs = {c["config_names"]: c["config_value"] for c in resource["config_entries"]}
            assert configs == {
                "min.insync.replicas": "2",
                "unclean.leader.election.enable": "false",
            }, resource["resource_name"]
    finally:
        await admin.close()


async def partition_leader(bootstrap: str, ecg_id: str) -> int:
    """The node that leads the samples partition of ``ecg_id`` (the gateway keys by the
    ECG's id with the default partitioner: murmur2, as Kafka's Java client)."""
    partition = (murmur2(ecg_id.encode()) & 0x7FFFFFFF) % PARTITIONS
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (topic,) = await admin.describe_topics(["ecg.samples.v1"])
    finally:
        await admin.close()
    (found,) = [p for p in topic["partitions"] if p["partition"] == partition]
    leader: int = found["leader"]
    return leader


async def until_acknowledged(request: Request, refused_at: list[float]) -> httpx.Response:
    """``request`` again after each 503's ``Retry-After``, as a device does; the first
    other answer. Each refusal's time goes to ``refused_at``."""
    deadline = time.monotonic() + FAILOVER_SECONDS + 15
    while True:
        answer = await request()
        if answer.status_code != 503:
            return answer
        refused_at.append(time.monotonic())
        retry_after = check_unavailable(answer)
        assert time.monotonic() + retry_after < deadline, "still refused: no failover"
        await asyncio.sleep(retry_after)


async def stream_through_a_broker_death(
    env: dict[str, str], brokers: dict[int, Service], signals: NDArray[np.int32]
) -> dict[str, Any]:
    """Stream ``signals`` a second per chunk; kill the leader of the ECG's partition
    after ``KILLED_AFTER`` chunks; the figures of what followed."""
    pieces = [signals[:, start : start + CHUNK].tolist() for start in range(0, SAMPLES, CHUNK)]
    async with httpx.AsyncClient(base_url=env["ECG_GATEWAY_URL"], timeout=60) as http:
        user = await register_user(http, await make_admin(http, env["ECG_DATABASE_URL"]))
        http.headers.update(user.headers())
        whole = await results(http, await upload_whole(http, signals, ["MLII", "V5"], 360))
        assert whole["status"] == "done"

        ecg_id, token = await open_stream(http, sampling_rate=360, leads=["MLII", "V5"])
        for seq in range(KILLED_AFTER):
            answer = await send(http, ecg_id, token, seq, pieces[seq])
            assert answer.status_code == 202, answer.text
        leader = await partition_leader(env["ECG_KAFKA_BOOTSTRAP"], ecg_id)
        killed = brokers[leader]
        os.kill(killed.pid, signal.SIGKILL)
        assert wait_until(lambda: not is_running(killed), timeout=5)
        killed_at = time.monotonic()

        refused_at: list[float] = []
        acknowledged_at = []
        for seq in range(KILLED_AFTER, len(pieces)):

            def chunk(seq: int = seq) -> Awaitable[httpx.Response]:
                return send(http, ecg_id, token, seq, pieces[seq])

            answer = await until_acknowledged(chunk, refused_at)
            assert (answer.status_code, answer.json()) == (202, {"seq": seq}), answer.text
            acknowledged_at.append(time.monotonic())
        end = await until_acknowledged(
            lambda: http.post(f"/api/v1/ecg/{ecg_id}/end", headers=device(token)), refused_at
        )
        assert (end.status_code, end.json()) == (202, {"seq": len(pieces)}), end.text
        ended_at = time.monotonic()
        streamed = await results(http, ecg_id, deadline_seconds=DONE_SECONDS)
        done_at = time.monotonic()
    # The first acknowledgement after the kill ends the outage the device saw.
    outage = acknowledged_at[0] - killed_at
    assert not refused_at or refused_at[-1] - killed_at < FAILOVER_SECONDS, refused_at
    assert streamed == whole
    assert streamed["status"] == "done"
    assert [lead["number_of_samples"] for lead in streamed["leads"]] == [SAMPLES, SAMPLES]
    return {
        "killed_node": leader,
        "503s": len(refused_at),
        "503s_after_kill_seconds": [round(t - killed_at, 2) for t in refused_at],
        "first_ack_after_kill_seconds": round(outage, 2),
        "stream_after_kill_seconds": round(ended_at - killed_at, 2),
        "done_after_end_seconds": round(done_at - ended_at, 2),
    }


def cluster_compose_config() -> dict[str, Any]:
    """``docker-compose.yml`` with ``infra/compose.cluster.yml`` over it, as Compose
    merges them."""
    command = compose_command()
    assert command is not None, "no Compose CLI: `make test` installs docker-compose"
    files = [arg for path in COMPOSE_FILES for arg in ("-f", str(path))]
    merged = subprocess.run(
        [*command, *files, "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO,
        # The compose file has no default secret: the values it requires, made up.
        env={k: v for k, v in os.environ.items() if k != "GATEWAYS"} | REQUIRED,
    )
    assert merged.returncode == 0, f"Compose rejected the files:\n{merged.stderr}"
    config: dict[str, Any] = yaml.safe_load(merged.stdout)
    return config


def test_the_compose_cluster_file_runs_three_brokers_that_the_pipeline_uses() -> None:
    services = cluster_compose_config()["services"]
    environments = {
        name: {key: str(value) for key, value in services[name]["environment"].items()}
        for name in NODES
    }
    for number, (name, environment) in enumerate(environments.items(), 1):
        assert environment["KAFKA_NODE_ID"] == str(number)
        assert environment["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] == (
            "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        )
        assert environment["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert environment["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert environment["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert environment["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert environment["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert "healthcheck" in services[name]
    # Beside their ids and addresses, the nodes are alike (the cluster id too), so a
    # setting added to docker-compose.yml's kafka alone shows here.
    alike = [
        {k: v for k, v in env.items() if k not in ("KAFKA_NODE_ID", "KAFKA_ADVERTISED_LISTENERS")}
        for env in environments.values()
    ]
    assert alike[0] == alike[1] == alike[2]
    assert len({services[name]["image"] for name in NODES}) == 1
    for name in ("migrate", "topics", "gateway", "worker"):
        environment = services[name]["environment"]
        assert environment["ECG_KAFKA_BOOTSTRAP"] == "kafka:9092,kafka-2:9092,kafka-3:9092"
        assert str(environment["ECG_TOPIC_REPLICATION"]) == "3"
    assert set(services["topics"]["depends_on"]) == {*NODES}
    for name in (*NODES, "worker"):  # no fixed name or host port: `--scale worker=N` works
        assert "container_name" not in services[name], name
        assert not services[name].get("ports"), name
