"""GET /metrics (docs/operations.md "Metrics"): the token, the exposition parsed with prometheus-client's own
parser, the counted metrics moving by exactly what the test did, the route-template labels, and the Grafana
dashboard using exactly the exported names."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kefu.core import metrics
from kefu.core.listeners import LISTENERS
from tests.conftest import free_port
from tests.support.factories import World
from tests.support.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-the-tests-0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def scrape_token(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(server.settings, "metrics_token", TOKEN)
    yield TOKEN


async def scrape(server: LiveServer) -> tuple[set[str], Samples]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as c:
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families, samples = set(), {}
    for family in text_string_to_metric_families(r.text):
        families.add(family.name)
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as c:
        monkeypatch.setattr(server.settings, "metrics_token", None)
        off = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        monkeypatch.setattr(server.settings, "metrics_token", TOKEN)
        missing = await c.get("/metrics")
        wrong = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        basic = await c.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert off.status_code == 404
    assert off.json()["error"]["message"] == (
        "metrics are off: set KEFU_METRICS_TOKEN and scrape with `Authorization: Bearer <token>`"
    )
    for r in (missing, wrong, basic):
        assert r.status_code == 401
        assert r.json()["error"] == {
            "code": "unauthorized",
            "message": "send `Authorization: Bearer <KEFU_METRICS_TOKEN>` to read the metrics",
        }
        assert "kefu_" not in r.text


async def test_every_metric_is_exported_under_its_documented_name(server: LiveServer, scrape_token: str) -> None:
    families, samples = await scrape(server)
    assert metrics.metric_names() <= families
    assert "kefu_messages_received" in families  # the counter kefu_messages_received_total{channel}
    # every durable listener has a lag reading, from the shared database
    listeners = {spec.name for spec in LISTENERS}
    assert {dict(k[1])["listener"] for k in samples if k[0] == "kefu_listener_lag_events"} == listeners
    assert value(samples, "kefu_metrics_read_errors", source="database") == 0
    assert value(samples, "kefu_metrics_read_errors", source="jobs") == 0
    assert ("kefu_job_queue_depth", ()) in samples
    assert samples[("kefu_job_queue_lag_seconds", ())] >= 0


async def test_requests_are_counted_by_route_template_and_status(server: LiveServer, scrape_token: str) -> None:
    _, before = await scrape(server)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as c:
        for _ in range(3):
            assert (await c.get("/healthz")).status_code == 200
        for n in (101, 202):  # two ids, one template; no login: 401
            assert (await c.get(f"/api/v1/conversations/{n}")).status_code == 401
        assert (await c.get("/no-such-page-for-metrics")).status_code == 404
    _, after = await scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("kefu_http_requests_total", method="GET", route="/healthz", status="200") == 3
    assert delta("kefu_http_request_duration_seconds_count", method="GET", route="/healthz", status="200") == 3
    conv = {"method": "GET", "route": "/api/v1/conversations/{conv_id}", "status": "401"}
    assert delta("kefu_http_requests_total", **conv) == 2
    assert delta("kefu_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert not any("101" in dict(k[1]).get("route", "") for k in after)  # never a raw path as a label
    assert not any(dict(k[1]).get("route") == "/metrics" for k in after)  # the scrapes are not counted


async def test_a_customer_message_and_the_bot_turn_are_counted(api: World, scrape_token: str) -> None:
    _, before = await scrape(api.server)
    visitor, _ = await api.conversation("你好")
    await visitor.say("请问怎么退货")
    _, after = await scrape(api.server)
    channel = value(after, "kefu_messages_received_total", channel="web_widget")
    assert channel - value(before, "kefu_messages_received_total", channel="web_widget") == 2
    turns = sum(v for (n, _), v in after.items() if n == "kefu_bot_decisions_total")
    turns -= sum(v for (n, _), v in before.items() if n == "kefu_bot_decisions_total")
    timed = sum(v for (n, _), v in after.items() if n == "kefu_bot_decision_duration_seconds_count")
    timed -= sum(v for (n, _), v in before.items() if n == "kefu_bot_decision_duration_seconds_count")
    assert turns == timed == 2  # one bot turn per customer message
    batches = value(after, "kefu_ingest_batch_size_count") - value(before, "kefu_ingest_batch_size_count")
    assert batches >= 1  # the first message of a conversation takes the one-message path, the second a batch


async def test_in_process_jobs_are_counted_with_their_status(server: LiveServer, scrape_token: str) -> None:
    if server.backend != "sqlite":
        pytest.skip("in scale-out mode jobs run in `kefu worker`, a process of its own (test_metrics_multiprocess)")
    ctx = server.state.jobs._ctx  # type: ignore[attr-defined]
    from kefu.core.jobs import REGISTRY, job, run_job

    @job("tests.metrics_fails")
    async def fails(ctx: object) -> None:
        raise ValueError("on purpose")

    try:
        _, before = await scrape(server)
        with pytest.raises(ValueError, match="on purpose"):
            await run_job(ctx, "tests.metrics_fails", {})
        _, after = await scrape(server)
    finally:
        REGISTRY.pop("tests.metrics_fails", None)
    failed = {"job": "tests.metrics_fails", "status": "failed"}
    assert value(after, "kefu_jobs_total", **failed) - value(before, "kefu_jobs_total", **failed) == 1
    assert value(after, "kefu_jobs_total", job="tests.metrics_fails", status="ok") == 0
    assert value(after, "kefu_job_duration_seconds_count", job="tests.metrics_fails") == 1


def test_socket_gauge_goes_up_and_down_by_kind() -> None:
    before = metrics.SOCKETS_OPEN.labels(kind="widget")._value.get()
    metrics.socket_opened("widget")
    metrics.socket_opened("widget")
    metrics.socket_closed("widget")
    assert metrics.SOCKETS_OPEN.labels(kind="widget")._value.get() == before + 1
    metrics.socket_closed("widget")


# ---- the Grafana dashboard -----------------------------------------------------------------------

SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def dashboard_names() -> set[str]:
    board = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert exprs
    names = set()
    for expr in exprs:
        for name in re.findall(r"\bkefu_[a-z_]+", expr):
            for suffix in SUFFIXES:
                if name.endswith(suffix) and name.removesuffix(suffix) in metrics.metric_names():
                    name = name.removesuffix(suffix)
                    break
            names.add(name)
    return names


def test_the_grafana_dashboard_uses_exactly_the_exported_metric_names() -> None:
    assert dashboard_names() == metrics.metric_names()


# ---- several worker processes ----------------------------------------------------------------------


def serve_two_workers(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "kefu.cli", "serve", "--workers", "2", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_metrics_add_up_over_several_worker_processes(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    """`kefu serve --workers 2`: each request is counted once, whichever process answered it or the scrape."""
    port, shared = free_port(), tmp_path / "prom"
    shared.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        {
            "KEFU_ENV": "test",
            "KEFU_DATABASE_URL": pg_url,
            "KEFU_REDIS_URL": redis_url,
            "KEFU_REDIS_PREFIX": f"kefu-mp-{uuid.uuid4().hex[:8]}:",
            "KEFU_SECRET_KEY": "multiprocess-test-secret-" + uuid.uuid4().hex,
            "KEFU_KNOWLEDGE_WARMUP": "0",
            "KEFU_METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(shared),
        }
    )
    proc = serve_two_workers(env, port)
    base = f"http://127.0.0.1:{port}"
    sent = 0
    try:
        async with httpx.AsyncClient(base_url=base, timeout=20) as c:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await c.get("/healthz")).status_code == 200:
                        sent += 1
                        break
                await asyncio.sleep(0.1)
        for _ in range(20):  # until both processes have answered some (each on a connection of its own)
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=base, timeout=20, limits=limits) as c:
                answers = await asyncio.gather(*(c.get("/healthz") for _ in range(20)))
            assert {r.status_code for r in answers} == {200}
            sent += len(answers)
            if len(list(shared.glob("counter_*.db"))) >= 2:
                break
        assert len(list(shared.glob("counter_*.db"))) == 2
        counts = []
        for _ in range(4):  # every scrape, whichever process answers it, reports the same total
            async with httpx.AsyncClient(base_url=base, timeout=20, limits=limits) as c:
                r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 200
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for f in text_string_to_metric_families(r.text)
                for s in f.samples
            }
            counts.append(value(samples, "kefu_http_requests_total", method="GET", route="/healthz", status="200"))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert counts == [sent] * 4
