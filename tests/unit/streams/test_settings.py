"""The stream worker's settings from the environment."""

from __future__ import annotations

import pytest

from streams.settings import Settings, SettingsError

SERVICES = {"ECG_KAFKA_BOOTSTRAP": "kafka:9092", "ECG_DATABASE_URL": "postgresql://x@db/ecg"}


def test_the_idle_timeout_has_defaults_and_can_be_set() -> None:
    default = Settings.from_env(SERVICES)
    assert (default.stream_idle_seconds, default.stream_idle_check_seconds) == (300.0, 15.0)
    settings = Settings.from_env(
        {**SERVICES, "ECG_STREAM_IDLE_SECONDS": "60", "ECG_STREAM_IDLE_CHECK_SECONDS": "0.5"}
    )
    assert (settings.stream_idle_seconds, settings.stream_idle_check_seconds) == (60.0, 0.5)


@pytest.mark.parametrize("name", ["ECG_STREAM_IDLE_SECONDS", "ECG_STREAM_IDLE_CHECK_SECONDS"])
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_an_idle_setting_must_be_a_positive_number_of_seconds(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} must be a number of seconds above 0"):
        Settings.from_env({**SERVICES, name: value})


def test_the_services_are_required() -> None:
    with pytest.raises(SettingsError, match="ECG_DATABASE_URL must be set"):
        Settings.from_env({"ECG_KAFKA_BOOTSTRAP": "kafka:9092"})


def test_the_checkpoints_and_batches_of_the_windows_agent_have_defaults_and_can_be_set() -> None:
    default = Settings.from_env(SERVICES)
    assert default.checkpoint_seconds > default.window_seconds  # once a window, live
    assert (default.windows_batch_size, default.windows_batch_seconds) == (500, 0.05)
    settings = Settings.from_env(
        {
            **SERVICES,
            "ECG_STREAMS_CHECKPOINT_SECONDS": "3600",
            "ECG_WINDOWS_BATCH_SIZE": "20",
            "ECG_WINDOWS_BATCH_SECONDS": "0.5",
        }
    )
    assert settings.checkpoint_seconds == 3600.0
    assert (settings.windows_batch_size, settings.windows_batch_seconds) == (20, 0.5)


def test_how_late_a_batch_may_be_before_the_worker_counts_as_behind_can_be_set() -> None:
    default = Settings.from_env(SERVICES)
    # Above what a batch waits when the worker keeps up.
    assert default.behind_seconds > 2 * default.windows_batch_seconds
    settings = Settings.from_env({**SERVICES, "ECG_STREAMS_BEHIND_SECONDS": "1.5"})
    assert settings.behind_seconds == 1.5
    with pytest.raises(SettingsError, match="ECG_STREAMS_BEHIND_SECONDS must be a number"):
        Settings.from_env({**SERVICES, "ECG_STREAMS_BEHIND_SECONDS": "0"})


def test_the_events_waiting_in_memory_for_an_agent_outlast_a_burst_and_can_be_set() -> None:
    default = Settings.from_env(SERVICES)
    assert default.stream_buffer_events == 16_384  # Faust's 4,096 paused a partition
    settings = Settings.from_env({**SERVICES, "ECG_STREAM_BUFFER_EVENTS": "8192"})
    assert settings.stream_buffer_events == 8192


@pytest.mark.parametrize("value", ["0", "-1", "nan", "later"])
def test_the_checkpoint_interval_must_be_a_positive_number_of_seconds(value: str) -> None:
    with pytest.raises(SettingsError, match="ECG_STREAMS_CHECKPOINT_SECONDS must be a number"):
        Settings.from_env({**SERVICES, "ECG_STREAMS_CHECKPOINT_SECONDS": value})


def test_the_http_endpoints_are_on_loopback_and_any_free_port_by_default() -> None:
    default = Settings.from_env(SERVICES)
    assert (default.web_host, default.web_port) == ("127.0.0.1", 0)
    settings = Settings.from_env(
        {**SERVICES, "ECG_WORKER_WEB_HOST": "::1", "ECG_WORKER_WEB_PORT": "6066"}
    )
    assert (settings.web_host, settings.web_port) == ("::1", 6066)


@pytest.mark.parametrize("value", ["-1", "65536", "http"])
def test_the_http_port_must_be_a_port(value: str) -> None:
    with pytest.raises(SettingsError, match="invalid stream-worker setting"):
        Settings.from_env({**SERVICES, "ECG_WORKER_WEB_PORT": value})
