"""The gateway's edge against hostile clients, on a gateway of this module's own started
exactly as ``make up`` starts one (``infra.apps.start_gateway``) and without
ECG_TRUSTED_PROXIES, beside the run's Kafka and PostgreSQL: a huge header, hundreds of
heads that never end, and a forged ``X-Forwarded-For`` from loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from gateway.accounts.throttle import PAIR
from gateway.admin import create_admin
from gateway.connections import HEAD_TIMEOUT_SECONDS
from infra import apps
from infra.net import free_ports
from infra.processes import stop_all
from tests.e2e.conftest import Account, log_in, new_address, new_email, new_password

MIB = 1024 * 1024
HEALTHY_WITHIN = 1.0  # seconds for /healthz while a hostile client is being served


@pytest.fixture(scope="module")
def own_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run_dir: Path = tmp_path_factory.mktemp("edge")
    untrusting = ("ECG_TRUSTED_PROXIES", "ECG_GATEWAY_URL")
    env = {key: value for key, value in os.environ.items() if key not in untrusting}
    port = free_ports(1)[0]
    gateway = apps.start_gateway(run_dir, port, env, signal.SIGKILL)
    try:
        apps.wait_for_gateway(gateway, port)
        yield apps.gateway_url(port)
    finally:
        stop_all([gateway])


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


async def health_latencies(url: str, until: asyncio.Future[Any], at_least: float) -> list[float]:
    """GET /healthz one after another for ``at_least`` seconds and until ``until`` is
    done (30 s at most); the seconds each took. Each must answer 200."""
    latencies: list[float] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while time.monotonic() - started < 30 and (
            not until.done() or time.monotonic() - started < at_least
        ):
            sent = time.monotonic()
            response = await http.get("/healthz")
            latencies.append(time.monotonic() - sent)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.05)
    return latencies


async def test_a_huge_header_is_cut_off_while_others_are_served(own_gateway: str) -> None:
    reader, writer = await asyncio.open_connection(*host_and_port(own_gateway))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Huge: ")

    async def flood() -> tuple[int, float]:
        """Send 64 MiB of one header value; the bytes sent and when it stopped."""
        sent, started = 0, time.monotonic()
        piece = b"a" * MIB
        try:
            for _ in range(64):
                writer.write(piece)
                await writer.drain()
                sent += len(piece)
        except ConnectionError:
            pass
        return sent, time.monotonic() - started

    flooding = asyncio.create_task(flood())
    latencies = await health_latencies(own_gateway, flooding, at_least=2.0)
    sent, seconds = await flooding
    try:
        answer = await asyncio.wait_for(reader.read(), 5)
    except ConnectionError:
        answer = b""  # reset: the gateway closed with our bytes unread
    finally:
        writer.close()
    assert sent < 64 * MIB, "the gateway read the whole 64 MiB header"
    assert seconds < 2.0, f"the huge header was cut off only after {seconds:.1f} s"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert max(latencies) < HEALTHY_WITHIN, f"/healthz took up to {max(latencies):.2f} s"


async def test_heads_that_never_end_are_closed_after_the_head_timeout(
    own_gateway: str,
) -> None:
    host, port = host_and_port(own_gateway)
    count, started = 500, time.monotonic()

    async def slow_client() -> float | None:
        """Send a head one header line every second; when the gateway closed it
        (seconds after start), or None if it is still open after the bound."""
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: gateway\r\n")
            while time.monotonic() - started < HEAD_TIMEOUT_SECONDS + 8:
                try:
                    data = await asyncio.wait_for(reader.read(1024), 1.0)
                except TimeoutError:
                    writer.write(b"X-Slow: still-coming\r\n")
                    continue
                except ConnectionError:
                    return time.monotonic() - started
                if not data or data.startswith(b"HTTP/1.1 408 "):
                    return time.monotonic() - started
                raise AssertionError(f"unexpected answer {data[:200]!r}")
            return None
        finally:
            writer.close()

    clients = [asyncio.create_task(slow_client()) for _ in range(count)]
    await asyncio.sleep(1.0)
    everyone = asyncio.gather(*clients)
    latencies = await health_latencies(own_gateway, everyone, at_least=3.0)
    closed_after = await everyone
    still_open = [seconds for seconds in closed_after if seconds is None]
    assert not still_open, f"{len(still_open)} of {count} heads still open after the timeout"
    assert max(s for s in closed_after if s is not None) < HEAD_TIMEOUT_SECONDS + 5
    assert max(latencies) < HEALTHY_WITHIN, f"/healthz took up to {max(latencies):.2f} s"


async def test_a_forged_forwarded_for_from_loopback_is_not_believed(
    own_gateway: str, database_url: str, db: asyncpg.Connection
) -> None:
    user = Account(new_email(), new_password())
    created, _ = await create_admin(database_url, user.email, user.password)
    statuses = []
    async with httpx.AsyncClient(base_url=own_gateway, timeout=60) as http:
        for _ in range(PAIR.threshold + 1):
            forger = Account(user.email, "not-the-password", new_address())  # a new one each time
            statuses.append((await log_in(http, forger)).status_code)
    rows = await db.fetch(
        "SELECT host(client_address) AS address, outcome FROM audit_log "
        "WHERE actor_id = $1 AND action = 'auth.login' AND outcome <> 'success' ORDER BY id",
        created.id,
    )
    assert {row["address"] for row in rows} == {"127.0.0.1"}, [dict(row) for row in rows]
    # All the guesses count against the real address: the throttle is not escaped.
    assert statuses[-1] == 429, statuses
