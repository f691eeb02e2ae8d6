"""Part 4's re-analysis: the Holter that part 4 streamed, analysed again from the samples
the archive kept in PostgreSQL (``POST /api/v1/ecg/{id}/analyses``, ``streams.reanalysis``),
timed from the request to the analysis done, beside the analysis core alone on the same
samples (part 4's reference): what reading, unpacking and replacing cost on top."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import httpx

from bench.accounts import log_in

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ReanalysisFigures:
    seconds: float  # from the request to the analysis done
    windows: int
    status: str  # done, or failed (with the error)


async def latest_ecg(database_url: str, email: str) -> str:
    """The id of the user's newest ECG (part 4's Holter)."""
    connection = await asyncpg.connect(database_url)
    try:
        found = await connection.fetchval(
            """
            SELECT e.id FROM ecgs e JOIN users u ON u.id = e.owner_id
            WHERE u.email = $1 ORDER BY e.created_at DESC LIMIT 1
            """,
            email,
        )
    finally:
        await connection.close()
    return str(found)


async def time_reanalysis(
    gateway_url: str, database_url: str, email: str, password: str
) -> ReanalysisFigures:
    ecg_id = await latest_ecg(database_url, email)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        headers = await log_in(client, email, password)
        started = time.perf_counter()
        asked = await client.post(f"/api/v1/ecg/{ecg_id}/analyses", headers=headers)
        asked.raise_for_status()
        revision = asked.json()["revision"]
        while True:
            listed = await client.get(f"/api/v1/ecg/{ecg_id}/analyses", headers=headers)
            listed.raise_for_status()
            (analysis,) = [a for a in listed.json()["analyses"] if a["revision"] == revision]
            if analysis["status"] != "requested":
                break
            await asyncio.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        lookup = await client.get(f"/api/v1/ecg/{ecg_id}", headers=headers)
        lookup.raise_for_status()
    status = analysis["status"] if analysis["error"] is None else f"failed: {analysis['error']}"
    return ReanalysisFigures(seconds, lookup.json()["windows"]["count"], status)
