"""A single-node Apache Kafka (KRaft: broker and controller in one JVM) for local use.

Loopback listeners only, data in the run directory, a heap sized for a small
machine (``ECG_KAFKA_HEAP``, default 512m). Topics are never auto-created: the
pipeline creates its topics explicitly (``python -m streams.topics``).
"""

from __future__ import annotations

import base64
import os
import uuid
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
    spawn,
)

HOST = "127.0.0.1"
DEFAULT_HEAP = "512m"
READY_TIMEOUT = 90.0
DAMAGED_JARS = ("ClassNotFoundException", "NoClassDefFoundError", "find or load main class", "Zip")


@dataclass(frozen=True)
class KafkaPorts:
    broker: int
    controller: int

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.broker}"


def server_properties(data_dir: Path, ports: KafkaPorts) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{ports.controller}",
        "listeners": f"PLAINTEXT://{HOST}:{ports.broker},CONTROLLER://{HOST}:{ports.controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{ports.broker}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
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
    """Start formatting the empty KRaft log directory; wait with ``processes.finish``."""
    properties = _write_properties(run_dir, ports)
    argv = [find_java(), "-Xmx256m", f"-Dlog4j.configuration=file:{INFRA_DIR / 'log4j.properties'}"]
    argv += ["-cp", f"{libs}/*", "kafka.tools.StorageTool", "format", "--ignore-formatted"]
    argv += [f"--cluster-id={new_cluster_id()}", f"--config={properties}"]
    return spawn(
        "kafka storage format",
        argv,
        log=run_dir / "kafka-format.log",
        env=os.environ,
        cwd=run_dir,
        parent_death_signal=parent_death_signal,
        detached=False,
    )


def start_kafka(
    run_dir: Path, libs: Path, ports: KafkaPorts, *, parent_death_signal: int | None
) -> Service:
    properties = _write_properties(run_dir, ports)
    heap = os.environ.get("ECG_KAFKA_HEAP") or DEFAULT_HEAP
    argv = [find_java(), *jvm_options(heap, run_dir), "-cp", f"{libs}/*", "kafka.Kafka"]
    return spawn(
        "kafka",
        [*argv, str(properties)],
        log=run_dir / "kafka.log",
        env=os.environ,
        cwd=run_dir,
        parent_death_signal=parent_death_signal,
    )


def wait_for_kafka(kafka: Service, ports: KafkaPorts, libs: Path) -> None:
    """Bounded wait until the broker answers Metadata requests."""
    await_start(
        kafka,
        "Kafka",
        lambda: is_serving(HOST, ports.broker),
        timeout=READY_TIMEOUT,
        ports=f"its ports {ports}",
        waited_for=f"answer on {ports.bootstrap}",
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


def _write_properties(run_dir: Path, ports: KafkaPorts) -> Path:
    path = run_dir / "kafka.properties"
    path.write_text(server_properties(run_dir / "kafka-data", ports))
    return path
