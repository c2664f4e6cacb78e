"""Logs (docs/operations.md "Logs"): `kefu serve` with KEFU_LOG_FORMAT=json writes only JSON lines — one per
request and one per job, in the documented schema — returns the request id in X-Request-Id, and never
writes a secret; jobs carry the request id they were queued under, in-process and through Redis."""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu.core.jobs import REGISTRY, REQUEST_ID_KWARG, ArqRunner, InProcessRunner, JobContext, job, run_job
from kefu.core.logs import REQUEST_ID, JsonFormatter
from tests.conftest import free_port

REQUEST_LINE = {
    "ts",
    "level",
    "logger",
    "msg",
    "request_id",
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "client",
}
JOB_LINE = {"ts", "level", "logger", "msg", "request_id", "job", "job_id", "status", "duration_ms"}
SECRETS = (
    "query-token-s3cret",
    "bearer-s3cret-value",
    "cookie-s3cret",
    "metrics-token-s3cret-0123456789abcdef",
    "signature-s3cret",
)


def serve(database_url: str, log_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "KEFU_ENV": "test",
            "KEFU_DATABASE_URL": database_url,
            "KEFU_REDIS_URL": "",
            "KEFU_SECRET_KEY": "logs-test-secret-" + uuid.uuid4().hex,
            "KEFU_LOG_FORMAT": "json",
            "KEFU_KNOWLEDGE_WARMUP": "0",
            "KEFU_METRICS_TOKEN": SECRETS[3],
        }
    )
    with log_path.open("wb") as out:
        cmd = [sys.executable, "-m", "kefu.cli", "serve", "--port", str(port)]
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_json_lines_per_request_and_job_with_request_ids_and_no_secrets(sqlite_url: str, tmp_path: Path) -> None:
    port, log_path = free_port(), tmp_path / "serve.log"
    proc = serve(sqlite_url, log_path, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await c.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            given = await c.get("/healthz", headers={"X-Request-Id": "lb-4f2a.17"})
            made = await c.get("/healthz", headers={"X-Request-Id": "not a plain token; <script>"})
            secret = await c.get(
                f"/api/v1/conversations?token={SECRETS[0]}",
                headers={"Authorization": f"Bearer {SECRETS[1]}", "Cookie": f"kefu_session={SECRETS[2]}"},
            )
            scraped = await c.get("/metrics", headers={"Authorization": f"Bearer {SECRETS[3]}"})
            signed = await c.get(f"/api/v1/attachments/42/9999999999.{SECRETS[4]}")
        await asyncio.sleep(6)  # the periodic listeners.catch_up job runs every 5 s
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert given.headers["X-Request-Id"] == "lb-4f2a.17"
    assert len(made.headers["X-Request-Id"]) == 16 and made.headers["X-Request-Id"] != "not a plain token; <script>"
    assert (secret.status_code, scraped.status_code) == (401, 200)

    text = log_path.read_text(encoding="utf-8")
    for value in SECRETS:
        assert value not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert all(list(line)[:5] == ["ts", "level", "logger", "msg", "request_id"] for line in lines)
    requests = [line for line in lines if line["logger"] == "kefu.request"]
    assert all(set(line) == REQUEST_LINE for line in requests)
    by_id = {line["request_id"]: line for line in requests}
    first = by_id["lb-4f2a.17"]
    assert (first["msg"], first["method"], first["path"], first["route"], first["status"]) == (
        "request", "GET", "/healthz", "/healthz", 200,
    )  # fmt: skip
    assert first["level"] == "INFO" and first["client"] == "127.0.0.1" and first["duration_ms"] >= 0
    assert by_id[made.headers["X-Request-Id"]]["path"] == "/healthz"
    refused = by_id[secret.headers["X-Request-Id"]]
    assert (refused["path"], refused["status"]) == ("/api/v1/conversations", 401)  # no query string
    download = by_id[signed.headers["X-Request-Id"]]
    assert (download["path"], download["route"], download["status"]) == (
        "/api/v1/attachments/42/***", "/api/v1/attachments/{attachment_id}/{signature}", 404,
    )  # fmt: skip
    jobs = [line for line in lines if line["logger"] == "kefu.job"]
    assert jobs, "no job line within 6 s"
    assert all(set(line) == JOB_LINE for line in jobs)
    catch_up = next(line for line in jobs if line["job"] == "listeners.catch_up")
    assert (catch_up["msg"], catch_up["status"], catch_up["request_id"]) == ("job", "ok", None)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)  # kefu.request replaces it


