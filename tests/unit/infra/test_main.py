"""``python -m infra``'s command line: process counts from options or ECG_GATEWAYS,
ECG_WORKERS and ECG_BROKERS, one of each by default, and a refusal of workers beyond the
partitions and of a broker count other than 1 or 3."""

from __future__ import annotations

import pytest

from infra.__main__ import parse
from infra.scale import Scale


def test_one_gateway_process_one_worker_and_one_broker_by_default() -> None:
    assert parse(["up"], env={}).scale == Scale(gateways=1, workers=1, brokers=1)
    assert parse(["run", "--", "true"], env={}).scale == Scale(gateways=1, workers=1, brokers=1)


def test_the_options_set_the_counts() -> None:
    args = parse(["run", "--gateways", "3", "--workers", "2", "--", "pytest", "-q"], env={})
    assert args.scale == Scale(gateways=3, workers=2)
    assert args.command == ["pytest", "-q"]


def test_the_environment_sets_the_defaults_and_the_options_win() -> None:
    env = {"ECG_GATEWAYS": "2", "ECG_WORKERS": "3", "ECG_BROKERS": "3"}
    assert parse(["up"], env=env).scale == Scale(gateways=2, workers=3, brokers=3)
    assert parse(["up", "--workers", "1", "--brokers", "1"], env=env).scale == Scale(
        gateways=2, workers=1, brokers=1
    )
    assert parse(["run", "--brokers", "3", "--", "true"], env={}).scale.brokers == 3


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["up", "--workers", "0"], {}),
        (["up", "--gateways", "many"], {}),
        (["up"], {"ECG_WORKERS": "none"}),
    ],
)
def test_a_count_that_is_not_one_or_more_is_a_usage_error(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(argv, env=env)
    assert exited.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_more_workers_than_partitions_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["up", "--workers", "3"], env={"ECG_TOPIC_PARTITIONS": "2"})
    assert exited.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "3 workers but 2 partitions" in error
    assert parse(["up", "--workers", "2"], env={"ECG_TOPIC_PARTITIONS": "2"}).scale.workers == 2


@pytest.mark.parametrize("brokers", ["2", "4"])
def test_a_broker_count_other_than_one_or_three_is_refused(
    brokers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["up", "--brokers", brokers], env={})
    assert exited.value.code == 2
    assert f"{brokers} brokers: 1 or 3" in capsys.readouterr().err


def test_kafka_and_postgres_are_local_processes_unless_testcontainers_are_asked_for() -> None:
    assert parse(["run", "--", "true"], env={}).services == "local"
    asked = {"ECG_TEST_SERVICES": "testcontainers"}
    assert parse(["run", "--", "true"], env=asked).services == "testcontainers"
    assert parse(["run", "--services", "local", "--", "true"], env=asked).services == "local"


@pytest.mark.parametrize(
    ("argv", "env", "error"),
    [
        (["run", "--", "true"], {"ECG_TEST_SERVICES": "docker"}, "must be local or testcontainers"),
        (
            ["run", "--brokers", "3", "--services", "testcontainers", "--", "true"],
            {},
            "one Kafka broker",
        ),
    ],
)
def test_a_services_choice_that_cannot_be_met_is_a_usage_error(
    argv: list[str], env: dict[str, str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(argv, env=env)
    assert exited.value.code == 2
    assert error in capsys.readouterr().err
