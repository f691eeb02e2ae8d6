"""The settings profile and the signing key that a stack gives its services, and where
its Kafka and PostgreSQL come from (docs/settings.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import jwt_secret_weakness
from infra.processes import StartupError
from infra.stack import Stack


def ecg_env(stack: Stack) -> dict[str, str]:
    """The environment the stack would give its services, with made-up ports."""
    stack.run_dir.mkdir(exist_ok=True)
    stack.state.ports["postgres"] = 5432
    stack._place_kafka([9092, 9093])
    return stack._ecg_env()


@pytest.fixture(autouse=True)
def _no_ecg_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a shell without ECG_* variables (`make test` sets them for its own stack)."""
    for name in ("ECG_ENV", "ECG_JWT_SECRET", "ECG_TEST_SERVICES"):
        monkeypatch.delenv(name, raising=False)


def test_up_runs_a_development_stack_and_run_a_test_one(tmp_path: Path) -> None:
    assert ecg_env(Stack(tmp_path / "up", ephemeral=False))["ECG_ENV"] == "development"
    assert ecg_env(Stack(tmp_path / "run", ephemeral=True))["ECG_ENV"] == "test"


def test_a_profile_of_ones_own_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECG_ENV", "production")
    assert ecg_env(Stack(tmp_path, ephemeral=False))["ECG_ENV"] == "production"


def test_each_stack_signs_with_a_random_key_that_production_accepts(tmp_path: Path) -> None:
    first = ecg_env(Stack(tmp_path / "a", ephemeral=False))["ECG_JWT_SECRET"]
    second = ecg_env(Stack(tmp_path / "b", ephemeral=False))["ECG_JWT_SECRET"]
    assert first != second
    assert jwt_secret_weakness(first) is None


def test_a_key_of_ones_own_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECG_JWT_SECRET", "mine")
    assert ecg_env(Stack(tmp_path, ephemeral=True))["ECG_JWT_SECRET"] == "mine"


def test_a_testcontainers_stack_without_docker_fails_to_start_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seam of `infra run --services testcontainers`: no Java, no local Kafka or
    PostgreSQL is tried, and nothing falls back to them."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("TC_HOST", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java: the local path would say so
    monkeypatch.delenv("JAVA_HOME", raising=False)
    stack = Stack(tmp_path, ephemeral=True, services="testcontainers")
    with pytest.raises(StartupError, match="ECG_TEST_SERVICES=testcontainers needs a Docker"):
        stack.start(services_only=True)
    assert stack.state.services == []
    stack.close()
