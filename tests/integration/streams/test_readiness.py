"""``/readyz`` of a real worker and of a real gateway goes 503 when PostgreSQL or Kafka
goes away, naming it, and 200 once it is back; ``/livez`` answers throughout.

The PostgreSQL, Kafka and worker are this module's own, started with the code of
``python -m infra run`` (``infra.stack``) in a directory of their own, so that the
shared ones keep serving the other tests; they are stopped and started again as the
fault suite does it (``tests.faults.stack``): PostgreSQL by ``pg_ctl stop -m fast``,
Kafka by SIGKILL, both back on the same ports and data.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra import apps
from infra.net import free_ports
from infra.stack import Stack, remove_cluster_outside, stop_stack
from tests.faults.stack import FaultStack

PROBE_TIMEOUT = 1.0  # ECG_WORKER_READINESS_TIMEOUT_SECONDS of the worker
NOTICED = 15.0  # the most a 503 may take once a dependency is gone
BACK = 45.0  # the most a 200 may take once it is back (Kafka: the group rejoined)


@pytest.fixture(scope="module")
def private(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FaultStack, dict[str, str]]]:
    """A PostgreSQL, a Kafka broker (migrated, with the topics), a worker whose
    endpoints are on a free port and a gateway; their URLs by name. Everything stops at
    the end of the module."""
    run_dir = Path(tmp_path_factory.mktemp("readiness"))
    run_dir.chmod(0o755)  # PostgreSQL's user must reach its data directory
    stack = Stack(run_dir, ephemeral=True)
    try:
        env = stack.start(services_only=True)
        port = free_ports(1)[0]
        worker_env = os.environ | env
        worker_env |= {
            "ECG_STREAMS_DATA_DIR": str(run_dir / "streams-data"),
            "ECG_STREAMS_SESSION_TIMEOUT_SECONDS": "6",
            "ECG_WORKER_WEB_PORT": str(port),
            "ECG_WORKER_READINESS_TIMEOUT_SECONDS": f"{PROBE_TIMEOUT:g}",
        }
        worker = apps.start_worker(run_dir, worker_env, signal.SIGKILL, log_level="info")
        stack.state.record(worker)
        gateway_port = free_ports(1)[0]
        gateway = apps.start_gateway(run_dir, gateway_port, os.environ | env, signal.SIGKILL)
        stack.state.record(gateway)
        apps.wait_for_worker(worker)
        apps.wait_for_gateway(gateway, gateway_port)
        urls = {"worker": apps.worker_url(port), "gateway": apps.gateway_url(gateway_port)}
        yield FaultStack(run_dir, stack.state), urls
    finally:
        stop_stack(stack.state)
        remove_cluster_outside(stack.state)


async def until_status(http: httpx.AsyncClient, status: int, seconds: float) -> dict[str, Any]:
    """Poll ``/readyz`` until it answers ``status``; its body."""
    deadline = time.monotonic() + seconds
    while True:
        response = await http.get("/readyz")
        if response.status_code == status:
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, (
            f"/readyz did not answer {status} within {seconds} s: {response.text}"
        )
        await asyncio.sleep(0.2)


async def outage(
    urls: dict[str, str], name: str, stop: Callable[[], None], start: Callable[[], None]
) -> None:
    """Ready; ``stop`` the dependency: 503 naming it, live; ``start`` it: ready again;
    for the worker and the gateway alike."""
    clients = {
        process: httpx.AsyncClient(base_url=url, timeout=10) for process, url in urls.items()
    }
    try:
        for http in clients.values():
            await until_status(http, 200, BACK)
        await asyncio.to_thread(stop)
        stopped = time.monotonic()
        try:
            for process, http in clients.items():
                problem = await until_status(http, 503, NOTICED)
                print(f"{name} down: {process} 503 after {time.monotonic() - stopped:.1f} s")
                assert problem["checks"][name] == "unavailable"
                assert name in problem["detail"]
                assert (await http.get("/livez")).status_code == 200
        finally:
            await asyncio.to_thread(start)
        started = time.monotonic()
        for process, http in clients.items():
            await until_status(http, 200, BACK)
            print(f"{name} back: {process} 200 after {time.monotonic() - started:.1f} s")
    finally:
        for http in clients.values():
            await http.aclose()


async def test_readyz_is_503_while_postgresql_is_down(
    private: tuple[FaultStack, dict[str, str]],
) -> None:
    faults, urls = private
    await outage(urls, "postgresql", faults.stop_postgres, faults.start_postgres)


async def test_readyz_is_503_while_kafka_is_down(
    private: tuple[FaultStack, dict[str, str]],
) -> None:
    faults, urls = private
    await outage(urls, "kafka", faults.kill_kafka, faults.start_kafka)
