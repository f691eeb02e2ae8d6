"""``ecg import`` against the running stack, as a user runs it: three minutes of MIT-BIH
record 100 written as a WFDB record, an EDF+ file and a CSV file (``bench.import_files``)
give three ECGs with the same lookup, windows and beats; a stream killed midway resumes
when the command runs again, and the archive then holds the file sample for sample."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from bench.import_files import shortened, write_csv, write_edf, write_wfdb
from client.wfdb import Record, read_record
from tests.e2e.conftest import Account
from tests.e2e.streaming import has_final_summary, poll_lookup, results
from tests.e2e.test_signal import as_array, read_back

ECG = str(Path(sys.executable).with_name("ecg"))


async def ecg_import(
    account: Account, gateway_url: str, state_dir: Path, *args: str
) -> tuple[int, list[str], str]:
    """Run ``ecg import ARGS`` as ``account``: its exit status, stdout's lines, stderr."""
    process = await start_import(account, gateway_url, state_dir, *args)
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert account.password not in out.decode() + err.decode()
    return process.returncode or 0, out.decode().split(), err.decode()


async def start_import(
    account: Account, gateway_url: str, state_dir: Path, *args: str
) -> asyncio.subprocess.Process:
    command = [ECG, "import", *args, "--email", account.email, "--gateway", gateway_url]
    return await asyncio.create_subprocess_exec(
        *command,
        "--state-dir",
        str(state_dir),
        env={**os.environ, "ECG_PASSWORD": account.password},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def record_100(seconds: float, data_dir: Path) -> Record:
    return shortened(read_record(data_dir / "mitdb" / "100"), seconds)


async def test_a_wfdb_record_and_its_edf_and_csv_give_the_same_ecg(
    user: Account, client: httpx.AsyncClient, gateway_url: str, data_dir: Path, tmp_path: Path
) -> None:
    record = record_100(180, data_dir)
    paths = [
        write_wfdb(record, tmp_path / "wfdb", "r100"),
        write_edf(record, tmp_path / "r100.edf"),
        write_csv(record, tmp_path / "r100.csv"),
    ]
    csv_scale = ["--gain", "200", "--baseline", "1024"]  # the CSV is in mV
    argv = [*map(str, paths), *csv_scale]
    status, ids, err = await ecg_import(user, gateway_url, tmp_path / "state", *argv)
    assert status == 0, err
    assert len(set(ids)) == 3
    assert "samples/s" in err  # the progress bar and the closing lines

    found = [await results(client, ecg_id) for ecg_id in ids]
    first = found[0]
    assert first["status"] == "done"
    assert [lead["name"] for lead in first["leads"]] == ["MLII", "V5"]
    assert {(lead["gain"], lead["baseline"]) for lead in first["leads"]} == {(200.0, 1024)}
    assert {lead["number_of_samples"] for lead in first["leads"]} == {180 * 360}
    assert len(first["windows"]) == 18
    assert first["summary"]["leads"][0]["min_mv"]["value"] is not None
    assert len(first["beats"]["sample_indices"]) > 180
    assert found[1] == first
    assert found[2] == first

    again, same_ids, err = await ecg_import(user, gateway_url, tmp_path / "state", *argv)
    assert (again, same_ids) == (0, ids)
    assert err.count("imported before") == 3


async def test_a_stream_killed_midway_resumes_and_keeps_every_sample(
    user: Account, client: httpx.AsyncClient, gateway_url: str, data_dir: Path, tmp_path: Path
) -> None:
    record = record_100(300, data_dir)
    path = write_edf(record, tmp_path / "holter.edf")
    state_dir = tmp_path / "state"
    # Every file as a stream, in 1-s chunks: 300 of them.
    argv = [str(path), "--max-upload-bytes", "0", "--chunk-samples", "360", "--no-progress"]
    process = await start_import(user, gateway_url, state_dir, *argv)
    running = await wait_for_state(state_dir, lambda state: state["next_seq"] >= 30)
    process.kill()
    await process.wait()
    assert running["transport"] == "stream"
    state = read_state(state_dir)
    assert state is not None
    assert state["ecg_id"] == running["ecg_id"]
    assert not state["done"]
    assert state["next_seq"] < 300

    status, ids, err = await ecg_import(user, gateway_url, state_dir, *argv)
    assert status == 0, err
    assert ids == [state["ecg_id"]]
    assert f"resuming ECG {ids[0]} at chunk {state['next_seq']}" in err

    body = await read_back(client, ids[0], record.signals.shape[1])
    assert [lead["name"] for lead in body["leads"]] == ["MLII", "V5"]
    assert np.array_equal(as_array(body), record.signals)
    lookup = await poll_lookup(client, ids[0], has_final_summary, "the final summary")
    assert lookup["status"] == "done"
    assert {lead["number_of_samples"] for lead in lookup["leads"]} == {300 * 360}
    assert lookup["windows"]["count"] == 30
    # The stream's opening carried each lead's gain and baseline: values in mV.
    assert [lead["gain"] for lead in lookup["leads"]] == pytest.approx(record.gains)
    assert [lead["baseline"] for lead in lookup["leads"]] == record.baselines
    assert lookup["summary"]["leads"][0]["min_mv"]["value"] is not None

    again, same_ids, err = await ecg_import(user, gateway_url, state_dir, *argv)
    assert (again, same_ids) == (0, ids)
    assert "imported before" in err


def read_state(state_dir: Path) -> dict[str, Any] | None:
    files = list(state_dir.glob("*.json")) if state_dir.is_dir() else []
    if not files:
        return None
    state: dict[str, Any] = json.loads(files[0].read_text())  # renamed in whole
    return state


async def wait_for_state(
    state_dir: Path, until: Callable[[dict[str, Any]], bool], deadline_seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    while True:
        state = read_state(state_dir)
        if state is not None and until(state):
            return state
        assert time.monotonic() < deadline, f"the import did not get there: {state}"
        await asyncio.sleep(0.02)
