"""What the local stack records of its workers' endpoints."""

from __future__ import annotations

from infra.stack import worker_urls


def test_the_workers_urls_come_in_the_order_of_their_numbers() -> None:
    ports = {"postgres": 5000, "kafka": 5001, "worker-2": 5003, "worker-10": 5004, "worker-1": 5002}
    assert worker_urls(ports) == [
        "http://127.0.0.1:5002",
        "http://127.0.0.1:5003",
        "http://127.0.0.1:5004",
    ]
    assert worker_urls({"postgres": 5000}) == []
