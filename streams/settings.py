"""Stream-worker settings, read once from the environment."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    database_url: str = field(repr=False)
    app_id: str = "ecg-pipeline"
    # Prepended to every topic name: lets a test (or a second pipeline on the same
    # cluster) run its own topics side by side with the standard ones.
    topic_namespace: str = ""
    topic_partitions: int = 4
    topic_replication: int = 1
    window_seconds: float = 10.0
    window_samples_without_rate: int = 5000
    # How long a worker that died silently keeps its partitions before the group
    # hands them to the others (Faust's default is 60 s).
    session_timeout_seconds: float = 10.0
    # How far back (in messages of the partition) to look for an ECG's first
    # chunks when a later one arrives before them and nothing was applied yet.
    backfill_lookback: int = 100_000
    # A stream that takes no chunk for this long is closed as 'incomplete' (streams.idle);
    # the leader worker looks for such streams every stream_idle_check_seconds.
    stream_idle_seconds: float = 300.0
    stream_idle_check_seconds: float = 15.0
    # The windows agent writes an ECG's state to its table when a chunk closed a window
    # or ended the ECG, and at the latest this long after the first chunk it has not
    # written: longer than a window at real time (10 s), so that a live stream is
    # written once a window; it bounds what a restarted worker reads again.
    checkpoint_seconds: float = 12.0
    # A worker whose batch's oldest chunk waited longer than this is behind: it sends
    # window results first and defers provisional summaries, window checkpoints and the
    # sink's writes (streams.windows) until it has caught up; checkpoints at most 1.5 x
    # checkpoint_seconds (streams.checkpoints). When it keeps up, its chunks wait up to
    # windows_batch_seconds and a batch's work.
    behind_seconds: float = 0.25
    # The windows agent's batches: up to this many chunks, or what arrived within.
    windows_batch_size: int = 500
    windows_batch_seconds: float = 0.05
    # The events that may wait in memory for an agent (streams.app says why so many).
    stream_buffer_events: int = 16_384
    # The producer's batch per partition (results and checkpoints): a 12-lead ECG's
    # state is ~13 KiB; the broker takes batches up to 1 MiB.
    producer_batch_bytes: int = 512 * 1024
    sink_batch_size: int = 500
    sink_batch_seconds: float = 0.2
    data_dir: Path = Path(tempfile.gettempdir()) / "ecg-streams"
    # The worker's HTTP endpoints (streams.web): loopback unless said otherwise; port 0
    # takes any free port (the log says which), so that workers side by side never clash.
    web_host: str = "127.0.0.1"
    web_port: int = 0
    # How long /readyz waits for each of Kafka and PostgreSQL to answer.
    readiness_timeout_seconds: float = 2.0
    # How long Kafka keeps the samples topic's messages (retention.ms when the topic is
    # created; Kafka's own default, 7 days). Every sample is kept in PostgreSQL too
    # (streams.archive): the topic needs them only until every consumer has read them.
    samples_retention_hours: float = 168.0
    # Whether this worker runs the sample archive (streams.archive).
    sample_archive: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            bootstrap = env["ECG_KAFKA_BOOTSTRAP"]
            database_url = env["ECG_DATABASE_URL"]
        except KeyError as missing:
            raise SettingsError(f"{missing.args[0]} must be set") from None
        default = cls(kafka_bootstrap=bootstrap, database_url=database_url)
        try:
            return cls(
                kafka_bootstrap=bootstrap,
                database_url=database_url,
                app_id=env.get("ECG_STREAMS_APP_ID", default.app_id),
                topic_namespace=env.get("ECG_TOPIC_NAMESPACE", default.topic_namespace),
                topic_partitions=int(env.get("ECG_TOPIC_PARTITIONS", default.topic_partitions)),
                topic_replication=int(env.get("ECG_TOPIC_REPLICATION", default.topic_replication)),
                window_seconds=float(env.get("ECG_WINDOW_SECONDS", default.window_seconds)),
                window_samples_without_rate=int(
                    env.get("ECG_WINDOW_SAMPLES_WITHOUT_RATE", default.window_samples_without_rate)
                ),
                session_timeout_seconds=float(
                    env.get("ECG_STREAMS_SESSION_TIMEOUT_SECONDS", default.session_timeout_seconds)
                ),
                stream_idle_seconds=_positive(
                    env.get("ECG_STREAM_IDLE_SECONDS", default.stream_idle_seconds),
                    "ECG_STREAM_IDLE_SECONDS",
                ),
                stream_idle_check_seconds=_positive(
                    env.get("ECG_STREAM_IDLE_CHECK_SECONDS", default.stream_idle_check_seconds),
                    "ECG_STREAM_IDLE_CHECK_SECONDS",
                ),
                checkpoint_seconds=_positive(
                    env.get("ECG_STREAMS_CHECKPOINT_SECONDS", default.checkpoint_seconds),
                    "ECG_STREAMS_CHECKPOINT_SECONDS",
                ),
                behind_seconds=_positive(
                    env.get("ECG_STREAMS_BEHIND_SECONDS", default.behind_seconds),
                    "ECG_STREAMS_BEHIND_SECONDS",
                ),
                windows_batch_size=int(
                    env.get("ECG_WINDOWS_BATCH_SIZE", default.windows_batch_size)
                ),
                windows_batch_seconds=_positive(
                    env.get("ECG_WINDOWS_BATCH_SECONDS", default.windows_batch_seconds),
                    "ECG_WINDOWS_BATCH_SECONDS",
                ),
                stream_buffer_events=int(
                    env.get("ECG_STREAM_BUFFER_EVENTS", default.stream_buffer_events)
                ),
                sink_batch_size=int(env.get("ECG_SINK_BATCH_SIZE", default.sink_batch_size)),
                sink_batch_seconds=float(
                    env.get("ECG_SINK_BATCH_SECONDS", default.sink_batch_seconds)
                ),
                data_dir=Path(env.get("ECG_STREAMS_DATA_DIR", str(default.data_dir))),
                web_host=env.get("ECG_WORKER_WEB_HOST", default.web_host),
                web_port=_port(env.get("ECG_WORKER_WEB_PORT", str(default.web_port))),
                readiness_timeout_seconds=_positive(
                    env.get(
                        "ECG_WORKER_READINESS_TIMEOUT_SECONDS", default.readiness_timeout_seconds
                    ),
                    "ECG_WORKER_READINESS_TIMEOUT_SECONDS",
                ),
                sample_archive=_switch(env.get("ECG_SAMPLE_ARCHIVE", "on"), "ECG_SAMPLE_ARCHIVE"),
                samples_retention_hours=_positive(
                    env.get("ECG_SAMPLES_RETENTION_HOURS", default.samples_retention_hours),
                    "ECG_SAMPLES_RETENTION_HOURS",
                ),
            )
        except ValueError as exc:
            raise SettingsError(f"invalid stream-worker setting: {exc}") from None

    def topic(self, name: str) -> str:
        """The name this pipeline uses for one of the topics of ``schemas.topics``."""
        return self.topic_namespace + name

    def window_samples(self, sampling_rate: float | None) -> int:
        """Samples per analysis window: ``window_seconds`` of samples, or a fixed
        count when the ECG has no sampling rate."""
        if sampling_rate is None:
            return self.window_samples_without_rate
        return max(1, round(self.window_seconds * sampling_rate))


def _switch(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value not in ("on", "off"):
        raise SettingsError(f"{name} must be on or off, got {text!r}")
    return value == "on"


def _positive(text: str | float, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a number of seconds above 0, got {text!r}")
    return value


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"ECG_WORKER_WEB_PORT must be a port (0: any free one), got {text!r}")
    return port
