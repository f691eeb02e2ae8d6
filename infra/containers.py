"""Kafka and PostgreSQL from testcontainers instead of local processes.

``python -m infra run --services testcontainers`` (or ``ECG_TEST_SERVICES=testcontainers``,
as ``make test`` passes it on) gets the two from a Docker engine: a single-node Kafka in
KRaft mode and PostgreSQL, configured as ``infra.kafka`` and ``docker-compose.yml``
configure theirs. Migrations, topics, the stream workers and the gateway then run as
local processes as always, with the same ECG_* environment, so the same tests run. The
containers are stopped with the stack, and testcontainers' reaper (Ryuk) removes them if
this process dies first.

Without a Docker engine, asking for them is a startup error that says so: the suite
never falls back to local processes, nor skips.
"""

from __future__ import annotations

import gc
import secrets
import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from infra.processes import StartupError

if TYPE_CHECKING:  # imported when used: the server's image has no testcontainers
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

Services = Literal["local", "testcontainers"]
SERVICES: Final[tuple[Services, ...]] = ("local", "testcontainers")

# Confluent Platform 7.9 is Apache Kafka 3.9, the version of infra.kafka and of the compose
# file: testcontainers' KafkaContainer needs Confluent's image for its start script (the
# broker advertises the port Docker maps, known only once the container runs).
KAFKA_IMAGE: Final = "confluentinc/cp-kafka:7.9.0"
KAFKA_PORT: Final = 9093  # the listener that the host reaches through the mapped port
# As infra.kafka.server_properties sets the local broker: no topic is created by accident,
# and one node holds every replica of the internal topics.
KAFKA_SETTINGS: Final = {
    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    "KAFKA_NUM_PARTITIONS": "1",
    "KAFKA_DEFAULT_REPLICATION_FACTOR": "1",
    "KAFKA_MIN_INSYNC_REPLICAS": "1",
    "KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE": "false",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "10",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS": "4",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "KAFKA_HEAP_OPTS": "-Xms256m -Xmx512m",
}
KAFKA_START_TIMEOUT: Final = 120  # seconds, the image's pull excluded
POSTGRES_IMAGE: Final = "postgres:15-bookworm"  # the compose file's
POSTGRES_USER: Final = "ecg"
POSTGRES_DATABASE: Final = "ecg"
NO_DOCKER: Final = (
    "ECG_TEST_SERVICES=testcontainers needs a Docker engine, and none answered ({reason}); "
    "start Docker (or set DOCKER_HOST), or unset ECG_TEST_SERVICES to run Kafka and "
    "PostgreSQL as local processes"
)


def kafka_container(docker_client_kw: dict[str, Any] | None = None) -> KafkaContainer:
    """The Kafka container, configured and not started. Building it asks the Docker
    engine for its API version unless ``docker_client_kw`` names one."""
    from testcontainers.community.kafka import KafkaContainer

    kafka = KafkaContainer(KAFKA_IMAGE, port=KAFKA_PORT, docker_client_kw=docker_client_kw)
    kafka.with_kraft()
    for name, value in KAFKA_SETTINGS.items():
        kafka.with_env(name, value)
    return kafka


def postgres_container(
    password: str, docker_client_kw: dict[str, Any] | None = None
) -> PostgresContainer:
    """The PostgreSQL container with the database ``ecg``, configured and not started."""
    from testcontainers.community.postgres import PostgresContainer

    return PostgresContainer(
        POSTGRES_IMAGE,
        username=POSTGRES_USER,
        password=password,
        dbname=POSTGRES_DATABASE,
        driver=None,  # a plain postgresql:// URL, as asyncpg takes it
        docker_client_kw=docker_client_kw,
    )


@dataclass
class Containers:
    """Running Kafka and PostgreSQL containers and how to reach them."""

    kafka: KafkaContainer
    postgres: PostgresContainer

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.get_bootstrap_server()

    @property
    def database_url(self) -> str:
        return self.postgres.get_connection_url()

    def stop(self) -> None:
        for container in (self.kafka, self.postgres):
            try:
                container.stop()
            except Exception as exc:  # already gone; the reaper removes what is left
                print(f"infra: stopping {container.image}: {exc}", file=sys.stderr, flush=True)


def start_containers() -> Containers:
    """Start PostgreSQL and Kafka in containers; a ``StartupError`` if Docker is missing or
    one of them does not come up (whatever started is stopped again)."""
    from docker.errors import DockerException  # type: ignore[import-untyped]

    with warnings.catch_warnings():
        # docker-py leaves the socket of its failed first request open: closed here, quietly
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            postgres = postgres_container(secrets.token_urlsafe(24))
            kafka = kafka_container()
            missing = None
        except DockerException as exc:
            missing = _first_line(exc)
        if missing is not None:
            gc.collect()
    if missing is not None:
        raise StartupError(NO_DOCKER.format(reason=missing))
    started: list[KafkaContainer | PostgresContainer] = []
    try:
        started.append(postgres.start())
        started.append(kafka.start(timeout=KAFKA_START_TIMEOUT))
    except Exception as exc:
        for container in started:
            container.stop()
        raise StartupError(f"a test container did not start: {_first_line(exc)}") from exc
    return Containers(kafka=kafka, postgres=postgres)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
