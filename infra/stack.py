"""Start and stop the whole local stack, in order:

PostgreSQL and Kafka (initialised and started side by side; Kafka one node or a
cluster of three), the database ``ecg``, migrations, topics, then the stream workers
and the gateway. Every process is recorded in the run directory's state as soon as it
exists. For ``run --services testcontainers``, Kafka and PostgreSQL come from a Docker
engine instead (``infra.containers``) and the rest runs as always.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from infra import apps, kafka, postgres
from infra.containers import Containers, Services, start_containers
from infra.kafka_artifacts import find_java, kafka_libs
from infra.net import free_ports
from infra.paths import cache_dir
from infra.postgres_install import server_bin_dir
from infra.processes import PortInUseError, Service, finish, stop_all, terminate
from infra.scale import DEFAULT_PARTITIONS, ONE_EACH, Scale
from infra.state import State

INFRASTRUCTURE = ("kafka", "postgres")
WORKER_PORT = "worker-"  # + N: the port of worker N's endpoints in State.ports
# ECG_ENV: `up` runs a development stack, `run` one for the tests (docs/settings.md).
DEFAULTS = {"ECG_TOPIC_PARTITIONS": DEFAULT_PARTITIONS}
Started = TypeVar("Started", Service, list[Service])


class Stack:
    """``ephemeral`` (``python -m infra run``): every child dies with this process
    (PR_SET_PDEATHSIG) and PostgreSQL trades durability for speed. Otherwise (``up``)
    the workers and the gateway run under ``infra.supervisor``, which restarts them
    once the state says ready; Kafka and PostgreSQL are not supervised."""

    def __init__(
        self,
        run_dir: Path,
        *,
        ephemeral: bool,
        scale: Scale = ONE_EACH,
        services: Services = "local",
    ) -> None:
        self.run_dir = run_dir
        self.ephemeral = ephemeral
        self.scale = scale
        # "testcontainers": Kafka and PostgreSQL from a Docker engine (infra.containers)
        self.services = services
        self._containers: Containers | None = None
        self.state = State(run_dir, scale=scale)
        self._kafka: kafka.KafkaCluster | None = None  # its nodes' ports, once chosen
        # One token-signing key per stack, shared by its gateways and its tests;
        # a user's own ECG_JWT_SECRET wins.
        self._jwt_secret = secrets.token_urlsafe(48)

    def _tied(self, sig: int = signal.SIGKILL) -> int | None:
        return sig if self.ephemeral else None

    def start(self, *, services_only: bool) -> dict[str, str]:
        """Start everything; return the ECG_* environment that describes it."""
        if self.services == "testcontainers":
            self._start_containers()
        else:
            find_java()  # fail fast
            self._start_kafka_and_postgres(kafka_libs(cache_dir()))
        state, run_dir, tied = self.state, self.run_dir, self._tied()
        # The gateway needs PostgreSQL and Kafka, not the topics: it starts meanwhile.
        gateway = None if services_only else self._spawn_gateway(free_ports(1)[0])
        apps.create_topics(run_dir, self._service_env(), tied)
        if gateway is not None:
            numbers = range(1, self.scale.workers + 1)
            for number, port in zip(numbers, free_ports(len(numbers)), strict=True):
                state.ports[f"{WORKER_PORT}{number}"] = port
            workers = [self._spawn_worker(n) for n in numbers]
            self._await(gateway, self._wait_gateway, self._respawn_gateway)
            workers = [
                self._await(worker, apps.wait_for_worker, partial(self._respawn_worker, number))
                for number, worker in zip(numbers, workers, strict=True)
            ]
            if len(workers) > 1:
                apps.wait_for_group(workers)
        state.env = self._ecg_env()
        state.ready = True
        state.save()
        return state.env

    def _start_kafka_and_postgres(self, libs: Path) -> None:
        """Both initialised side by side, Kafka (the slowest) started first; then
        the database ``ecg`` and its migrations while Kafka comes up."""
        state, run_dir, tied = self.state, self.run_dir, self._tied()
        cluster = state.cluster = postgres.prepare(run_dir, server_bin_dir())
        pg_port, *kafka_ports = free_ports(1 + 2 * self.scale.brokers)
        state.ports = {"postgres": pg_port}
        self._place_kafka(kafka_ports)
        cluster_id = kafka.new_cluster_id()
        formatting = [
            kafka.format_node(
                run_dir, libs, self.kafka_cluster, node, cluster_id, parent_death_signal=tied
            )
            for node in self.kafka_cluster.nodes
        ]
        initdb = postgres.initdb(cluster, run_dir / "postgres.log", parent_death_signal=tied)
        for format_step in formatting:
            kafka.finish_format(format_step, libs)
        brokers = self._spawn_kafka(libs)
        finish(initdb, timeout=180)
        pg_server = self._spawn_postgres()
        self._await(pg_server, self._wait_postgres, self._respawn_postgres)
        postgres.create_database(cluster, state.ports["postgres"])
        apps.migrate(run_dir, self._service_env(), tied)
        self._await(brokers, lambda s: self._wait_kafka(s, libs), self._respawn_kafka(libs))

    def _start_containers(self) -> None:
        """Kafka and PostgreSQL from testcontainers, then the migrations."""
        self._containers = start_containers()
        apps.migrate(self.run_dir, self._service_env(), self._tied())

    def close(self) -> None:
        """Stop the containers, if any, once ``stop_stack`` has stopped the processes."""
        if self._containers is not None:
            self._containers.stop()
            self._containers = None

    @property
    def kafka_cluster(self) -> kafka.KafkaCluster:
        assert self._kafka is not None, "Kafka's ports are chosen first"
        return self._kafka

    def _place_kafka(self, ports: list[int]) -> None:
        """Kafka's nodes on ``ports`` (a broker's and a controller's each), recorded
        as ``kafka``/``kafka_controller`` for one node, ``kafka-N``/``kafka-N_controller``
        for node N of a cluster."""
        self._kafka = kafka.cluster(
            [kafka.KafkaPorts(b, c) for b, c in zip(ports[::2], ports[1::2], strict=True)]
        )
        for node in self._kafka.nodes:
            self.state.ports[node.name] = node.ports.broker
            self.state.ports[f"{node.name}_controller"] = node.ports.controller
        self.state.save()

    def _ecg_env(self) -> dict[str, str]:
        ports = self.state.ports
        env = {k: v for k, v in os.environ.items() if k.startswith("ECG_")}
        env |= {k: v for k, v in DEFAULTS.items() if k not in env}
        env.setdefault("ECG_ENV", "test" if self.ephemeral else "development")
        if self._containers is not None:
            env["ECG_DATABASE_URL"] = self._containers.database_url
            env["ECG_KAFKA_BOOTSTRAP"] = self._containers.kafka_bootstrap
        else:
            env["ECG_DATABASE_URL"] = postgres.database_url(ports["postgres"])
            env["ECG_KAFKA_BOOTSTRAP"] = self.kafka_cluster.bootstrap
        if self._containers is None and self.kafka_cluster.replication > 1:
            # the topics and Faust's changelogs
            env.setdefault("ECG_TOPIC_REPLICATION", str(self.kafka_cluster.replication))
        env.setdefault("ECG_STREAMS_DATA_DIR", str(self.run_dir / "streams-data"))
        env.setdefault("ECG_JWT_SECRET", self._jwt_secret)
        # `infra run` only (its tests speak for many clients through X-Forwarded-For);
        # `make up` trusts no proxy, so no local client picks the address it is audited at.
        if self.ephemeral:
            env.setdefault("ECG_TRUSTED_PROXIES", "127.0.0.1,::1")
        if "gateway" in ports:
            env["ECG_GATEWAY_URL"] = apps.gateway_url(ports["gateway"])
        else:
            env.pop("ECG_GATEWAY_URL", None)
        # Each worker's own port is in its environment only (_spawn_worker).
        env.pop("ECG_WORKER_WEB_PORT", None)
        workers = worker_urls(ports)
        env.pop("ECG_WORKER_URLS", None)
        if workers:
            env["ECG_WORKER_URL"] = workers[0]
            if len(workers) > 1:
                env["ECG_WORKER_URLS"] = " ".join(workers)
        else:
            env.pop("ECG_WORKER_URL", None)
        return env

    def _service_env(self) -> dict[str, str]:
        return {**os.environ, **self._ecg_env()}

    def _spawn_worker(self, number: int) -> Service:
        """One worker alone keeps ``worker.log`` and the data directory; several get
        ``worker-N.log`` and a data directory each (Faust's tables live there). Workers
        log at INFO: an ECG's end (with the request id that ended it), and rebalances,
        which tell when a group has settled (``wait_for_group``)."""
        env, log_name, log_level = self._service_env(), "worker.log", "info"
        env["ECG_WORKER_WEB_PORT"] = str(self.state.ports[f"{WORKER_PORT}{number}"])
        if self.scale.workers > 1:
            data_dir = Path(env["ECG_STREAMS_DATA_DIR"]) / f"worker-{number}"
            data_dir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last
            env["ECG_STREAMS_DATA_DIR"], log_name = str(data_dir), f"worker-{number}.log"
        worker = apps.start_worker(
            self.run_dir,
            env,
            self._tied(),
            log_name=log_name,
            log_level=log_level,
            supervised=not self.ephemeral,
        )
        self.state.record(worker)
        return worker

    def _respawn_worker(self, number: int) -> Service:
        self.state.ports[f"{WORKER_PORT}{number}"] = free_ports(1)[0]
        return self._spawn_worker(number)

    def _await(
        self, started: Started, wait: Callable[[Started], None], respawn: Callable[[], Started]
    ) -> Started:
        """Wait until what was ``started`` (a service, or Kafka's nodes) is ready; on a
        port clash, stop it and retry once on new ports. Returns what is running."""
        try:
            wait(started)
        except PortInUseError as clash:
            print(f"infra: {str(clash).splitlines()[0]}; retrying on a new port", file=sys.stderr)
            services = started if isinstance(started, list) else [started]
            stop_all(services)
            for service in services:
                self.state.forget(service)
            started = respawn()
            wait(started)
        return started

    def _spawn_postgres(self) -> Service:
        assert self.state.cluster is not None
        server = postgres.start_postgres(
            self.state.cluster,
            self.state.ports["postgres"],
            self.run_dir / "postgres.log",
            durable=not self.ephemeral,
            # SIGQUIT: immediate shutdown, which still removes the shared memory
            parent_death_signal=self._tied(signal.SIGQUIT),
        )
        self.state.record(server)
        return server

    def _respawn_postgres(self) -> Service:
        self.state.ports["postgres"] = free_ports(1)[0]
        return self._spawn_postgres()

    def _wait_postgres(self, server: Service) -> None:
        assert self.state.cluster is not None
        postgres.wait_for_postgres(self.state.cluster, server, self.state.ports["postgres"])

    def _spawn_kafka(self, libs: Path) -> list[Service]:
        """Every node at once: a cluster's nodes wait for one another's votes."""
        brokers = []
        for node in self.kafka_cluster.nodes:
            broker = kafka.start_node(
                self.run_dir, libs, self.kafka_cluster, node, parent_death_signal=self._tied()
            )
            self.state.record(broker)
            brokers.append(broker)
        return brokers

    def _respawn_kafka(self, libs: Path) -> Callable[[], list[Service]]:
        def respawn() -> list[Service]:
            self._place_kafka(free_ports(2 * self.scale.brokers))
            return self._spawn_kafka(libs)

        return respawn

    def _wait_kafka(self, brokers: list[Service], libs: Path) -> None:
        kafka.wait_for_cluster(brokers, self.kafka_cluster, libs)

    def _spawn_gateway(self, port: int) -> Service:
        self.state.ports["gateway"] = port
        env = self._service_env()
        gateway = apps.start_gateway(
            self.run_dir,
            port,
            env,
            self._tied(),
            processes=self.scale.gateways,
            supervised=not self.ephemeral,
        )
        self.state.record(gateway)
        return gateway

    def _respawn_gateway(self) -> Service:
        return self._spawn_gateway(free_ports(1)[0])

    def _wait_gateway(self, gateway: Service) -> None:
        apps.wait_for_gateway(gateway, self.state.ports["gateway"])


def worker_urls(ports: dict[str, int]) -> list[str]:
    """The URLs of the workers' endpoints, worker 1's first."""
    numbered = sorted(
        (int(name.removeprefix(WORKER_PORT)), port)
        for name, port in ports.items()
        if name.startswith(WORKER_PORT)
    )
    return [apps.worker_url(port) for _, port in numbered]


def stop_stack(state: State) -> None:
    """Stop what ``state`` records: the pipeline's services first, then Kafka and
    PostgreSQL (``pg_ctl stop -m fast``) side by side. Safe to call again."""
    stop_all([s for s in state.services if s.name not in INFRASTRUCTURE])
    infrastructure = [s for s in state.services if s.name in INFRASTRUCTURE]
    terminate([s for s in infrastructure if s.name == "kafka"])  # shuts down meanwhile
    if state.cluster is not None:
        postgres.stop_postgres(state.cluster)
    stop_all(infrastructure, grace=20.0)


def remove_cluster_outside(state: State) -> None:
    """Remove PostgreSQL's directory if it had to live outside the run directory."""
    cluster = state.cluster
    if cluster is not None and not cluster.base.is_relative_to(state.run_dir):
        shutil.rmtree(cluster.base, ignore_errors=True)
