"""A Kafka broker, a stream worker and a gateway of one test's own, beside the shared
stack: a fault test may stop and restart this broker without touching the Kafka that
every other test uses. They share the run's PostgreSQL and token-signing key, so
accounts and results live where the other tests expect them.

Started with the code of ``python -m infra run`` (``infra.kafka``, ``infra.apps``), on
free loopback ports, with every log in ``run_dir``. Each process dies with the test
process (PR_SET_PDEATHSIG) and :func:`private_stack` stops them all, whatever happens.
The broker keeps its data directory and its ports across :meth:`PrivateStack.stop_kafka`
and :meth:`PrivateStack.start_kafka`, so what it acknowledged survives an outage.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from infra import apps, kafka
from infra.kafka_artifacts import find_java, kafka_libs
from infra.net import free_ports
from infra.paths import cache_dir
from infra.processes import Service, is_running, stop_all, tail

TIED = signal.SIGKILL  # every child dies with the test process
KAFKA_GRACE = 30.0  # seconds for a controlled shutdown before SIGKILL


@dataclass
class PrivateStack:
    run_dir: Path
    libs: Path
    ports: kafka.KafkaPorts
    env: dict[str, str]
    gateway_port: int = 0
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return apps.gateway_url(self.gateway_port)

    def start_kafka(self) -> float:
        """Start the broker on its ports and data directory; return the seconds it took
        to answer Metadata requests."""
        started = time.monotonic()
        broker = kafka.start_kafka(self.run_dir, self.libs, self.ports, parent_death_signal=TIED)
        self.services["kafka"] = broker
        kafka.wait_for_kafka(broker, self.ports, self.libs)
        return time.monotonic() - started

    def stop_kafka(self) -> float:
        """SIGTERM the broker (its controlled shutdown), SIGKILL after ``KAFKA_GRACE``;
        return once it is gone, with the seconds that took."""
        started = time.monotonic()
        broker = self.services.pop("kafka")
        stop_all([broker], grace=KAFKA_GRACE)
        assert not is_running(broker), f"the private broker outlived SIGKILL\n{tail(broker.log)}"
        return time.monotonic() - started

    def logs(self) -> str:
        """The tails of every log, for a failure message."""
        return "\n".join(tail(path, 15) for path in sorted(self.run_dir.glob("*.log")))


def service_env(
    run_dir: Path, bootstrap: str, database_url: str, jwt_secret: str, **settings: str
) -> dict[str, str]:
    """This environment with the ECG_* variables of the private services: ``settings``
    are more ECG_* variables (e.g. ``ECG_PUBLISH_TIMEOUT_SECONDS="2"``)."""
    env = {key: value for key, value in os.environ.items() if key != "ECG_GATEWAY_URL"}
    return env | {
        "ECG_KAFKA_BOOTSTRAP": bootstrap,
        "ECG_DATABASE_URL": database_url,
        "ECG_JWT_SECRET": jwt_secret,
        "ECG_STREAMS_DATA_DIR": str(run_dir / "streams-data"),
        **settings,
    }


@contextmanager
def private_stack(
    run_dir: Path, database_url: str, jwt_secret: str, **settings: str
) -> Iterator[PrivateStack]:
    """A formatted and running broker with the pipeline's topics, a stream worker and a
    gateway (``/healthz`` answers 200); everything is stopped on exit. Missing Java or
    Kafka jars raise ``infra.processes.StartupError``: the test fails, never skips."""
    find_java()
    libs = kafka_libs(cache_dir())
    broker, controller = free_ports(2)
    ports = kafka.KafkaPorts(broker, controller)
    env = service_env(run_dir, ports.bootstrap, database_url, jwt_secret, **settings)
    stack = PrivateStack(run_dir, libs, ports, env)
    try:
        kafka.finish_format(
            kafka.format_storage(run_dir, libs, ports, parent_death_signal=TIED), libs
        )
        stack.start_kafka()
        stack.gateway_port = free_ports(1)[0]
        gateway = apps.start_gateway(run_dir, stack.gateway_port, env, TIED)
        stack.services["gateway"] = gateway
        apps.create_topics(run_dir, env, TIED)
        worker = apps.start_worker(run_dir, env, TIED)
        stack.services["worker"] = worker
        apps.wait_for_gateway(gateway, stack.gateway_port)
        apps.wait_for_worker(worker)
        yield stack
    finally:
        pipeline = [s for name, s in stack.services.items() if name != "kafka"]
        stop_all(pipeline)
        stop_all([s for name, s in stack.services.items() if name == "kafka"], grace=KAFKA_GRACE)
