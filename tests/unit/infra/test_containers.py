"""Kafka and PostgreSQL from testcontainers (ECG_TEST_SERVICES=testcontainers): their
configuration, built without starting anything, and a loud failure without Docker.

No Docker engine runs where these tests run: the containers are built with an explicit
Docker API version, which keeps docker-py from asking an engine for one, and are never
started. Where an engine runs (a GitHub runner, a laptop), ``make test`` with
ECG_TEST_SERVICES=testcontainers starts them for the whole suite.
"""

from __future__ import annotations

import pytest

from infra.containers import (
    KAFKA_IMAGE,
    POSTGRES_IMAGE,
    kafka_container,
    postgres_container,
    start_containers,
)
from infra.kafka_artifacts import KAFKA_VERSION
from infra.processes import StartupError

NO_ENGINE = {"version": "1.44"}  # an API version given: docker-py contacts no engine
# Confluent Platform 7.x ships Apache Kafka 3.x: 7.9 is 3.9, as infra.kafka's broker.
CONFLUENT_TO_KAFKA = {"7.9": "3.9"}


def test_kafka_runs_one_kraft_node_of_the_local_brokers_version() -> None:
    kafka = kafka_container(docker_client_kw=NO_ENGINE)
    kafka.configure()  # type: ignore[no-untyped-call]  # what start() does first
    env = {name: str(value) for name, value in kafka.env.items()}
    assert kafka.image.endswith(KAFKA_IMAGE)
    confluent = KAFKA_IMAGE.rsplit(":", 1)[1].rsplit(".", 1)[0]
    assert CONFLUENT_TO_KAFKA[confluent] == KAFKA_VERSION.rsplit(".", 1)[0]
    assert kafka.kraft_enabled
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"


def test_kafka_is_set_as_the_local_broker_is() -> None:
    env = kafka_container(docker_client_kw=NO_ENGINE).env
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"


def test_postgres_is_15_or_later_with_the_database_ecg() -> None:
    postgres = postgres_container("a-password", docker_client_kw=NO_ENGINE)
    postgres._configure()  # what start() does first
    assert postgres.image.endswith(POSTGRES_IMAGE)
    major = int(POSTGRES_IMAGE.split(":", 1)[1].split("-", 1)[0].split(".", 1)[0])
    assert major >= 15
    assert (postgres.env["POSTGRES_DB"], postgres.env["POSTGRES_USER"]) == ("ecg", "ecg")
    assert postgres.env["POSTGRES_PASSWORD"] == "a-password"
    assert postgres.driver == "", "asyncpg takes postgresql://, not postgresql+driver://"


def test_without_a_docker_engine_asking_for_them_fails_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("TC_HOST", raising=False)
    with pytest.raises(StartupError, match="needs a Docker engine") as raised:
        start_containers()
    assert "unset ECG_TEST_SERVICES" in str(raised.value)
