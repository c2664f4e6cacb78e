"""`kefu bench ingest`: widget clients post messages over HTTP while an agent socket listens.

Prints sustained messages/s (closed loop: every client posts as fast as it can), the latency from the
POST to the agent socket receiving the event (p50/p95/p99) at a fixed offered rate (open loop), and — in
the same run — the raw insert rate of the same rows straight through the database driver, with the ratio.
The server runs as `kefu serve` subprocess(es) against KEFU_DATABASE_URL (and KEFU_REDIS_URL if set).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from kefu.benchmarks.rawhttp import RawConnection
from kefu.settings import Settings


@dataclass
class Setup:
    base: str
    ws: str
    token: str
    inbox_key: str
    visitors: list[str]
    account_id: int
    conversation_ids: list[int] = field(default_factory=list)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


async def _prepare(settings: Settings, base: str, clients: int) -> Setup:
    from kefu.accounts.service import do_create_account
    from kefu.auth.principal import Principal
    from kefu.auth.schemas import UserCreate
    from kefu.auth.service import check_create_user, do_create_api_token
    from kefu.channels.schemas import InboxCreate
    from kefu.channels.service import check_create_inbox
    from kefu.core.constants import ActorType, Role
    from kefu.core.db import make_engine, make_sessionmaker
    from kefu.core.events import Actor, commit

    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as session:
        account = await do_create_account(session, "bench-" + uuid.uuid4().hex[:6])
        await commit(session)
        system = Actor(ActorType.SYSTEM)
        user = await check_create_user(
            session,
            account.id,
            UserCreate(
                email=f"bench-{uuid.uuid4().hex[:8]}@bench.kefu",
                name="Bench",
                password="bench-password",
                role=Role.ADMIN,
            ),
            system,
        )
        _, token = await do_create_api_token(session, Principal(user=user, via="token"), "bench")
        inbox = await check_create_inbox(session, account.id, InboxCreate(name="bench"), system)
    await engine.dispose()
    async with httpx.AsyncClient(base_url=base) as c:
        visitors = []
        for _ in range(clients):
            r = await c.post(f"/api/v1/widget/{inbox.public_key}/contacts", json={})
            visitors.append(r.json()["token"])
    ws = base.replace("http://", "ws://")
    return Setup(base, ws, token, inbox.public_key, visitors, account.id)


class Listener:
    """The agent socket: records when each client_message_id arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.ready = asyncio.Event()

    async def run(self, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}  # sockets take no secrets in the URL
        async with websockets.connect(url, max_queue=None, additional_headers=headers) as ws:
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("type") == "hello":
                    self.ready.set()
                elif msg.get("type") == "message.created":
                    cmid = msg["payload"].get("client_message_id")
                    if cmid:
                        self.arrived[cmid] = time.perf_counter()


async def _post(conn: RawConnection, s: Setup, visitor: str, sent: dict[str, float], errors: list[str]) -> None:
    cmid = uuid.uuid4().hex
    body = json.dumps({"content": "你好，我的订单什么时候发货？ order KF" + cmid[:8], "client_message_id": cmid})
    sent[cmid] = time.perf_counter()
    status, answer = await conn.post_json(
        f"/api/v1/widget/{s.inbox_key}/messages", body.encode(), {"X-Contact-Token": visitor}
    )
    if status != 201:
        errors.append(f"{status} {answer[:200]!r}")


async def _connections(base: str, n: int) -> list[RawConnection]:
    return list(await asyncio.gather(*(RawConnection.open(base) for _ in range(n))))


async def closed_loop(s: Setup, seconds: float, listener: Listener) -> dict[str, Any]:
    """Every client posts its next message as soon as the previous one is answered."""
    sent: dict[str, float] = {}
    errors: list[str] = []
    conns = await _connections(s.base, len(s.visitors))
    deadline = time.perf_counter() + seconds

    async def client(conn: RawConnection, visitor: str) -> None:
        while time.perf_counter() < deadline:
            await _post(conn, s, visitor, sent, errors)

    start = time.perf_counter()
    await asyncio.gather(*(client(c, v) for c, v in zip(conns, s.visitors, strict=True)))
    elapsed = time.perf_counter() - start
    for c in conns:
        await c.close()
    await _await_arrivals(listener, sent)
    return {
        "sent": len(sent),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "msgs_per_s": (len(sent) - len(errors)) / elapsed,
    }


async def open_loop(s: Setup, rate: float, seconds: float, listener: Listener) -> dict[str, Any]:
    """Messages start on a fixed schedule (`rate` per second) whatever the answers' speed."""
    sent: dict[str, float] = {}
    errors: list[str] = []
    n = int(rate * seconds)
    free: asyncio.Queue[RawConnection] = asyncio.Queue()
    for conn in await _connections(s.base, len(s.visitors) * 4):
        free.put_nowait(conn)

    async def one(i: int) -> None:
        conn = await free.get()
        try:
            await _post(conn, s, s.visitors[i % len(s.visitors)], sent, errors)
        finally:
            free.put_nowait(conn)

    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    achieved = n / (time.perf_counter() - start)
    while not free.empty():
        await free.get_nowait().close()
    await _await_arrivals(listener, sent)
    lat = [(listener.arrived[k] - t) * 1000 for k, t in sent.items() if k in listener.arrived]
    return {
        "offered_per_s": rate,
        "achieved_per_s": achieved,
        "sent": n,
        "errors": len(errors),
        "delivered": len(lat),
        "p50_ms": _pct(lat, 50),
        "p95_ms": _pct(lat, 95),
        "p99_ms": _pct(lat, 99),
        "mean_ms": statistics.fmean(lat) if lat else float("nan"),
    }


async def _await_arrivals(listener: Listener, sent: dict[str, float], wait_s: float = 10) -> None:
    end = time.perf_counter() + wait_s
    while time.perf_counter() < end and any(k not in listener.arrived for k in sent):
        await asyncio.sleep(0.05)


async def warm_target(base: str, s: Setup) -> None:
    """One message, so the account has the conversation the raw baseline inserts into."""
    async with httpx.AsyncClient(base_url=base) as c:
        r = await c.post(
            f"/api/v1/widget/{s.inbox_key}/messages",
            json={"content": "hello"},
            headers={"X-Contact-Token": s.visitors[0]},
        )
        r.raise_for_status()


async def raw_insert_rate(
    settings: Settings, account_id: int, seconds: float, concurrency: int, batch: int = 1
) -> float:
    """The same rows (message + event) straight through the driver; `batch` messages per transaction."""
    from kefu.benchmarks.raw import raw_inserts

    return await raw_inserts(settings.database_url, account_id, seconds, concurrency, batch)


def start_servers(settings: Settings, workers: int, port: int) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env.update(
        {
            "KEFU_DATABASE_URL": settings.database_url,
            "KEFU_REDIS_URL": settings.redis_url or "",
            "KEFU_SECRET_KEY": settings.secret_key,
            "KEFU_ENV": "bench",
            "KEFU_BOT_ENABLED": "false",
        }
    )
    fd, path = tempfile.mkstemp(prefix="kefu-bench-serve-", suffix=".log")
    args = [
        sys.executable,
        "-m",
        "kefu.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(args, env=env, stdout=fd, stderr=subprocess.STDOUT)
    os.close(fd)
    _log(f"server log: {path}")
    return [proc]


async def wait_up(base: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(300):
            try:
                if (await c.get(base + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"server at {base} did not start")
