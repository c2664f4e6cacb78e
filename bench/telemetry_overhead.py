"""What the request telemetry costs (docs/operations.md: request id, request metrics, the request log line)
and what a /metrics scrape costs.

    PYTHONPATH=src .venv/bin/python bench/telemetry_overhead.py --requests 3000 --json

Two apps in this process, the same but for `RequestTelemetry` (the baseline has it taken out of the
middleware stack), answer GET /healthz through httpx's in-process ASGI transport, in alternating rounds so
both see the same machine load. Then /metrics is rendered over the series those requests made plus one
request series per route template of the API (the label set a busy node has)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from typing import Any

import httpx

from kefu.core import metrics
from kefu.core.telemetry import RequestTelemetry
from kefu.main import create_app
from kefu.settings import Settings


def build(with_telemetry: bool, db: str) -> Any:
    app = create_app(Settings(env="test", database_url=db, knowledge_warmup=False))
    if not with_telemetry:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestTelemetry]
    return app


async def per_request_us(app: Any, n: int) -> list[float]:
    transport = httpx.ASGITransport(app=app)
    times = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
        for _ in range(n):
            started = time.perf_counter()
            r = await c.get("/healthz")
            times.append((time.perf_counter() - started) * 1e6)
            assert r.status_code == 200
    return times


async def run(requests: int, rounds: int) -> dict[str, Any]:
    db = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    apps = {"with": build(True, db), "without": build(False, db)}
    for app in apps.values():
        await per_request_us(app, 200)  # warm-up: build the middleware stacks, fill caches
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds):
        for name, app in apps.items():
            times[name] += await per_request_us(app, requests // rounds)
    routes = sorted(apps["with"].openapi()["paths"])
    for route in routes:
        metrics.http_answered("GET", route, 200, 0.01)
    snap = metrics.Snapshot(queue_depth=0, queue_lag_s=0.0, listener_lag_events={}, listener_lag_s={})
    render = []
    for _ in range(50):
        started = time.perf_counter()
        body = metrics.render(snap)
        render.append((time.perf_counter() - started) * 1000)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "requests_per_app": len(times["with"]),
        "median_us_with_telemetry": round(med["with"], 1),
        "median_us_without_telemetry": round(med["without"], 1),
        "telemetry_us_per_request": round(med["with"] - med["without"], 1),
        "metrics_series_routes": len(routes),
        "metrics_bytes": len(body),
        "metrics_render_ms_median": round(statistics.median(render), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.rounds))
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
