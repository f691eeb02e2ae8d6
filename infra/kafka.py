"""Apache Kafka for local use: one KRaft node, or a cluster of three.

Each node is a broker and a controller in one JVM (KRaft's combined mode), with
loopback listeners only, data in the run directory and a heap sized for a small
machine (``ECG_KAFKA_HEAP``, default 512m, per node). Topics are never auto-created:
the pipeline creates its topics explicitly (``python -m streams.topics``).

A cluster of three is a quorum of three controller voters; its topics get three
replicas by default (``default.replication.factor``, the offsets and transaction
topics too) and an ``acks=all`` write needs two of them in sync
(``min.insync.replicas``), with unclean leader election off: it keeps accepting and
serving writes with one node lost, and never elects a replica that missed
acknowledged writes. Two nodes would tolerate no loss at all (a two-voter quorum
needs both), and more than three on one machine add memory, not safety or speed.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.kafka_artifacts import find_java
from infra.kafka_probe import is_serving
from infra.paths import INFRA_DIR
from infra.processes import (
    Service,
    StartupError,
    await_start,
    finish,
    is_running,
    spawn,
)

HOST = "127.0.0.1"
DEFAULT_HEAP = "512m"
READY_TIMEOUT = 90.0
DAMAGED_JARS = ("ClassNotFoundException", "NoClassDefFoundError", "find or load main class", "Zip")
MAX_REPLICATION = 3


@dataclass(frozen=True)
class KafkaPorts:
    broker: int
    controller: int

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.broker}"


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node. Its ``name`` names its files in the run directory: ``kafka``
    alone (``kafka.log``, ``kafka.properties``, ``kafka-data/``), ``kafka-N`` in a
    cluster (``kafka-N.log``, ``kafka-N.properties``, ``kafka-data/N/``)."""

    id: int
    ports: KafkaPorts
    name: str = "kafka"

    def data_dir(self, run_dir: Path) -> Path:
        base = run_dir / "kafka-data"
        return base if self.name == "kafka" else base / str(self.id)


@dataclass(frozen=True)
class KafkaCluster:
    nodes: tuple[KafkaNode, ...]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.ports.bootstrap for node in self.nodes)

    @property
    def voters(self) -> str:
        return ",".join(f"{node.id}@{HOST}:{node.ports.controller}" for node in self.nodes)

    @property
    def replication(self) -> int:
        return min(len(self.nodes), MAX_REPLICATION)

    @property
    def min_insync(self) -> int:
        """Replicas an ``acks=all`` write needs: all but one, at least one."""
        return max(self.replication - 1, 1)


def cluster(ports: Sequence[KafkaPorts]) -> KafkaCluster:
    """Nodes 1, 2, … on ``ports``; a single node keeps the name ``kafka``."""
    if len(ports) == 1:
        return KafkaCluster((KafkaNode(1, ports[0]),))
    return KafkaCluster(tuple(KafkaNode(n, p, f"kafka-{n}") for n, p in enumerate(ports, 1)))


def server_properties(run_dir: Path, node: KafkaNode, nodes: KafkaCluster) -> str:
    ports, replication, min_insync = node.ports, nodes.replication, nodes.min_insync
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.id),
        "controller.quorum.voters": nodes.voters,
        "listeners": f"PLAINTEXT://{HOST}:{ports.broker},CONTROLLER://{HOST}:{ports.controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{ports.broker}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(node.data_dir(run_dir)),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": str(replication),
        "min.insync.replicas": str(min_insync),
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": str(replication),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": str(min_insync),
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        # Segments past their topic's retention are deleted within a second rather than
        # 5 minutes (Kafka's default): the retention test shortens the samples topic's.
        "log.retention.check.interval.ms": "1000",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def jvm_options(heap: str, logs_dir: Path) -> list[str]:
    return [
        "-Xms256m",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{INFRA_DIR / 'log4j.properties'}",
        f"-Dkafka.logs.dir={logs_dir}",
    ]


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in 22 characters of unpadded base64url,
    never starting with "-" (which command lines would take for an option; Kafka's
    own ``Uuid.randomUuid`` avoids it for the same reason)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def format_storage(
    run_dir: Path, libs: Path, ports: KafkaPorts, *, parent_death_signal: int | None
) -> Service:
    """Start formatting a single node's empty KRaft log directory; wait with
    ``finish_format``."""
    single = cluster([ports])
    return format_node(
        run_dir,
        libs,
        single,
        single.nodes[0],
        new_cluster_id(),
        parent_death_signal=parent_death_signal,
    )


