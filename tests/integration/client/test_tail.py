"""``ecg tail`` as an operator runs it: the installed console command against the real
Kafka, on result topics of this test's own (``--namespace``, as a second pipeline on
the same cluster would use), so the pipeline's sink never sees these events."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from schemas import topics
from schemas.codec import Schema, encode
from streams.sink import to_json
from tests.kafka import create_topics
from tests.results import analysed_ecg

ECG = Path(sys.executable).parent / "ecg"


@pytest.fixture
async def namespace(kafka_bootstrap: str) -> str:
    prefix = f"test-tail-{uuid.uuid4().hex[:10]}."
    await create_topics(kafka_bootstrap, [prefix + topics.WINDOWS, prefix + topics.SUMMARIES], 3)
    return prefix


async def publish(
    producer: AIOKafkaProducer, topic: str, schema: Schema, record: dict[str, Any]
) -> None:
    await producer.send_and_wait(topic, encode(schema, record), key=str(record["ecg_id"]).encode())


async def start_tail(bootstrap: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        ECG,
        "tail",
        "--bootstrap",
        bootstrap,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(tail: asyncio.subprocess.Process) -> tuple[int, list[Any], str]:
    """Its exit code, the JSON lines it printed and its stderr."""
    async with asyncio.timeout(60):
        out, err = await tail.communicate()
    assert tail.returncode is not None
    return tail.returncode, [json.loads(line) for line in out.splitlines()], err.decode()


async def test_prints_one_ecgs_results_decoded_from_the_beginning(
    kafka_bootstrap: str, namespace: str, producer: AIOKafkaProducer
) -> None:
    ecg_id = uuid.uuid4()
    windows, summary = analysed_ecg(ecg_id)
    other_windows, _ = analysed_ecg(uuid.uuid4(), seconds=10.0)
    await publish(producer, namespace + topics.WINDOWS, Schema.WINDOW_RESULT, other_windows[0])
    await publish(producer, namespace + topics.WINDOWS, Schema.WINDOW_RESULT, windows[1])
    await publish(producer, namespace + topics.SUMMARIES, Schema.ECG_SUMMARY, summary)

    tail = await start_tail(
        kafka_bootstrap,
        *("--namespace", namespace, "--from-beginning", "--ecg", str(ecg_id)),
        *("--max-messages", "2", "--timeout", "30"),
    )
    code, events, err = await finish(tail)

    assert code == 0, err
    by_topic = {event["topic"]: event for event in events}
    assert sorted(by_topic) == [namespace + topics.SUMMARIES, namespace + topics.WINDOWS]
    window, ecg = by_topic[namespace + topics.WINDOWS], by_topic[namespace + topics.SUMMARIES]
    assert window["key"] == ecg["key"] == str(ecg_id)
    assert window["offset"] >= 0
    assert window["value"] == json.loads(to_json(windows[1]))
    assert window["value"]["index"] == 1
    assert ecg["value"] == json.loads(to_json(summary))
    assert ecg["value"]["date"] == "2024-05-01T10:00:00Z"
    assert ecg["value"]["n_windows"] == len(windows) == 3


async def test_by_default_prints_only_new_events(
    kafka_bootstrap: str, namespace: str, producer: AIOKafkaProducer
) -> None:
    windows, _ = analysed_ecg(uuid.uuid4())
    await publish(producer, namespace + topics.WINDOWS, Schema.WINDOW_RESULT, windows[0])

    tail = await start_tail(
        kafka_bootstrap,
        *("--namespace", namespace, "--topic", "windows", "--max-messages", "1"),
        *("--timeout", "30"),
    )
    assert tail.stderr is not None
    async with asyncio.timeout(30):
        ready = await tail.stderr.readline()  # every start offset is resolved
    assert b"from now" in ready
    await publish(producer, namespace + topics.WINDOWS, Schema.WINDOW_RESULT, windows[2])
    code, events, err = await finish(tail)

    assert code == 0, err
    assert [event["value"]["index"] for event in events] == [2]


async def test_stops_when_nothing_arrives_for_the_timeout(
    kafka_bootstrap: str, namespace: str
) -> None:
    tail = await start_tail(kafka_bootstrap, "--namespace", namespace, "--timeout", "1")
    code, events, err = await finish(tail)
    assert (code, events) == (0, [])
    assert "Traceback" not in err


async def test_a_missing_topic_is_a_one_line_error(kafka_bootstrap: str) -> None:
    tail = await start_tail(kafka_bootstrap, "--namespace", f"test-none-{uuid.uuid4().hex}.")
    code, events, err = await finish(tail)
    assert (code, events) == (1, [])
    assert err.startswith("ecg tail: no topic test-none-")
    assert len(err.splitlines()) == 1


async def test_without_kafka_it_says_so_in_one_line(closed_port: int) -> None:
    tail = await start_tail(f"127.0.0.1:{closed_port}", "--from-beginning")
    code, events, err = await finish(tail)
    assert (code, events) == (1, [])
    assert err == f"ecg tail: Kafka at 127.0.0.1:{closed_port} is unreachable\n"
