"""``ecg simulate`` against the running stack: devices stream MIT-BIH record 100 through
the gateway, by HTTP requests or WebSockets, in JSON or binary chunks; every sample and
window arrives, and the report gives the figures."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from client.simulation import SimulationOptions, simulate
from tests.e2e.conftest import NewUser

ECG = str(Path(sys.executable).with_name("ecg"))


@pytest.mark.parametrize(
    ("transport", "chunk_format"),
    [("http", "json"), ("ws", "json"), ("ws", "binary"), ("http", "binary")],
)
async def test_three_devices_at_20x_lose_nothing(
    new_user: NewUser,
    gateway_url: str,
    kafka_bootstrap: str,
    data_dir: Path,
    transport: str,
    chunk_format: str,
) -> None:
    user = await new_user()
    options = SimulationOptions(
        record=data_dir / "mitdb" / "100",
        email=user.email,
        password=user.password,
        gateway_url=gateway_url,
        devices=3,
        speed=20,
        duration_seconds=20,
        transport=transport,
        chunk_format=chunk_format,
        kafka_bootstrap=kafka_bootstrap,
        verify_seconds=60,
    )
    progress = io.StringIO()
    report = await simulate(options, progress)

    assert report.failures == ()
    assert (report.transport, report.chunk_format) == (transport, chunk_format)
    assert (report.gaps, report.verified) == (0, 3)
    assert report.ok
    assert report.samples_per_lead == 7200  # 20 s at 360 Hz
    assert report.samples_total == 3 * 2 * 7200
    assert report.chunks == 3 * 20
    assert report.seconds < 10  # 1 s of schedule at 20x, plus the acks
    assert report.samples_per_second > 0
    assert report.ack_latency_ms is not None
    assert 0 < report.ack_latency_ms["p50"] <= report.ack_latency_ms["p99"]
    assert report.window_note is None
    assert report.windows_seen == 3 * 2  # two 10-s windows per ECG
    assert report.window_latency_ms is not None
    assert report.window_latency_ms["p50"] <= report.window_latency_ms["p99"] < 30_000


async def test_the_command_streams_and_prints_a_json_report(
    new_user: NewUser, gateway_url: str, data_dir: Path
) -> None:
    """The console command, the password from the environment, at full speed and
    without Kafka: the window latency is left out with the reason; the rest holds."""
    user = await new_user()
    command = [ECG, "simulate", str(data_dir / "mitdb" / "100"), "--email", user.email]
    command += ["--gateway", gateway_url, "--speed", "max", "--duration", "25", "--json"]
    command += ["--bootstrap", "127.0.0.1:1"]  # nothing listens on port 1
    process = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, "ECG_PASSWORD": user.password},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["ok"] is True
    assert (report["devices"], report["verified"], report["gaps"]) == (1, 1, 0)
    assert report["samples_total"] == 2 * 9000
    assert report["speed"] == 0
    assert report["late_chunks"] is None
    assert set(report["ack_latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert report["window_latency_ms"] is None
    assert "127.0.0.1:1" in report["window_note"]
    assert user.password not in out.decode() + err.decode()


def test_help_exits_0() -> None:
    done = subprocess.run([ECG, "simulate", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--devices" in done.stdout
    assert "--password-stdin" in done.stdout
