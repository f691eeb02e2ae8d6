"""The pure parts of ``ecg simulate``: schedule, chunk bounds, latencies, the checks of
a lookup, the progress line and the closing report."""

from __future__ import annotations

import json

import pytest

from client.report import (
    Progress,
    Report,
    chunk_bounds,
    expected_windows,
    latency_ms,
    lookup_problem,
    progress_line,
    render_report,
    report_dict,
    retry_delay,
    send_time,
    triggering_chunk,
    window_latencies,
)


def test_deadlines_are_absolute_and_devices_share_out_the_first_period() -> None:
    times = [[send_time(100.0, 1.0, seq, device, 4) for seq in range(3)] for device in range(4)]
    assert times[0] == [100.0, 101.0, 102.0]
    assert [row[0] for row in times] == [100.0, 100.25, 100.5, 100.75]
    assert times[3][2] == pytest.approx(102.75)  # no drift: seq * period, not a sum of sleeps


def test_at_full_speed_every_chunk_is_due_at_once() -> None:
    assert {send_time(7.0, 0.0, seq, device, 3) for seq in range(5) for device in range(3)} == {7.0}


def test_chunk_bounds_cover_the_samples_once() -> None:
    assert chunk_bounds(1000, 360) == [(0, 360), (360, 720), (720, 1000)]
    assert chunk_bounds(720, 360) == [(0, 360), (360, 720)]
    assert chunk_bounds(5, 360) == [(0, 5)]
    with pytest.raises(ValueError, match="positive"):
        chunk_bounds(10, 0)


def test_a_window_is_triggered_by_the_chunk_with_its_last_sample_or_by_the_end() -> None:
    assert triggering_chunk(3600, 43_200, 360) == 9  # samples 3240..3599 came in chunk 9
    assert triggering_chunk(3601, 43_200, 360) == 10
    assert triggering_chunk(43_200, 43_200, 360) is None  # the last window: closed by the end


def test_window_latency_counts_from_the_triggering_ack() -> None:
    acks = [10.0, 11.0, 12.0, 13.0]  # chunks of 100 samples, 400 in all
    arrivals = [(200, 12.5), (400, 14.0)]
    assert window_latencies(arrivals, acks, 13.25, 400, 100) == pytest.approx([1.5, 0.75])


def test_expected_windows_include_the_partial_last_one() -> None:
    assert expected_windows(3600, 3600) == 1
    assert expected_windows(3601, 3600) == 2
    assert expected_windows(43_200, 3600) == 12


def test_retries_follow_retry_after_else_back_off_up_to_5_s() -> None:
    assert retry_delay(1, 5.0) == 5.0
    assert [retry_delay(n) for n in range(1, 8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_latencies_are_percentiles_in_milliseconds() -> None:
    seconds = [i / 1000 for i in range(1, 101)]  # 1 ... 100 ms
    figures = latency_ms(seconds, (50, 90, 99))
    assert figures == {"p50": 50.5, "p90": 90.1, "p99": 99.0, "max": 100.0}
    assert latency_ms([], (50, 99)) is None


def lookup(
    status: str = "done", samples: tuple[int, ...] = (7200, 7200), windows: int = 2
) -> dict[str, object]:
    return {
        "status": status,
        "leads": [{"name": f"L{i}", "number_of_samples": n} for i, n in enumerate(samples)],
        "windows": {"count": windows, "href": "/x"},
    }


def test_a_complete_lookup_passes() -> None:
    assert lookup_problem(lookup(), 7200, 3600) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (lookup(status="processing"), "'processing', not 'done'"),
        (lookup(status="failed"), "'failed'"),
        (lookup(samples=(7200, 7199)), "[7200, 7199] samples; 7200 each were sent"),
        (lookup(samples=()), "[] samples"),
        (lookup(windows=1), "1 windows; 7200 samples make 2 of 3600"),
    ],
)
def test_a_lookup_that_lost_something_says_what(body: dict[str, object], problem: str) -> None:
    found = lookup_problem(body, 7200, 3600)
    assert found is not None
    assert problem in found


def test_the_progress_line() -> None:
    line = progress_line(Progress(12.0, 120.0, 600, 6000, 86_400, 1, 0, 0))
    assert line == "12.0/120 s · chunks 600/6000 (10%) · 7,200 samples/s · retries 1 · gaps 0"
    at_full_speed = progress_line(Progress(2.0, None, 10, 10, 100, 0, 0, 2))
    assert at_full_speed.startswith("2.0 s · chunks 10/10 (100%)")
    assert at_full_speed.endswith("FAILED devices 2")


def report(**changes: object) -> Report:
    fields: dict[str, object] = {
        "transport": "http",
        "record": "100",
        "leads": ("MLII", "V5"),
        "sampling_rate": 360.0,
        "devices": 3,
        "speed": 1.0,
        "chunk_samples": 360,
        "seconds": 20.4,
        "samples_per_lead": 7200,
        "samples_total": 43_200,
        "samples_per_second": 2117.6,
        "chunks": 60,
        "retries": 0,
        "gaps": 0,
        "late_chunks": 0,
        "max_lag_ms": 3.2,
        "ack_latency_ms": {"p50": 4.0, "p90": 6.0, "p99": 9.5, "max": 12.0},
        "window_latency_ms": {"p50": 900.0, "p99": 1100.0, "max": 1200.0},
        "windows_seen": 6,
        "window_note": None,
        "verified": 3,
    }
    fields.update(changes)
    return Report(**fields)  # type: ignore[arg-type]


def test_the_report_reads_as_a_table() -> None:
    text = render_report(report())
    assert "3 x 100 (MLII, V5 at 360 Hz), real time, http" in text
    assert "7,200 per lead per device, 43,200 in all" in text
    assert "2,118 samples/s" in text
    assert "60 of 360 samples per lead (retries 0, gaps 0)" in text
    assert "p50 4.0 ms, p90 6.0 ms, p99 9.5 ms, max 12.0 ms" in text
    assert "p50 900.0 ms, p99 1,100.0 ms, max 1,200.0 ms (6 windows)" in text
    assert "0 chunks late, max lag 3 ms" in text
    assert "3/3" in text
    assert text.splitlines()[-1].endswith("OK")


def test_a_report_without_kafka_says_why_and_is_still_ok() -> None:
    without = report(window_latency_ms=None, windows_seen=0, window_note="Kafka is unreachable")
    assert without.ok
    assert "not measured: Kafka is unreachable" in render_report(without)


@pytest.mark.parametrize(
    "changes",
    [{"gaps": 1}, {"verified": 2}, {"failures": ("device 1 (ECG x): refused: 422 bad",)}],
)
def test_a_gap_a_failure_or_an_unverified_lookup_fails_the_run(changes: dict[str, object]) -> None:
    failed = report(**changes)
    assert not failed.ok
    assert "result            FAILED" in render_report(failed).splitlines()


def test_the_json_report_carries_every_figure_and_the_verdict() -> None:
    data = json.loads(json.dumps(report_dict(report(speed=0.0, late_chunks=None, max_lag_ms=None))))
    assert data["ok"] is True
    assert data["ack_latency_ms"]["p99"] == 9.5
    assert data["window_latency_ms"]["p50"] == 900.0
    assert data["leads"] == ["MLII", "V5"]
    assert data["failures"] == []
    assert "as fast as acks allow" in render_report(report(speed=0.0, late_chunks=None))
