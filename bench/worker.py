"""``python -m bench.worker``: the windows agent's CPU per chunk, one worker alone.

Publishes ``--ecgs`` 12-lead 500 Hz ECGs of ``--chunks`` 1-s chunks (PTB s0010, as
``make bench``, each ECG from its own offset, the chunks in time order across ECGs as
devices send them) to the samples topic of namespace of its own, starts one worker
(``python -m streams worker``, from ``--code``: another checkout to compare with) and
reads the worker process's CPU time, user + system, from its ready to the last final
summary in PostgreSQL: the windows agent and the sink, everything but the start.
``--rate 0`` publishes every chunk before the worker starts (as fast as the worker
goes); otherwise at ``--rate`` chunks per second while it runs. Needs the services of
``make up`` (``. .run/env``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.core import TWELVE_LEAD, looped
from bench.machine import commit, load
from bench.processes import cpu_seconds
from client.resampling import resample_record
from client.wfdb import read_record
from schemas import topics
from schemas.codec import Schema, encode, encode_samples
from streams.settings import Settings
from streams.topics import create_topics

RATE = 500


async def add_ecg_rows(database_url: str, ecgs: Sequence[uuid.UUID]) -> None:
    """The ECGs' rows, as the gateway writes them before it publishes: the worker
    dead-letters the chunks of an ECG that PostgreSQL does not know."""
    db = await asyncpg.connect(database_url)
    try:
        await db.executemany(
            "INSERT INTO ecgs (id, date, sampling_rate, status) VALUES ($1, $2, 500, 'processing')",
            [(ecg_id, datetime(2024, 5, 1, tzinfo=UTC)) for ecg_id in ecgs],
        )
    finally:
        await db.close()


def sample_chunks(ecgs: Sequence[uuid.UUID], chunks: int) -> list[tuple[bytes, bytes]]:
    """``(key, value)`` of every chunk, chunk ``k`` of every ECG before chunk ``k + 1``."""
    record = resample_record(read_record(TWELVE_LEAD), float(RATE), 12)
    signals = looped(record, chunks + len(ecgs) + 1)
    leads = [{"name": name} for name in record.lead_names]
    messages = []
    for k in range(chunks):
        for i, ecg_id in enumerate(ecgs):
            start = (i + k) * RATE
            width, samples = encode_samples(list(signals[:, start : start + RATE]))
            chunk = {
                "ecg_id": ecg_id,
                "seq": k,
                "start_sample": k * RATE,
                "final": k == chunks - 1,
                "date": datetime(2024, 5, 1, tzinfo=UTC),
                "sampling_rate": float(RATE),
                "leads": leads,
                "sample_width": width,
                "samples": samples,
            }
            messages.append((str(ecg_id).encode(), encode(Schema.SAMPLE_CHUNK, chunk)))
    return messages


async def publish(settings: Settings, messages: Sequence[tuple[bytes, bytes]], rate: float) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        started, sent = time.monotonic(), []
        for i, (key, value) in enumerate(messages):
            if rate and (ahead := started + i / rate - time.monotonic()) > 0:
                await asyncio.sleep(ahead)
            sent.append(await producer.send(settings.topic(topics.SAMPLES), value, key=key))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def measure(ecg_count: int, chunks: int, rate: float, code: Path) -> str:
    namespace = f"bench-worker-{uuid.uuid4().hex[:8]}."
    settings = Settings(
        kafka_bootstrap=os.environ["ECG_KAFKA_BOOTSTRAP"],
        database_url=os.environ["ECG_DATABASE_URL"],
        app_id=namespace.rstrip("."),
        topic_namespace=namespace,
    )
    await create_topics(settings)
    ecgs = [uuid.uuid4() for _ in range(ecg_count)]
    await add_ecg_rows(settings.database_url, ecgs)
    messages = sample_chunks(ecgs, chunks)
    if not rate:
        await publish(settings, messages, 0)
    directory = Path(tempfile.mkdtemp(prefix=namespace))
    log = directory / "worker.log"
    env = os.environ | {
        "ECG_STREAMS_APP_ID": settings.app_id,
        "ECG_TOPIC_NAMESPACE": namespace,
        "ECG_STREAMS_DATA_DIR": str(directory),
    }
    with log.open("wb") as out:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streams",
            "worker",
            "-l",
            "info",
            cwd=code,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    db = await asyncpg.connect(settings.database_url)
    try:

        async def ready() -> bool:
            return "Ready" in log.read_text() or worker.returncode is not None

        async def done() -> bool:
            final = "SELECT count(*) FROM ecg_summaries WHERE final AND ecg_id = ANY($1::uuid[])"
            return bool(await db.fetchval(final, ecgs) == ecg_count)

        await until(ready, 120)
        cpu, started = cpu_seconds(worker.pid), time.monotonic()
        sending = asyncio.create_task(publish(settings, messages, rate)) if rate else None
        await until(done, 900)
        cpu, seconds = cpu_seconds(worker.pid) - cpu, time.monotonic() - started
        if sending is not None:
            await sending
    finally:
        await db.close()
        worker.terminate()
        await worker.wait()
    return (
        f"{len(messages):,} chunks ({ecg_count} ECGs x {chunks}), "
        f"{'published first' if not rate else f'{rate:g} chunks/s'}: worker CPU {cpu:.1f} s "
        f"in {seconds:.1f} s, {1000 * cpu / len(messages):.2f} ms per chunk "
        f"(worker code at {commit_of(code)}; load {' / '.join(f'{x:.2f}' for x in load())})"
    )


async def until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


def commit_of(code: Path) -> str:
    return commit() if code.resolve() == Path.cwd().resolve() else str(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecgs", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=30)
    parser.add_argument("--rate", type=float, default=0.0, help="chunks/s; 0: all first")
    parser.add_argument("--code", type=Path, default=Path.cwd(), help="the worker's checkout")
    args = parser.parse_args()
    print(asyncio.run(measure(args.ecgs, args.chunks, args.rate, args.code)))


if __name__ == "__main__":
    main()
