"""The pipeline's own steps and services, run with this interpreter from the repository:
migrations and topic creation (one-shot), the stream worker and the gateway."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from infra import supervisor
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
# At log level INFO, the lines of a worker's rebalances (aiokafka's and Faust's). The
# generation a worker is in is that of its last join, sync or Faust rebalance line: a
# leader that joined one generation may be synced into the next when another member
# joined meanwhile, and a member may rejoin with only Faust's line in its log.
GENERATION = re.compile(
    r"Joined group '[^']*' \(generation (\d+)\)"
    r"|Successfully synced group \S+ with generation (\d+)"
    r"|generation id \d+ app consumers id (\d+)"
)
REJOINING = "(Re-)joining group"
ASSIGNED = "Setting newly assigned partitions"
REBALANCED = "app consumers id"  # Faust's line, before it recovers for the generation
RECOVERED = "[^---Recovery]: Worker ready"
# The worker's sample archive (streams.archive) and its re-analysis (streams.reanalysis)
# are consumer groups of their own, named after the app's with these suffixes: their
# joins and assignments are not the app's.
OWN_GROUP_SUFFIXES = ("-archive", "-reanalysis")


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


GRACEFUL_SHUTDOWN_SECONDS = 20
# The gateway's own HTTP protocol (bounded request heads: gateway.connections), and no
# proxy headers from uvicorn, whose default trusts 127.0.0.1: the app believes them
# only from ECG_TRUSTED_PROXIES (gateway.edge). The Dockerfile and compose use the same.
# Bounded request heads (gateway.connections); proxy headers only from ECG_TRUSTED_PROXIES
# (gateway.edge); JSON log lines with request ids, one access line per request from
# gateway.observability (a path relative to the repository, the image's /app).
SERVER_OPTIONS = [
    "--http",
    "gateway.connections:HttpProtocol",
    "--no-proxy-headers",
    "--log-config",
    "gateway/logging.json",
    "--no-access-log",
]


def start_worker(
    run_dir: Path,
    env: Mapping[str, str],
    parent_death_signal: int | None,
    *,
    log_name: str = "worker.log",
    log_level: str | None = None,
    supervised: bool = False,
) -> Service:
    """``python -m streams worker`` (Faust's worker command). ``--without-web``:
    Faust's command line otherwise starts its web server on port 6066 whatever
    the app's ``web_enabled`` says, and a second local worker could not start (the
    worker's own endpoints are on ``ECG_WORKER_WEB_PORT`` of ``env``, ``streams.web``).
    ``supervised``: under ``infra.supervisor``, whose pid is the service's."""
    argv = [sys.executable, "-m", "streams", "worker", "--without-web"]
    if log_level is not None:
        argv += ["--loglevel", log_level]
    if supervised:
        argv = supervisor.command(Path(log_name).stem, argv, run_dir)
    return spawn(
        "worker",
        argv,
        log=run_dir / log_name,
        env=env,
        cwd=REPO_ROOT,
        parent_death_signal=parent_death_signal,
    )


def start_gateway(
    run_dir: Path,
    port: int,
    env: Mapping[str, str],
    parent_death_signal: int | None,
    *,
    processes: int = 1,
    supervised: bool = False,
) -> Service:
    """uvicorn serving ``create_app``; with ``processes`` > 1, its supervisor and that
    many server processes sharing one listening socket, each with its own lifespan
    (producer and pool). The supervisor is the recorded pid; the processes are in
    its process group, which ``stop_all`` signals. ``supervised``: uvicorn itself
    under ``infra.supervisor``, whose pid is then the recorded one, in the same group."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app"]
    argv += ["--host", LOOPBACK, "--port", str(port)]
    argv += SERVER_OPTIONS
    # SIGTERM: requests in flight get at most this long to finish (WebSockets close with
    # 1012 at once), so that a stop stays within 30 s.
    argv += ["--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS)]
    if processes > 1:
        argv += ["--workers", str(processes)]
    if supervised:
        argv = supervisor.command("gateway", argv, run_dir)
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


def worker_url(port: int) -> str:
    """Where a worker serves ``/livez``, ``/readyz`` and ``/metrics``."""
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
        if "address already in use" in Path(worker.log).read_text(errors="replace").lower():
            raise PortInUseError(f"the stream worker could not bind its port\n{tail(worker.log)}")
        raise StartupError(f"the stream worker exited during startup\n{tail(worker.log)}")
    if not ready:
        raise StartupError(
            f"the stream worker did not finish starting within {WORKER_TIMEOUT:.0f} s\n"
            f"{tail(worker.log)}"
        )


def recovered_generation(log_text: str) -> int | None:
    """The consumer group's generation that a worker logging at INFO is in and has
    finished recovering for; None while it joins, rebalances or recovers."""
    log_text = "\n".join(
        line
        for line in log_text.splitlines()
        if not any(suffix in line for suffix in OWN_GROUP_SUFFIXES)
    )
    generations = GENERATION.findall(log_text)
    last_change = max(log_text.rfind(change) for change in (REJOINING, ASSIGNED, REBALANCED))
    if not generations or log_text.rfind(RECOVERED) < last_change:
        return None
    return int(next(number for number in generations[-1] if number))


def wait_for_group(workers: Sequence[Service]) -> None:
    """Bounded wait until every worker has recovered for one and the same generation of
    the group: all have joined it and none is mid-rebalance. A worker reports ready
    after its first assignment, and the next worker's arrival rebalances it again;
    Faust may skip a record that arrives while a fresh partition is being recovered."""

    def settled() -> bool:
        logs = (Path(w.log).read_text(errors="replace") for w in workers)
        generations = {recovered_generation(text) for text in logs}
        return None not in generations and len(generations) == 1

    def running() -> bool:
        return all(is_running(w) for w in workers)

    ready = wait_until(lambda: not running() or settled(), timeout=WORKER_TIMEOUT)
    if not running():
        gone = next(w for w in workers if not is_running(w))
        raise StartupError(f"a stream worker exited during startup\n{tail(gone.log)}")
    if not ready:
        raise StartupError(
            f"the {len(workers)} stream workers did not settle in one consumer group "
            f"within {WORKER_TIMEOUT:.0f} s (logs: {', '.join(w.log for w in workers)})"
        )
