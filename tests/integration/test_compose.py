"""docker-compose.yml is valid Compose and describes the whole pipeline.

``docker compose config`` (or Debian's ``docker-compose config``) validates the
file without a Docker engine; ``make test`` installs docker-compose when neither
command exists, so a missing command fails this test rather than skipping it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from infra.compose_cli import compose_command

REPO = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "topics", "gateway", "worker")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return compose_config()


def compose_config(**variables: str) -> dict[str, Any]:
    """The file as Compose reads it, with ``variables`` set and GATEWAYS otherwise unset."""
    env = {k: v for k, v in os.environ.items() if k != "GATEWAYS"} | variables
    command = compose_command()
    if command is None:
        pytest.fail(
            "neither `docker compose` nor `docker-compose` exists: "
            "`make test` installs docker-compose (python -m infra ensure-compose-cli)",
            pytrace=False,
        )
    result = subprocess.run(
        [*command, "-f", str(REPO / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, f"{' '.join(command)} config rejected the file:\n{result.stderr}"
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def service(config: dict[str, Any], name: str) -> dict[str, Any]:
    found = config["services"][name]
    assert isinstance(found, dict)
    return found


def test_the_pipeline_services_are_defined(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {"kafka", "postgres", *APP_SERVICES}


def test_kafka_is_single_node_kraft_without_topic_auto_creation(config: dict[str, Any]) -> None:
    kafka = service(config, "kafka")
    environment = {k: str(v) for k, v in kafka["environment"].items()}
    assert kafka["image"].startswith("apache/kafka:3.9.")
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "healthcheck" in kafka


def test_app_services_use_the_repository_image(config: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        build = service(config, name)["build"]
        assert Path(build["dockerfile"]).as_posix().endswith("infra/Dockerfile"), name
        environment = service(config, name)["environment"]
        assert environment["ECG_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert environment["ECG_DATABASE_URL"].startswith("postgresql://"), name


def test_setup_steps_run_once_before_the_services(config: dict[str, Any]) -> None:
    assert service(config, "migrate")["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service(config, "topics")["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("gateway", "worker"):
        depends_on = service(config, name)["depends_on"]
        for step in ("migrate", "topics"):
            assert depends_on[step]["condition"] == "service_completed_successfully", name


def test_the_gateway_runs_gateways_processes(config: dict[str, Any]) -> None:
    command = service(config, "gateway")["command"]
    assert command[:3] == ["uvicorn", "--factory", "gateway.app:create_app"]
    assert command[command.index("--workers") + 1] == "1"
    scaled = service(compose_config(GATEWAYS="3"), "gateway")["command"]
    assert scaled[scaled.index("--workers") + 1] == "3"


def test_workers_can_be_scaled(config: dict[str, Any]) -> None:
    worker = service(config, "worker")
    assert "container_name" not in worker
    assert not worker.get("ports"), "a fixed host port would stop `--scale worker=N`"
