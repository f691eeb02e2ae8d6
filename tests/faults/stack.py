"""The faults a case injects into the stack of ``python -m infra run`` that
``make test-faults`` starts: its worker killed and started again, its broker killed and
started again on the same ports and data, its PostgreSQL stopped or frozen.

Processes started here die with the test process (PR_SET_PDEATHSIG), as the stack's
own die with ``infra run``; the stack's state (``ECG_RUN_DIR``/state.json) says where
everything is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from infra import apps, kafka, postgres
from infra.kafka_artifacts import kafka_libs
from infra.paths import cache_dir
from infra.processes import Service, is_running, stop_all
from infra.state import State

TIED = signal.SIGKILL


@dataclass
class FaultStack:
    run_dir: Path
    state: State
    workers: list[Service] = field(default_factory=list)
    restarts: int = 0

    @classmethod
    def of_this_run(cls) -> FaultStack:
        run_dir = Path(os.environ["ECG_RUN_DIR"])
        state = State.load(run_dir)
        assert state is not None, f"no stack state in {run_dir}"
        workers = [s for s in state.services if s.name == "worker"]
        return cls(run_dir, state, workers)

    def service(self, name: str) -> Service:
        return next(s for s in self.state.services if s.name == name)

    # The stream worker

    def kill_worker(self) -> None:
        """SIGKILL every worker: what a crash or an OOM kill does."""
        for worker in self.workers:
            os.kill(worker.pid, signal.SIGKILL)
        for worker in self.workers:
            deadline = time.monotonic() + 10
            while is_running(worker) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.workers.clear()

    def start_worker(self, *, wait: bool = True) -> Service:
        """One more worker, as a supervisor would start it (a log of its own)."""
        self.restarts += 1
        worker = apps.start_worker(
            self.run_dir,
            dict(os.environ),
            TIED,
            log_name=f"worker-fault-{self.restarts}.log",
            log_level="info",
        )
        self.workers.append(worker)
        if wait:
            apps.wait_for_worker(worker)
        return worker

    def stop_worker(self, worker: Service) -> None:
        """SIGTERM: the worker's graceful stop."""
        stop_all([worker], grace=30.0)
        self.workers.remove(worker)

    # Kafka

    def kill_kafka(self) -> None:
        broker = self.service("kafka")
        os.kill(broker.pid, signal.SIGKILL)
        while is_running(broker):
            time.sleep(0.05)
        self.state.forget(broker)

    def start_kafka(self) -> None:
        ports = kafka.KafkaPorts(self.state.ports["kafka"], self.state.ports["kafka_controller"])
        libs = kafka_libs(cache_dir())
        broker = kafka.start_kafka(self.run_dir, libs, ports, parent_death_signal=TIED)
        self.state.record(broker)
        kafka.wait_for_kafka(broker, ports, libs)

    # PostgreSQL

    def stop_postgres(self) -> None:
        assert self.state.cluster is not None
        assert postgres.stop_postgres(self.state.cluster), "pg_ctl stop failed"
        self.state.forget(self.service("postgres"))

    def start_postgres(self) -> None:
        cluster, port = self.state.cluster, self.state.ports["postgres"]
        assert cluster is not None
        server = postgres.start_postgres(
            cluster,
            port,
            self.run_dir / "postgres.log",
            durable=False,
            parent_death_signal=signal.SIGQUIT,
        )
        self.state.record(server)
        postgres.wait_for_postgres(cluster, server, port)

    def postgres_processes(self) -> list[psutil.Process]:
        server = psutil.Process(self.service("postgres").pid)
        return [server, *server.children(recursive=True)]

    def freeze_postgres(self) -> list[psutil.Process]:
        """SIGSTOP every process of the server: a machine that stops answering."""
        frozen = self.postgres_processes()
        for process in frozen:
            process.suspend()
        return frozen

    @staticmethod
    def thaw(frozen: list[psutil.Process]) -> None:
        for process in frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()
