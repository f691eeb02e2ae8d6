"""The Grafana dashboard (infra/monitoring) asks only for metrics that the gateway and
the worker serve: a renamed metric fails here, not as an empty panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import prometheus_client

import gateway.observability  # noqa: F401 (registers the gateway's metrics)
from streams.metrics import WorkerCollector, WorkerMetrics

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "infra" / "monitoring" / "grafana" / "dashboards" / "ecg-pipeline.json"
METRIC = re.compile(r"\b(ecg_(?:gateway|worker)_[a-z_]+)")


SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
}


def served() -> set[str]:
    """The sample names of every metric family, whether or not it has samples yet."""
    worker = WorkerMetrics()
    worker.registry.register(WorkerCollector(lambda: [], lambda: 0, lambda: 0))
    names = set()
    for registry in (prometheus_client.REGISTRY, worker.registry):
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def test_every_panel_queries_served_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }
    assert len(queried) >= 15
    assert queried <= served(), queried - served()


def test_the_dashboard_covers_both_processes() -> None:
    titles = [panel["title"] for panel in json.loads(DASHBOARD.read_text())["panels"]]
    assert any(title.startswith("Gateway") for title in titles)
    assert any("consumer lag" in title for title in titles)
