"""The worker's Kafka transport: Faust's, with fetches answered without a long wait."""

from __future__ import annotations

from pathlib import Path

from streams.app import create_app
from streams.settings import Settings
from streams.transport import Transport

SERVICES = {"ECG_KAFKA_BOOTSTRAP": "kafka:9092", "ECG_DATABASE_URL": "postgresql://x@db/ecg"}


def test_the_worker_consumes_through_the_transport(tmp_path: Path) -> None:
    settings = Settings.from_env({**SERVICES, "ECG_STREAMS_DATA_DIR": str(tmp_path)})
    app = create_app(settings)
    assert isinstance(app.transport, Transport)
    assert app.transport.Consumer is Transport.Consumer