def test_the_json_formatter_redacts_secrets_in_messages_and_tracebacks() -> None:
    try:
        raise ValueError("connect to postgresql+asyncpg://kefu:pw-s3cret@db/kefu failed")
    except ValueError:
        record = logging.LogRecord(
            "kefu.test", logging.ERROR, __file__, 1, "GET %s with %s", ("/x?ticket=t-s3cret&a=1", "Bearer b-s3cret"),
            sys.exc_info(),
        )  # fmt: skip
    record.detail = "secret=d-s3cret"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "GET /x?ticket=***&a=1 with Bearer ***"
    assert line["detail"] == "secret=***"
    assert "postgresql+asyncpg://kefu:***@db/kefu" in line["exc"]
    assert "s3cret" not in json.dumps(line)
    assert (line["level"], line["logger"], line["request_id"]) == ("ERROR", "kefu.test", None)


@pytest.fixture
def seen_job() -> Any:
    seen: list[tuple[str | None, dict[str, Any]]] = []

    @job("tests.logs_seen")
    async def record(ctx: object, **kwargs: Any) -> None:
        seen.append((REQUEST_ID.get(), kwargs))

    yield seen
    REGISTRY.pop("tests.logs_seen", None)


async def test_an_in_process_job_carries_its_request_id(seen_job: list[Any], caplog: pytest.LogCaptureFixture) -> None:
    runner = InProcessRunner(run_periodic=False)
    await runner.start(JobContext(None, None, None))  # type: ignore[arg-type]
    token = REQUEST_ID.set("req-inproc-1")
    try:
        with caplog.at_level(logging.INFO, logger="kefu.job"):
            await runner.enqueue("tests.logs_seen", n=1)
            REQUEST_ID.reset(token)
            for _ in range(100):
                if seen_job:
                    break
                await asyncio.sleep(0.01)
    finally:
        await runner.stop()
    assert seen_job == [("req-inproc-1", {"n": 1})]
    lines = [r for r in caplog.records if r.name == "kefu.job"]
    assert [(r.job, r.status, JsonFormatter().format(r).count("req-inproc-1")) for r in lines] == [  # type: ignore[attr-defined]
        ("tests.logs_seen", "ok", 1)
    ]


async def test_a_queued_job_carries_its_request_id_through_redis(redis_url: str, seen_job: list[Any]) -> None:
    from arq.jobs import Job

    runner = ArqRunner(redis_url, f"kefu-logs-{uuid.uuid4().hex[:8]}:queue")
    ctx = JobContext(None, None, None)  # type: ignore[arg-type]
    await runner.start(ctx)
    try:
        token = REQUEST_ID.set("req-queued-7")
        try:
            job_id = await runner.enqueue("tests.logs_seen", n=2)
        finally:
            REQUEST_ID.reset(token)
        info = await Job(job_id, runner._pool, _queue_name=runner.queue_name).info()
        assert info is not None
        assert info.kwargs == {"n": 2, REQUEST_ID_KWARG: "req-queued-7"}
        assert REQUEST_ID.get() is None
        await run_job(ctx, "tests.logs_seen", dict(info.kwargs), job_id)  # what `kefu worker` does with it
        assert REQUEST_ID.get() is None  # restored after the job
        await runner._pool.delete(runner.queue_name, f"arq:job:{job_id}")
    finally:
        await runner.stop()
    assert seen_job == [("req-queued-7", {"n": 2})]


def test_time_is_utc_iso_with_milliseconds() -> None:
    record = logging.LogRecord("kefu.test", logging.INFO, __file__, 1, "x", None, None)
    record.created = calendar.timegm((2026, 12, 7, 8, 0, 0)) + 0.25
    assert json.loads(JsonFormatter().format(record))["ts"] == "2026-12-07T08:00:00.250+00:00"
