"""Start and stop the whole local stack, in order:

PostgreSQL and Kafka (initialised and started side by side), the database
``ecg``, migrations, topics, then the stream worker and the gateway. Every
process is recorded in the run directory's state as soon as it exists.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from infra import apps, kafka, postgres
from infra.kafka_artifacts import find_java, kafka_libs
from infra.net import free_ports
from infra.paths import cache_dir
from infra.postgres_install import server_bin_dir
from infra.processes import PortInUseError, Service, finish, stop_all, terminate
from infra.scale import DEFAULT_PARTITIONS, ONE_EACH, Scale
from infra.state import State

INFRASTRUCTURE = ("kafka", "postgres")
DEFAULTS = {"ECG_TOPIC_PARTITIONS": DEFAULT_PARTITIONS, "ECG_ENV": "development"}


class Stack:
    """``ephemeral`` (``python -m infra run``): every child dies with this process
    (PR_SET_PDEATHSIG) and PostgreSQL trades durability for speed. Otherwise (``up``)
    the workers and the gateway run under ``infra.supervisor``, which restarts them
    once the state says ready; Kafka and PostgreSQL are not supervised."""

    def __init__(self, run_dir: Path, *, ephemeral: bool, scale: Scale = ONE_EACH) -> None:
        self.run_dir = run_dir
        self.ephemeral = ephemeral
        self.scale = scale
        self.state = State(run_dir, scale=scale)
        # One token-signing key per stack, shared by its gateways and its tests;
        # a user's own ECG_JWT_SECRET wins.
        self._jwt_secret = secrets.token_urlsafe(48)

    def _tied(self, sig: int = signal.SIGKILL) -> int | None:
        return sig if self.ephemeral else None

    def start(self, *, services_only: bool) -> dict[str, str]:
        """Start everything; return the ECG_* environment that describes it."""
        find_java()  # fail fast
        libs = kafka_libs(cache_dir())
        self._start_kafka_and_postgres(libs)
        state, run_dir, tied = self.state, self.run_dir, self._tied()
        # The gateway needs PostgreSQL and Kafka, not the topics: it starts meanwhile.
        gateway = None if services_only else self._spawn_gateway(free_ports(1)[0])
        apps.create_topics(run_dir, self._service_env(), tied)
        if gateway is not None:
            workers = [self._spawn_worker(n) for n in range(1, self.scale.workers + 1)]
            self._await(gateway, self._wait_gateway, self._respawn_gateway)
            for worker in workers:
                apps.wait_for_worker(worker)
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
        pg_port, broker, controller = free_ports(3)
        state.ports = {"postgres": pg_port, "kafka": broker, "kafka_controller": controller}
        state.save()
        ports = kafka.KafkaPorts(broker, controller)
        formatting = kafka.format_storage(run_dir, libs, ports, parent_death_signal=tied)
        initdb = postgres.initdb(cluster, run_dir / "postgres.log", parent_death_signal=tied)
        kafka.finish_format(formatting, libs)
        broker_server = self._spawn_kafka(libs)
        finish(initdb, timeout=180)
        pg_server = self._spawn_postgres()
        self._await(pg_server, self._wait_postgres, self._respawn_postgres)
        postgres.create_database(cluster, state.ports["postgres"])
        apps.migrate(run_dir, self._service_env(), tied)
        self._await(broker_server, lambda s: self._wait_kafka(s, libs), self._respawn_kafka(libs))

    def _ecg_env(self) -> dict[str, str]:
        ports = self.state.ports
        env = {k: v for k, v in os.environ.items() if k.startswith("ECG_")}
        env |= {k: v for k, v in DEFAULTS.items() if k not in env}
        env["ECG_DATABASE_URL"] = postgres.database_url(ports["postgres"])
        env["ECG_KAFKA_BOOTSTRAP"] = f"{kafka.HOST}:{ports['kafka']}"
        env.setdefault("ECG_STREAMS_DATA_DIR", str(self.run_dir / "streams-data"))
        env.setdefault("ECG_JWT_SECRET", self._jwt_secret)
        if "gateway" in ports:
            env["ECG_GATEWAY_URL"] = apps.gateway_url(ports["gateway"])
        else:
            env.pop("ECG_GATEWAY_URL", None)
        return env

    def _service_env(self) -> dict[str, str]:
        return {**os.environ, **self._ecg_env()}

    def _spawn_worker(self, number: int) -> Service:
        """One worker alone keeps ``worker.log`` and the data directory; several get
        ``worker-N.log`` and a data directory each (Faust's tables live there), and log
        at INFO: their rebalances tell when the group has settled (``wait_for_group``)."""
        env, log_name, log_level = self._service_env(), "worker.log", None
        if self.scale.workers > 1:
            log_level = "info"
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

    def _await(
        self, service: Service, wait: Callable[[Service], None], respawn: Callable[[], Service]
    ) -> None:
        """Wait until ``service`` is ready; on a port clash, retry once on a new port."""
        try:
            wait(service)
        except PortInUseError as clash:
            print(f"infra: {str(clash).splitlines()[0]}; retrying on a new port", file=sys.stderr)
            stop_all([service])
            self.state.forget(service)
            wait(respawn())

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

    def _kafka_ports(self) -> kafka.KafkaPorts:
        return kafka.KafkaPorts(self.state.ports["kafka"], self.state.ports["kafka_controller"])

    def _spawn_kafka(self, libs: Path) -> Service:
        broker = kafka.start_kafka(
            self.run_dir, libs, self._kafka_ports(), parent_death_signal=self._tied()
        )
        self.state.record(broker)
        return broker

    def _respawn_kafka(self, libs: Path) -> Callable[[], Service]:
        def respawn() -> Service:
            self.state.ports["kafka"], self.state.ports["kafka_controller"] = free_ports(2)
            return self._spawn_kafka(libs)

        return respawn

    def _wait_kafka(self, broker: Service, libs: Path) -> None:
        kafka.wait_for_kafka(broker, self._kafka_ports(), libs)

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
