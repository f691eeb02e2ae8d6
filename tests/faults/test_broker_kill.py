"""A broker of a three-broker cluster killed mid-stream (SIGKILL), ``RUNS`` times at
random moments, on a stack of this module's own: ``python -m infra up --brokers 3
--workers 2 --gateways 2``. Each run's results must equal those of the undisturbed
run on the same stack, as in ``test_faults``. The killed broker starts again 20 s later
and the next run waits until every partition has its three replicas in sync again, so
that each run loses one broker of three, never two."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from infra import kafka
from infra.commands import down
from infra.kafka_artifacts import kafka_libs
from infra.paths import cache_dir
from infra.processes import Service, is_running
from infra.state import State
from schemas import topics
from tests.e2e.conftest import Account, make_admin, register_user
from tests.faults.test_faults import AT_FROM, AT_TO, RUNS, judge
from tests.faults.workload import collect, compare, run_workload

REPO = Path(__file__).resolve().parents[2]
BROKERS = 3
DOWN_SECONDS = 20.0
IN_SYNC_SECONDS = 120.0


@dataclass
class Cluster:
    run_dir: Path
    env: dict[str, str]

    @property
    def gateway_url(self) -> str:
        return self.env["ECG_GATEWAY_URL"]

    def brokers(self) -> dict[str, Service]:
        state = State.load(self.run_dir)
        assert state is not None
        return {Path(s.log).stem: s for s in state.services if s.name == "kafka"}

    def kill(self, name: str) -> None:
        broker = self.brokers()[name]
        os.kill(broker.pid, signal.SIGKILL)
        while is_running(broker):
            time.sleep(0.05)

    def start(self, name: str) -> None:
        """Start node ``name`` again on its ports and data, recorded for ``down``."""
        state = State.load(self.run_dir)
        assert state is not None
        ports = [
            kafka.KafkaPorts(state.ports[f"kafka-{n}"], state.ports[f"kafka-{n}_controller"])
            for n in range(1, BROKERS + 1)
        ]
        nodes = kafka.cluster(ports)
        node = next(node for node in nodes.nodes if node.name == name)
        libs = kafka_libs(cache_dir())
        broker = kafka.start_node(self.run_dir, libs, nodes, node, parent_death_signal=None)
        state.forget(self.brokers()[name])
        state.record(broker)
        state.save()

    async def wait_in_sync(self) -> None:
        """Until every partition of the pipeline's topics has all its replicas in sync."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.env["ECG_KAFKA_BOOTSTRAP"])
        await admin.start()
        try:
            names = [topics.SAMPLES, topics.WINDOWS, topics.SUMMARIES]
            deadline = time.monotonic() + IN_SYNC_SECONDS
            while True:
                described = await admin.describe_topics(names)
                short = [
                    (topic["topic"], partition["partition"])
                    for topic in described
                    for partition in topic["partitions"]
                    if len(partition["isr"]) < BROKERS
                ]
                if not short:
                    return
                assert time.monotonic() < deadline, f"replicas not in sync: {short}"
                await asyncio.sleep(1.0)
        finally:
            await admin.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    run_dir = tmp_path_factory.mktemp("cluster") / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
    argv = [sys.executable, "-m", "infra", "up", "--run-dir", str(run_dir)]
    argv += ["--brokers", str(BROKERS), "--workers", "2", "--gateways", "2"]
    try:
        up = subprocess.run(
            argv, env=env, cwd=REPO, capture_output=True, text=True, check=False, timeout=180
        )
        assert up.returncode == 0, up.stderr
        state = State.load(run_dir)
        assert state is not None
        yield Cluster(run_dir, dict(state.env))
    finally:
        down(run_dir)


@pytest.fixture(scope="module")
async def cluster_account(cluster: Cluster) -> Account:
    async with httpx.AsyncClient(base_url=cluster.gateway_url, timeout=60) as http:
        admin = await make_admin(http, cluster.env["ECG_DATABASE_URL"])
        return await register_user(http, admin)


@pytest.fixture(scope="module")
async def cluster_reference(
    cluster: Cluster, cluster_account: Account, data_dir: Path
) -> dict[str, Any]:
    email, password = cluster_account.email, cluster_account.password
    run = await run_workload(cluster.gateway_url, email, password, data_dir, random.Random(0))
    got = await collect(cluster.gateway_url, email, password, run)
    assert not run.failures, run.failures
    return got


@pytest.mark.timeout(900)
@pytest.mark.parametrize("run", range(1, RUNS + 1))
async def test_a_broker_killed_mid_stream_loses_doubles_and_changes_nothing(
    run: int,
    cluster: Cluster,
    cluster_account: Account,
    cluster_reference: dict[str, Any],
    data_dir: Path,
    figures: dict[str, Any],
) -> None:
    await cluster.wait_in_sync()
    seed = time.time_ns()
    rng = random.Random(seed)
    at, victim = rng.uniform(AT_FROM, AT_TO), f"kafka-{rng.randint(1, BROKERS)}"
    figures.update(case="broker-kill", run=run, seed=seed, at_s=round(at, 1), broker=victim)
    email, password = cluster_account.email, cluster_account.password
    workload = asyncio.create_task(
        run_workload(cluster.gateway_url, email, password, data_dir, rng)
    )
    await asyncio.sleep(at)
    began = time.monotonic()
    await asyncio.to_thread(cluster.kill, victim)
    await asyncio.sleep(DOWN_SECONDS)
    await asyncio.to_thread(cluster.start, victim)
    ended = time.monotonic()
    done = await workload
    got = await collect(cluster.gateway_url, email, password, done)
    judge(figures, compare(cluster_reference, got), done, began, ended)
