"""docker-compose.yml is valid Compose and describes the whole pipeline.

``docker compose config`` (or Debian's ``docker-compose config``) validates the
file without a Docker engine; ``make test`` installs docker-compose when neither
command exists, so a missing command fails this test rather than skipping it.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from infra.compose_cli import compose_command

REPO = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "topics", "gateway", "worker")
MONITORING = ("prometheus", "grafana")
# The file has no default secret: these must come from the environment.
REQUIRED = {
    "ECG_JWT_SECRET": secrets.token_urlsafe(32),
    "ECG_POSTGRES_PASSWORD": secrets.token_urlsafe(24),
}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return compose_config()


def compose_config(*profiles: str, **variables: str) -> dict[str, Any]:
    """The file as Compose reads it, with the ``REQUIRED`` variables and ``variables``
    set, and GATEWAYS and ECG_ENV otherwise unset; ``profiles`` active."""
    result = run_compose_config(REQUIRED | variables, profiles)
    assert result.returncode == 0, f"compose config rejected the file:\n{result.stderr}"
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def run_compose_config(
    variables: dict[str, str], profiles: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    unset = ("GATEWAYS", "ECG_ENV", *REQUIRED)
    env = {k: v for k, v in os.environ.items() if k not in unset} | variables
    command = compose_command()
    if command is None:
        pytest.fail(
            "neither `docker compose` nor `docker-compose` exists: "
            "`make test` installs docker-compose (python -m infra ensure-compose-cli)",
            pytrace=False,
        )
    return subprocess.run(
        [
            *command,
            "-f",
            str(REPO / "docker-compose.yml"),
            *(arg for profile in profiles for arg in ("--profile", profile)),
            "config",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def service(config: dict[str, Any], name: str) -> dict[str, Any]:
    found = config["services"][name]
    assert isinstance(found, dict)
    return found


def test_the_pipeline_services_are_defined(config: dict[str, Any]) -> None:
    started = {name for name, spec in config["services"].items() if not spec.get("profiles")}
    assert started == {"kafka", "postgres", *APP_SERVICES}


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


def test_the_services_run_in_production_unless_said_otherwise(config: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        assert service(config, name)["environment"]["ECG_ENV"] == "production", name
    chosen = compose_config(ECG_ENV="development")
    assert service(chosen, "gateway")["environment"]["ECG_ENV"] == "development"


def test_no_secret_has_a_default(config: dict[str, Any]) -> None:
    """Without the signing key or the database password Compose refuses to start, and
    names the variable; given, they are used as they are."""
    for missing in REQUIRED:
        result = run_compose_config({k: v for k, v in REQUIRED.items() if k != missing})
        assert result.returncode != 0, f"compose started without {missing}"
        assert f"{missing} must be set" in result.stderr
    password = REQUIRED["ECG_POSTGRES_PASSWORD"]
    assert service(config, "postgres")["environment"]["POSTGRES_PASSWORD"] == password
    for name in APP_SERVICES:
        environment = service(config, name)["environment"]
        assert environment["ECG_JWT_SECRET"] == REQUIRED["ECG_JWT_SECRET"], name
        assert f":{password}@postgres:" in environment["ECG_DATABASE_URL"], name


def test_monitoring_is_optional_and_reads_files_of_the_repository() -> None:
    """``--profile monitoring`` adds Prometheus and Grafana, pinned, on 127.0.0.1 only,
    with their configuration and the dashboard from infra/monitoring. (Compose v1 and v2
    write ports and volumes differently: both are read.)"""
    monitored = compose_config("monitoring")
    for name in MONITORING:
        spec = service(monitored, name)
        assert spec["profiles"] == ["monitoring"]
        assert re.fullmatch(r"[a-z/]+:v?[0-9][0-9.]*", spec["image"]), spec["image"]
        for port in spec["ports"]:
            host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", port
        for volume in spec["volumes"]:
            if isinstance(volume, dict):
                source, read_only = volume["source"], volume.get("read_only") is True
            else:
                source, read_only = volume.split(":")[0], volume.endswith(":ro")
            assert Path(source).exists(), source
            assert read_only, volume
    grafana = service(monitored, "grafana")["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert grafana["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