def format_node(
    run_dir: Path,
    libs: Path,
    nodes: KafkaCluster,
    node: KafkaNode,
    cluster_id: str,
    *,
    parent_death_signal: int | None,
) -> Service:
    """Start formatting ``node``'s empty log directory; every node of a cluster gets
    the same ``cluster_id``."""
    properties = _write_properties(run_dir, node, nodes)
    argv = [find_java(), "-Xmx256m", f"-Dlog4j.configuration=file:{INFRA_DIR / 'log4j.properties'}"]
    argv += ["-cp", f"{libs}/*", "kafka.tools.StorageTool", "format", "--ignore-formatted"]
    argv += [f"--cluster-id={cluster_id}", f"--config={properties}"]
    return spawn(
        f"{node.name} storage format",
        argv,
        log=run_dir / f"{node.name}-format.log",
        env=os.environ,
        cwd=run_dir,
        parent_death_signal=parent_death_signal,
        detached=False,
    )


def start_kafka(
    run_dir: Path, libs: Path, ports: KafkaPorts, *, parent_death_signal: int | None
) -> Service:
    """Start a single node on ``ports``."""
    single = cluster([ports])
    return start_node(
        run_dir, libs, single, single.nodes[0], parent_death_signal=parent_death_signal
    )


def start_node(
    run_dir: Path,
    libs: Path,
    nodes: KafkaCluster,
    node: KafkaNode,
    *,
    parent_death_signal: int | None,
) -> Service:
    """Start ``node`` of ``nodes``; every node's service is named ``kafka``."""
    properties = _write_properties(run_dir, node, nodes)
    heap = os.environ.get("ECG_KAFKA_HEAP") or DEFAULT_HEAP
    argv = [find_java(), *jvm_options(heap, run_dir), "-cp", f"{libs}/*", "kafka.Kafka"]
    return spawn(
        "kafka",
        [*argv, str(properties)],
        log=run_dir / f"{node.name}.log",
        env=os.environ,
        cwd=run_dir,
        parent_death_signal=parent_death_signal,
    )


def wait_for_kafka(kafka: Service, ports: KafkaPorts, libs: Path) -> None:
    """Bounded wait until a single broker answers Metadata requests."""
    wait_for_cluster([kafka], cluster([ports]), libs)


def wait_for_cluster(brokers: Sequence[Service], nodes: KafkaCluster, libs: Path) -> None:
    """Bounded wait until every node answers Metadata requests that list all the
    brokers: each has joined the quorum and registered. A node that exits is
    reported with its own log, even while another one is awaited."""
    expected = len(nodes.nodes)

    def ready(node: KafkaNode) -> Callable[[], bool]:
        def serving_or_one_exited() -> bool:
            if is_serving(HOST, node.ports.broker, brokers=expected):
                return True
            return not all(is_running(broker) for broker in brokers)

        return serving_or_one_exited

    for broker, node in zip(brokers, nodes.nodes, strict=True):
        name, waited_for = "Kafka", f"answer on {node.ports.bootstrap}"
        if expected > 1:
            name = f"Kafka node {node.id}"
            waited_for = f"list all {expected} brokers on {node.ports.bootstrap}"
        await_start(
            broker,
            name,
            ready(node),
            timeout=READY_TIMEOUT,
            ports=f"its ports {node.ports}",
            waited_for=waited_for,
            hint=lambda log: damaged_jars_hint(log, libs),
            interval=0.2,
        )


def finish_format(formatting: Service, libs: Path) -> None:
    try:
        finish(formatting, timeout=180)
    except StartupError as exc:
        log = Path(formatting.log).read_text(errors="replace")
        raise StartupError(f"{exc}{damaged_jars_hint(log, libs)}") from None


def damaged_jars_hint(log: str, libs: Path) -> str:
    if any(sign in log for sign in DAMAGED_JARS):
        return f"\nthe cached Kafka jars look damaged: delete {libs.parent} to fetch them again"
    return ""


def _write_properties(run_dir: Path, node: KafkaNode, nodes: KafkaCluster) -> Path:
    path = run_dir / f"{node.name}.properties"
    path.write_text(server_properties(run_dir, node, nodes))
    return path
