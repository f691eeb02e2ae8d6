"""The pipeline's own steps and services, run with this interpreter from the repository:
migrations and topic creation (one-shot), the stream worker and the gateway."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from infra.net import LOOPBACK, http_ok
from infra.paths import REPO_ROOT
from infra.processes import (
    PortInUseError,
    Service,
    StartupError,
    is_running,
    run_step,
    spawn,
    tail,
    wait_until,
)

STEP_TIMEOUT = 180.0
GATEWAY_READY_TIMEOUT = 60.0
WORKER_TIMEOUT = 90.0
WORKER_READY_MARKERS = (" OK ^", "[^Worker]: Ready")


def migrate(run_dir: Path, env: Mapping[str, str], parent_death_signal: int | None) -> None:
    """``python -m migrations``: apply the SQL migrations (ECG_DATABASE_URL)."""
    _run_module("migrations", "migrations", run_dir / "migrate.log", env, parent_death_signal)


def create_topics(run_dir: Path, env: Mapping[str, str], parent_death_signal: int | None) -> None:
    """``python -m streams.topics``: create the pipeline's Kafka topics."""
    _run_module(
        "topic creation", "streams.topics", run_dir / "topics.log", env, parent_death_signal
    )


def _run_module(
    step: str, module: str, log: Path, env: Mapping[str, str], parent_death_signal: int | None
) -> None:
    run_step(
        step,
        [sys.executable, "-m", module],
        log=log,
        env=env,
        cwd=REPO_ROOT,
        timeout=STEP_TIMEOUT,
        parent_death_signal=parent_death_signal,
    )


def start_worker(run_dir: Path, env: Mapping[str, str], parent_death_signal: int | None) -> Service:
    """``python -m streams worker`` (Faust's worker command). ``--without-web``:
    Faust's command line otherwise starts its web server on port 6066 whatever
    the app's ``web_enabled`` says, and a second local worker could not start."""
    return spawn(
        "worker",
        [sys.executable, "-m", "streams", "worker", "--without-web"],
        log=run_dir / "worker.log",
        env=env,
        cwd=REPO_ROOT,
        parent_death_signal=parent_death_signal,
    )


def start_gateway(
    run_dir: Path, port: int, env: Mapping[str, str], parent_death_signal: int | None
) -> Service:
    argv = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app"]
    argv += ["--host", LOOPBACK, "--port", str(port)]
    return spawn(
        "gateway",
        argv,
        log=run_dir / "gateway.log",
        env=env,
        cwd=REPO_ROOT,
        parent_death_signal=parent_death_signal,
    )


def gateway_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def wait_for_gateway(gateway: Service, port: int) -> None:
    """Bounded wait until ``GET /healthz`` answers 200."""
    health = gateway_url(port) + "/healthz"
    ready = wait_until(
        lambda: not is_running(gateway) or http_ok(health), timeout=GATEWAY_READY_TIMEOUT
    )
    if not is_running(gateway):
        if "address already in use" in Path(gateway.log).read_text(errors="replace").lower():
            raise PortInUseError(f"the gateway could not bind port {port}\n{tail(gateway.log)}")
        raise StartupError(f"the gateway exited during startup\n{tail(gateway.log)}")
    if not ready:
        raise StartupError(
            f"GET {health} did not answer 200 within {GATEWAY_READY_TIMEOUT:.0f} s\n"
            f"{tail(gateway.log)}"
        )


def wait_for_worker(worker: Service) -> None:
    """Bounded wait until the Faust worker reports the end of its startup
    (`` OK ^`` without a terminal, ``Ready`` with a log level of INFO)."""

    def reported_ready() -> bool:
        text = Path(worker.log).read_text(errors="replace")
        return any(marker in text for marker in WORKER_READY_MARKERS)

    ready = wait_until(lambda: not is_running(worker) or reported_ready(), timeout=WORKER_TIMEOUT)
    if not is_running(worker):
        raise StartupError(f"the stream worker exited during startup\n{tail(worker.log)}")
    if not ready:
        raise StartupError(
            f"the stream worker did not finish starting within {WORKER_TIMEOUT:.0f} s\n"
            f"{tail(worker.log)}"
        )
