"""Prometheus metrics: every metric kefu exports is defined here, once (docs/operations.md "Metrics";
docs/grafana-dashboard.json uses exactly these names, tests/core/test_metrics.py checks both).

Two kinds:
- **counted** — counters, histograms and the socket gauge below, updated where the thing happens
  (the request middleware, the job runner, message ingest, the bot, the SLA sweep, the sockets). With
  several processes (`kefu serve --workers N`, `kefu worker` on the same host) each process writes its
  values to files in `PROMETHEUS_MULTIPROC_DIR` and `/metrics` adds them up (prometheus-client's
  multiprocess mode; `kefu serve --workers N` creates the directory when it is not set).
- **read at scrape** — queue depth and lag, listener lag: facts of the shared database and Redis, read by
  the answering process when `/metrics` is scraped (`Snapshot`), so every node reports the same truth.

Label values are bounded: route *templates* (never raw paths), job names, channel types, bot actions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
disable_created_metrics()  # no `*_created` series: counters' start times are noise on a dashboard

HTTP_REQUESTS = Counter(
    "kefu_http_requests_total", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "kefu_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
SOCKETS_OPEN = Gauge(
    "kefu_sockets_open", "WebSocket connections open now, by kind", ["kind"], multiprocess_mode="livesum"
)
SOCKETS_SHED = Counter("kefu_sockets_shed_total", "WebSockets refused with 1013 (try again later), by kind", ["kind"])
MESSAGES_RECEIVED = Counter(
    "kefu_messages_received_total", "Customer messages received and stored, by channel", ["channel"]
)
BOT_DECISIONS = Counter("kefu_bot_decisions_total", "Bot turns, by outcome (the policy's action)", ["outcome"])
BOT_LATENCY = Histogram(
    "kefu_bot_decision_duration_seconds",
    "Time from a customer message to the bot's decision being written, by outcome",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
JOBS = Counter("kefu_jobs_total", "Background jobs run, by job and status (ok | failed)", ["job", "status"])
JOB_LATENCY = Histogram(
    "kefu_job_duration_seconds", "Time a background job ran, by job", ["job"], buckets=LATENCY_BUCKETS
)
INGEST_BATCH = Histogram(
    "kefu_ingest_batch_size", "Customer messages stored per group-commit batch", buckets=BATCH_BUCKETS
)
SLA_BREACHES = Counter("kefu_sla_breaches_total", "SLA clocks that passed their due time, by metric", ["metric"])

# Read at scrape time (Snapshot): name → help, labels.
QUEUE_DEPTH = ("kefu_job_queue_depth", "Jobs due and not finished in the job queue")
QUEUE_LAG = ("kefu_job_queue_lag_seconds", "How long the oldest due job has waited (0 when none)")
LISTENER_LAG_EVENTS = ("kefu_listener_lag_events", "Events in the log after the listener's cursor, by listener")
LISTENER_LAG = ("kefu_listener_lag_seconds", "Age of the oldest event the listener has not handled, by listener")
SCRAPE_ERRORS = ("kefu_metrics_read_errors", "Scrape-time readings that failed this scrape, by source")

COUNTED = (
    HTTP_REQUESTS,
    HTTP_LATENCY,
    SOCKETS_OPEN,
    SOCKETS_SHED,
    MESSAGES_RECEIVED,
    BOT_DECISIONS,
    BOT_LATENCY,
    JOBS,
    JOB_LATENCY,
    INGEST_BATCH,
    SLA_BREACHES,
)
READ_AT_SCRAPE = (QUEUE_DEPTH, QUEUE_LAG, LISTENER_LAG_EVENTS, LISTENER_LAG, SCRAPE_ERRORS)


def metric_names() -> set[str]:
    """Every family name /metrics exports (without the _total/_bucket/… sample suffixes)."""
    names = {m._name for m in COUNTED}  # prometheus-client strips "_total" from a counter's family name
    return names | {name for name, _ in READ_AT_SCRAPE}


# ---- what the code calls -------------------------------------------------------------------------


def socket_opened(kind: str) -> None:
    """Call when a WebSocket is accepted (`kind`: "agent" | "widget")."""
    SOCKETS_OPEN.labels(kind=kind).inc()


def socket_closed(kind: str) -> None:
    """Call once when that WebSocket ends, whatever ended it (a `finally:` after the accept)."""
    SOCKETS_OPEN.labels(kind=kind).dec()


def socket_shed(kind: str) -> None:
    """Call when a WebSocket is closed with 1013 because the process sheds load."""
    SOCKETS_SHED.labels(kind=kind).inc()


def message_received(channel: str) -> None:
    MESSAGES_RECEIVED.labels(channel=channel).inc()


def bot_decided(outcome: str, seconds: float) -> None:
    BOT_DECISIONS.labels(outcome=outcome).inc()
    BOT_LATENCY.labels(outcome=outcome).observe(seconds)


def job_ran(job: str, ok: bool, seconds: float) -> None:
    JOBS.labels(job=job, status="ok" if ok else "failed").inc()
    JOB_LATENCY.labels(job=job).observe(seconds)


def ingest_batch(size: int) -> None:
    INGEST_BATCH.observe(size)


def sla_breached(metric: str) -> None:
    SLA_BREACHES.labels(metric=metric).inc()


def http_answered(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_LATENCY.labels(method=method, route=route, status=str(status)).observe(seconds)


# ---- exposition ----------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The scrape-time readings (kefu.core.readiness reads them from the database and Redis)."""

    queue_depth: int | None = None
    queue_lag_s: float | None = None
    listener_lag_events: dict[str, int] = field(default_factory=dict)
    listener_lag_s: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # source → 1 when its reading failed


class _SnapshotCollector(Collector):
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.snap
        if s.queue_depth is not None:
            yield GaugeMetricFamily(QUEUE_DEPTH[0], QUEUE_DEPTH[1], value=s.queue_depth)
        if s.queue_lag_s is not None:
            yield GaugeMetricFamily(QUEUE_LAG[0], QUEUE_LAG[1], value=s.queue_lag_s)
        yield _by(LISTENER_LAG_EVENTS, "listener", s.listener_lag_events.items())
        yield _by(LISTENER_LAG, "listener", s.listener_lag_s.items())
        yield _by(SCRAPE_ERRORS, "source", s.errors.items())


def _by(spec: tuple[str, str], label: str, values: Iterable[tuple[str, float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(spec[0], spec[1], labels=[label])
    for key, value in sorted(values):
        family.add_metric([key], value)
    return family


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from self.registry.collect()


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def render(snap: Snapshot) -> bytes:
    """The Prometheus text exposition: the counted metrics (summed over this host's processes in
    multiprocess mode, else this process's with its process/GC collectors) and the snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_SnapshotCollector(snap))
    return generate_latest(registry)


def process_exiting() -> None:
    """Drop this process's live gauges from the shared directory (multiprocess mode; at shutdown)."""
    if multiprocess():
        mark_process_dead(os.getpid())
