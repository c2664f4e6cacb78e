"""Scale-out: two `kefu serve` processes on loopback sharing PostgreSQL + Redis, plus a `kefu worker`.

A message posted through node A reaches an agent socket connected to node B; a job enqueued on A
(snooze wake-up) runs in the worker and its event reaches B; a file uploaded through A downloads from B.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets

from kefu.accounts.service import do_create_account
from kefu.auth.principal import Principal
from kefu.auth.schemas import UserCreate
from kefu.auth.service import check_create_user, do_create_api_token
from kefu.benchmarks.ingest import wait_up
from kefu.core.constants import ActorType, Role
from kefu.core.db import make_engine, make_sessionmaker
from kefu.core.events import Actor, commit
from kefu.settings import Settings
from tests.conftest import free_port
from tests.support.factories import recv_until
from tests.support.files import png
from tests.support.server import settings_env, start_worker, stop_process


def _serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    fd, _ = tempfile.mkstemp(prefix=f"kefu-serve-{port}-", suffix=".log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "serve", "--port", str(port)],
        env=settings_env(settings),
        stdout=fd,
        stderr=subprocess.STDOUT,
    )
    os.close(fd)
    return proc


@pytest.fixture
def cluster(pg_url: str, redis_url: str) -> Iterator[tuple[Settings, str, str]]:
    ports = [free_port(), free_port()]
    settings = Settings(
        env="test",
        database_url=pg_url,
        redis_url=redis_url,
        redis_prefix=f"kefu-scale-{uuid.uuid4().hex[:6]}:",
        secret_key="scale-out-secret",
    )
    procs = [_serve(settings, p) for p in ports] + [start_worker(settings)]
    try:
        yield settings, f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"
    finally:
        for p in procs:
            stop_process(p)


async def _admin_token(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as session:
        account = await do_create_account(session, "scale-out")
        await commit(session)
        user = await check_create_user(
            session,
            account.id,
            UserCreate(
                email=f"{uuid.uuid4().hex[:8]}@scale.kefu", name="Admin", password="long enough", role=Role.ADMIN
            ),
            Actor(ActorType.SYSTEM),
        )
        _, token = await do_create_api_token(session, Principal(user=user, via="token"), "scale")
    await engine.dispose()
    return token


async def test_two_nodes_share_realtime_and_jobs(cluster: tuple[Settings, str, str]) -> None:
    settings, node_a, node_b = cluster
    await asyncio.gather(wait_up(f"http://{node_a}"), wait_up(f"http://{node_b}"))
    token = await _admin_token(settings)
    auth = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=f"http://{node_a}", headers=auth) as a,
        websockets.connect(f"ws://{node_b}/ws/agent", additional_headers=auth, open_timeout=60) as ws_b,
    ):
        assert (await recv_until(ws_b, "hello"))["type"] == "hello"
        inbox = (await a.post("/api/v1/inboxes", json={"name": "site"})).json()
        visitor = (await a.post(f"/api/v1/widget/{inbox['public_key']}/contacts", json={})).json()
        r = await a.post(
            f"/api/v1/widget/{inbox['public_key']}/messages",
            json={"content": "经由节点A"},
            headers={"X-Contact-Token": visitor["token"]},
        )
        assert r.status_code == 201
        got = await recv_until(ws_b, "message.created", timeout=10)
        assert got["payload"]["content"] == "经由节点A" and got["payload"]["id"] == r.json()["id"]

        cid = r.json()["conversation_id"]
        until = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()  # still future on a loaded machine
        r = await a.post(f"/api/v1/conversations/{cid}/status", json={"status": "snoozed", "snoozed_until": until})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "snoozed"
        first = await recv_until(ws_b, "conversation.status_changed", timeout=10)
        assert first["payload"]["status"] == "snoozed"
        woke = await recv_until(ws_b, "conversation.status_changed", timeout=60)
        assert woke["payload"]["status"] == "open" and woke["actor"]["type"] == "system"

        photo = png()
        up = await a.post(
            f"/api/v1/widget/{inbox['public_key']}/attachments",
            files={"file": ("photo.png", photo, "image/png")},
            headers={"X-Contact-Token": visitor["token"]},
        )
        assert up.status_code == 201, up.text
    async with httpx.AsyncClient(base_url=f"http://{node_b}") as b:
        got = await b.get(up.json()["url"])
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, photo, "image/png")
