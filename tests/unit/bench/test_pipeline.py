"""What parts 1, 2 and 4 send: 12-lead 500 Hz devices and the Holter, and the very
messages the gateway publishes for them, which the raw-Kafka reference sends again."""

from __future__ import annotations

from bench.pipeline import Stack, holter_options, published_chunks, twelve_lead_options
from client.simulation import make_plan
from schemas.codec import Schema, decode, decode_samples

STACK = Stack("http://127.0.0.1:1", "127.0.0.1:2", "", 10.0, "u@example.org", "pw")


def test_twelve_lead_devices_in_binary_chunks_over_websocket() -> None:
    options = twelve_lead_options(STACK, 3, 120.0, 1.0)
    plan = make_plan(options)
    assert (options.transport, options.chunk_format) == ("ws", "binary")
    assert len(plan.leads) == 12
    assert plan.sampling_rate == 500
    assert plan.chunk_samples == 500
    assert plan.total_samples == 60_000
    assert options.kafka_bootstrap == STACK.kafka_bootstrap  # the window latency
    assert twelve_lead_options(STACK, 3, 120.0, 0.0).kafka_bootstrap is None


def test_the_holter_is_24_hours_of_record_100_in_60_s_chunks() -> None:
    plan = make_plan(holter_options(STACK, 24.0))
    assert plan.leads == ("MLII", "V5")
    assert plan.total_samples == 24 * 3600 * 360
    assert plan.chunk_samples == 60 * 360
    assert len(plan.bounds) == 24 * 60
    assert plan.period == 0


def test_the_published_messages_are_the_gateways_chunks_device_by_device() -> None:
    options = twelve_lead_options(STACK, 2, 3.0, 0.0)
    messages = published_chunks(options)
    assert len(messages) == 2 * 3
    decoded = [decode(Schema.SAMPLE_CHUNK, message) for message in messages]
    assert [m["seq"] for m in decoded] == [0, 0, 1, 1, 2, 2]
    assert decoded[0]["ecg_id"] != decoded[1]["ecg_id"]
    assert decoded[2]["ecg_id"] == decoded[0]["ecg_id"]
    assert [m["start_sample"] for m in decoded[::2]] == [0, 500, 1000]
    leads = decode_samples(decoded[0]["samples"], decoded[0]["sample_width"])
    assert [lead.size for lead in leads] == [500] * 12
    assert all(11_000 < len(message) < 13_000 for message in messages)  # ~12 x 500 x 2 bytes
