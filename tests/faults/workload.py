"""What every fault run sends, and how its results are compared with an undisturbed
run's.

A run: ``DEVICES`` devices stream MIT-BIH record 100 (60 s, both leads, 1-s chunks) at
``SPEED`` times real time through the gateway with the project's own device loop
(``client.devices``: 503s and lost answers retried with the same seq), while
``UPLOADS`` records are uploaded whole, each at a random moment of the run, retried
with the same id after a 503 or no answer (a 409 for an id taken after a lost answer
is its acknowledgement). Every HTTP answer of the gateway is counted by status.

Each ECG's lookup, windows and beats, once ``done``, are compared with those of the
same signal in the undisturbed run: an ECG missing or not ``done``, a window or a beat
missing, is *lost*; a window or a beat more than the reference's (a beat index twice),
*doubled*; a window, summary or lead count that differs, *differing*.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from client.api import StreamClient, new_http_client
from client.devices import DeviceLog, run_device
from client.simulation import SimulationOptions, make_plan
from client.wfdb import read_record
from tests.e2e.streaming import results

DEVICES = 10
SPEED = 4.0
SECONDS = 60.0
UPLOAD_RECORDS = ("100", "103", "105", "106", "118")
UPLOADS = len(UPLOAD_RECORDS)
UPLOAD_SECONDS = 60  # of each record
RETRY_SECONDS = 240.0  # an upload still refused after this is lost
DONE_SECONDS = 300.0  # for every ECG to be done once the devices have ended


@dataclass
class Run:
    """One run of the workload: its ECGs by name (``device-3``, ``upload-105``), the
    gateway's answers by status, and when it finished."""

    ecgs: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    sent_at: float = 0.0  # time.monotonic() when the last device ended and uploads were in
    done_at: float = 0.0  # when every ECG was done


async def run_workload(
    gateway_url: str, email: str, password: str, data_dir: Path, rng: random.Random
) -> Run:
    run = Run()
    options = SimulationOptions(
        record=data_dir / "mitdb" / "100",
        email=email,
        password=password,
        gateway_url=gateway_url,
        devices=DEVICES,
        speed=SPEED,
        duration_seconds=SECONDS,
    )
    plan = make_plan(options)

    async def count(response: httpx.Response) -> None:
        run.statuses[response.status_code] += 1

    loop = asyncio.get_running_loop()
    async with new_http_client(gateway_url, DEVICES + UPLOADS + 4) as http:
        http.event_hooks["response"].append(count)
        client = StreamClient(http)
        await client.log_in(email, password)
        date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        logs = [DeviceLog(index) for index in range(DEVICES)]
        opened = [
            await client.open_stream(date, plan.sampling_rate, list(plan.leads)) for _ in logs
        ]
        for log, (ecg_id, _) in zip(logs, opened, strict=True):
            log.ecg_id = ecg_id
            run.ecgs[f"device-{log.index}"] = ecg_id
        start = loop.time() + 0.5
        devices = [
            run_device(client.chunks(ecg_id, token), plan, log, start)
            for log, (ecg_id, token) in zip(logs, opened, strict=True)
        ]
        access = await _access_token(http, email, password)
        uploads = [
            _upload(http, access, data_dir, name, rng.uniform(0, SECONDS / SPEED), run)
            for name in UPLOAD_RECORDS
        ]
        await asyncio.gather(*devices, *uploads)
        run.sent_at = time.monotonic()
        run.failures += [log.failure for log in logs if log.failure is not None]
    return run


async def _access_token(http: httpx.AsyncClient, email: str, password: str) -> str:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _upload(
    http: httpx.AsyncClient, access: str, data_dir: Path, name: str, after: float, run: Run
) -> None:
    await asyncio.sleep(after)
    record = read_record(data_dir / "mitdb" / name)
    length = int(UPLOAD_SECONDS * record.sampling_rate)
    ecg_id = str(uuid.uuid4())
    body = {
        "id": ecg_id,
        "date": "2024-05-01T10:00:00Z",
        "sampling_rate": record.sampling_rate,
        "leads": [
            {"name": lead, "signal": signal[:length].tolist(), "baseline": int(baseline)}
            for lead, signal, baseline in zip(
                record.lead_names, record.signals, record.baselines, strict=True
            )
        ],
    }
    deadline = time.monotonic() + RETRY_SECONDS
    headers = {"Authorization": f"Bearer {access}"}
    while True:
        try:
            response = await http.post("/api/v1/ecg/", json=body, headers=headers)
        except httpx.TransportError:
            status = 0  # no answer: the same id again
        else:
            status = response.status_code
        if status == 202 or (status == 409 and "exists" in response.text):
            run.ecgs[f"upload-{name}"] = ecg_id
            return
        if status not in (0, 503) or time.monotonic() > deadline:
            run.failures.append(f"upload {name}: {status} {response.text if status else ''}")
            return
        await asyncio.sleep(1.0)


async def collect(gateway_url: str, email: str, password: str, run: Run) -> dict[str, Any]:
    """Every ECG's results once done (None for one that is not done in time)."""
    collected: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {await _access_token(http, email, password)}"}
        http.headers.update(headers)
        deadline = time.monotonic() + DONE_SECONDS
        for name, ecg_id in sorted(run.ecgs.items()):
            left = max(1.0, deadline - time.monotonic())
            try:
                collected[name] = await results(http, ecg_id, deadline_seconds=left)
            except AssertionError as exc:
                run.failures.append(f"{name} (ECG {ecg_id}): {str(exc)[:300]}")
                collected[name] = None
    run.done_at = time.monotonic()
    return collected


@dataclass
class Comparison:
    ecgs: int = 0
    windows: int = 0  # compared
    lost: int = 0
    doubled: int = 0
    differing: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.lost or self.doubled or self.differing)


def reference_name(name: str) -> str:
    """Every device streams the same signal: device 0 of the reference stands for all."""
    return "device-0" if name.startswith("device-") else name


def compare(reference: dict[str, Any], got: dict[str, Any]) -> Comparison:
    found = Comparison()
    expected_names = {f"device-{i}" for i in range(DEVICES)} | {
        f"upload-{name}" for name in UPLOAD_RECORDS
    }
    for name in sorted(expected_names):
        found.ecgs += 1
        want = reference[reference_name(name)]
        have = got.get(name)
        if have is None:
            found.lost += 1
            found.notes.append(f"{name}: no results")
            continue
        windows = {w["index"]: w for w in want["windows"]}
        seen = [w["index"] for w in have["windows"]]
        found.windows += len(windows)
        found.lost += len(set(windows) - set(seen))
        found.doubled += len(seen) - len(set(seen)) + len(set(seen) - set(windows))
        found.differing += sum(
            w != windows[w["index"]] for w in have["windows"] if w["index"] in windows
        )
        beats_want = want["beats"]["sample_indices"]
        beats_have = have["beats"]["sample_indices"]
        found.lost += len(set(beats_want) - set(beats_have))
        found.doubled += len(beats_have) - len(set(beats_have))
        for part in ("status", "summary", "leads"):
            if have[part] != want[part]:
                found.differing += 1
                found.notes.append(f"{name}: {part} differs")
    return found
