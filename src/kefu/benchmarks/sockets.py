"""`kefu bench sockets`: how many idle widget sockets one node holds, and what each costs.

For each size (1,000 as the baseline, then the size asked for) a fresh server — `kefu serve` subprocess(es)
on a fresh database — gets that many widget visitors (inserted straight into the database, their tokens
signed with the server's secret) which connect the way the widget does: `POST …/socket_ticket`, then the
socket, done when the `hello` frame arrives. Measured on the server processes (from /proc):

- `sockets_held`: sockets open after the idle phase (each client still has its socket);
- `rss_mb`, `kb_per_socket`: resident memory with all sockets open, and its growth per socket over the
  server's RSS before they connected (after a warm-up of 100 connects);
- `connect_p99_ms`, `connects_per_s`: one connect's time (ticket + handshake + hello) under a storm of
  `concurrency` clients connecting at once, and the storm's rate; `connect_cpu_ms` the server CPU per connect;
- `idle_cpu_pct`: server CPU (per cent of one core) while every socket idles, over `idle_s` seconds;
- `delivery_p95_ms`: an agent's reply (REST) until the visitor's socket has it, with every socket open;
- `close_all_s`: every client drops its connection at once; the time until the server has closed all
  its sockets (its socket count, from /proc/PID/fd, down by the number of clients), and `close_cpu_s` the server
  CPU spent on it; `rss_before_mb` / `rss_after_close_mb` the servers' RSS before the sockets opened
  and 5 s after they all closed (how much of the memory the process gave back), and `rss_reconnected_mb`
  with every client connected again (whether the process used its freed memory again, or grew).

With `--nodes 2` (PostgreSQL + Redis) two servers share the database and the bus; sockets alternate
between them, replies are posted on the first, and memory/CPU are summed over both.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from kefu.benchmarks.rawhttp import RawConnection
from kefu.settings import Settings

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it); return the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- the server processes, seen from /proc -------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def socket_fds(pid: int) -> int:
    n = 0
    for fd in os.scandir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(fd.path).startswith("socket:"):
                n += 1
    return n


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    base: str
    log: str

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")


def start_node(env: dict[str, str], port: int) -> Node:
    fd, log = tempfile.mkstemp(prefix="kefu-bench-sockets-", suffix=".log")
    args = [sys.executable, "-m", "kefu.cli", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(args, env=env, stdout=fd, stderr=subprocess.STDOUT)
    os.close(fd)
    return Node(proc, f"http://127.0.0.1:{port}", log)


async def wait_up(node: Node) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(600):
            if node.proc.poll() is not None:
                raise SystemExit(f"server exited ({node.proc.returncode}); its log: {node.log}")
            with contextlib.suppress(httpx.TransportError):
                if (await c.get(node.base + "/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise SystemExit(f"server at {node.base} did not start; its log: {node.log}")


def stop_node(node: Node) -> None:
    node.proc.terminate()
    try:
        node.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        node.proc.kill()
        node.proc.wait()


# --- the fixture: an account, an agent's API token, a widget inbox, N visitors ---------------------------


@dataclass
class Fixture:
    inbox_key: str
    api_token: str
    visitors: list[str]  # contact tokens


async def make_fixture(settings: Settings, visitors: int) -> Fixture:
    from sqlalchemy import insert, select

    from kefu.accounts.service import do_create_account
    from kefu.auth.principal import Principal
    from kefu.auth.schemas import UserCreate
    from kefu.auth.service import check_create_user, do_create_api_token
    from kefu.auth.tokens import sign_contact
    from kefu.channels.schemas import InboxCreate
    from kefu.channels.service import check_create_inbox
    from kefu.contacts.models import Contact
    from kefu.core import clock
    from kefu.core.constants import ActorType, Role
    from kefu.core.db import make_engine, make_sessionmaker
    from kefu.core.events import Actor, commit

    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as session:
        account = await do_create_account(session, "bench-sockets")
        await commit(session)
        system = Actor(ActorType.SYSTEM)
        user = await check_create_user(
            session,
            account.id,
            UserCreate(email="bench@bench.kefu", name="Bench", password="bench-password", role=Role.ADMIN),
            system,
        )
        _, token = await do_create_api_token(session, Principal(user=user, via="token"), "bench")
        inbox = await check_create_inbox(session, account.id, InboxCreate(name="bench"), system)
        tag = uuid.uuid4().hex[:8]
        now = clock.now()
        rows = [
            {"account_id": account.id, "name": f"visitor {tag}-{i}", "attributes": {}, "created_at": now}
            for i in range(visitors)
        ]
        for start in range(0, len(rows), 2000):
            await session.execute(insert(Contact), rows[start : start + 2000])
        await session.commit()
        ids = list(
            (
                await session.execute(
                    select(Contact.id).where(Contact.account_id == account.id, Contact.name.like(f"visitor {tag}-%"))
                )
            ).scalars()
        )
    await engine.dispose()
    tokens = [sign_contact(settings.secret_key, account.id, inbox.id, cid, 0) for cid in ids]
    return Fixture(inbox.public_key, token, tokens)


# --- the clients -----------------------------------------------------------------------------------------


@dataclass
class Client:
    token: str
    node: Node
    ws: Any = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    waiters: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def connect(self, http: RawConnection, inbox_key: str) -> float:
        t0 = time.perf_counter()
        status, body = await http.post_json(
            f"/api/v1/widget/{inbox_key}/socket_ticket", b"", {"X-Contact-Token": self.token}
        )
        if status != 201:
            raise RuntimeError(f"socket_ticket answered {status}: {body[:200]!r}")
        ticket = json.loads(body)["ticket"]
        url = f"{self.node.ws}/ws/widget?inbox={inbox_key}&ticket={ticket}"
        self.ws = await websockets.connect(url, ping_interval=None, max_queue=None, open_timeout=60)
        hello = json.loads(await self.ws.recv())
        if hello.get("type") != "hello":
            raise RuntimeError(f"first frame was not hello: {hello}")
        return time.perf_counter() - t0

    def listen(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                msg = json.loads(raw)
                content = (msg.get("payload") or {}).get("content")
                waiter = self.waiters.pop(content, None) if content else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(time.perf_counter())

    def drop(self) -> None:
        """Drop the connection without a closing handshake (as a network blip or a crashed tab does)."""
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            self.ws.transport.abort()


async def connect_all(clients: list[Client], inbox_key: str, concurrency: int) -> list[float]:
    """Connect every client, `concurrency` at a time (each worker keeps one HTTP connection per node for
    the tickets: the load generator must cost little of the CPU it shares with the servers)."""
    times: list[float] = []
    errors: list[str] = []
    queue = iter(clients)
    done = 0

    async def one() -> None:
        nonlocal done
        conns: dict[str, RawConnection] = {}
        for client in queue:
            for attempt in range(5):
                try:
                    conn = conns.get(client.node.base)
                    if conn is None:
                        conn = conns[client.node.base] = await RawConnection.open(client.node.base)
                    times.append(await client.connect(conn, inbox_key))
                    break
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    stale = conns.pop(client.node.base, None)
                    if stale is not None:
                        with contextlib.suppress(Exception):
                            await stale.close()
                    await asyncio.sleep(0.2 * (attempt + 1))
            done += 1
            if done % 1000 == 0:
                _log(f"  {done}/{len(clients)} connected")
        for conn in conns.values():
            with contextlib.suppress(Exception):
                await conn.close()

    await asyncio.gather(*(one() for _ in range(concurrency)))
    if errors:
        _log(f"  {len(errors)} connect attempts failed (retried); first: {errors[0]}")
    return times


async def deliveries(clients: list[Client], fixture: Fixture, node: Node, samples: int) -> list[float]:
    """Each sampled visitor writes (a conversation), then an agent replies by REST; the time from the
    reply's POST until the visitor's socket has it."""
    step = max(1, len(clients) // samples)
    chosen = clients[::step][:samples]
    latencies: list[float] = []
    auth = {"Authorization": f"Bearer {fixture.api_token}"}
    async with httpx.AsyncClient(timeout=60) as http:
        for i, client in enumerate(chosen):
            r = await http.post(
                f"{client.node.base}/api/v1/widget/{fixture.inbox_key}/messages",
                headers={"X-Contact-Token": client.token},
                json={"content": f"hello {i}", "client_message_id": uuid.uuid4().hex},
            )
            r.raise_for_status()
            conversation_id = r.json()["conversation_id"]
            content = f"reply {i} {uuid.uuid4().hex[:6]}"
            arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            client.waiters[content] = arrived
            t0 = time.perf_counter()
            r = await http.post(
                f"{node.base}/api/v1/conversations/{conversation_id}/messages", headers=auth, json={"content": content}
            )
            r.raise_for_status()
            latencies.append((await asyncio.wait_for(arrived, 30) - t0) * 1000)
    return latencies


async def settled_rss(nodes: list[Node], timeout_s: float = 90.0) -> float:
    """The servers' RSS once it stops moving (start-up work such as the search warm-up runs in the
    background for a while): no change over 1 MB in 3 s."""
    history = [_sum(nodes, rss_mb)]
    for _ in range(int(timeout_s)):
        await asyncio.sleep(1)
        history.append(_sum(nodes, rss_mb))
        if len(history) >= 4 and max(history[-4:]) - min(history[-4:]) < 1.0:
            break
    return history[-1]


def _sum(nodes: list[Node], fn: Any) -> float:
    return float(sum(fn(n.proc.pid) for n in nodes))


async def run_size(
    env: dict[str, str],
    settings: Settings,
    sockets: int,
    *,
    nodes: int,
    port: int,
    concurrency: int,
    idle_s: float,
    samples: int,
) -> dict[str, Any]:
    fixture = await make_fixture(settings, sockets + 100)
    servers = [start_node(env, port + i) for i in range(nodes)]
    try:
        for node in servers:
            await wait_up(node)
        # Warm-up: pay one-time costs (imports, caches, first queries) before the baseline is read.
        warm = [Client(t, servers[i % nodes]) for i, t in enumerate(fixture.visitors[sockets:])]
        await connect_all(warm, fixture.inbox_key, min(concurrency, 50))
        for c in warm:
            await c.ws.close()
        rss0 = await settled_rss(servers)

        _log(f"{sockets} sockets on {nodes} node(s): connecting, {concurrency} at a time …")
        clients = [Client(t, servers[i % nodes]) for i, t in enumerate(fixture.visitors[:sockets])]
        t0, cpu0 = time.perf_counter(), _sum(servers, cpu_s)
        times = await connect_all(clients, fixture.inbox_key, concurrency)
        storm_s = time.perf_counter() - t0
        connect_cpu = _sum(servers, cpu_s) - cpu0
        for c in clients:
            c.listen()

        _log(f"  idle {idle_s:.0f} s …")
        await asyncio.sleep(2)
        cpu0, t_idle = _sum(servers, cpu_s), time.perf_counter()
        await asyncio.sleep(idle_s)
        idle_cpu = (_sum(servers, cpu_s) - cpu0) / (time.perf_counter() - t_idle) * 100
        rss_held = _sum(servers, rss_mb)
        held = sum(1 for c in clients if c.ws is not None and c.ws.state.name == "OPEN")

        _log(f"  {samples} deliveries …")
        latencies = await deliveries(clients, fixture, servers[0], samples)

        _log("  every client drops its connection at once …")
        # Done when the servers hold `sockets` fewer sockets than now (their database and Redis pools may
        # have grown since the start, so the count before the storm is not the mark).
        mark = sum(socket_fds(n.proc.pid) for n in servers) - sockets
        cpu0, t0 = _sum(servers, cpu_s), time.perf_counter()
        for c in clients:
            c.drop()
        while sum(socket_fds(n.proc.pid) for n in servers) > mark and time.perf_counter() - t0 < 300:
            await asyncio.sleep(0.02)
        close_all = time.perf_counter() - t0
        close_cpu = _sum(servers, cpu_s) - cpu0
        await asyncio.sleep(5)
        rss_closed = _sum(servers, rss_mb)

        _log("  every client connects again (is the freed memory used again?) …")
        again = [Client(c.token, c.node) for c in clients]
        await connect_all(again, fixture.inbox_key, concurrency)
        await asyncio.sleep(2)
        rss_again = _sum(servers, rss_mb)
        for c in again:
            c.drop()
        return {
            "sockets": sockets,
            "sockets_held": held,
            "rss_mb": round(rss_held, 1),
            "kb_per_socket": round((rss_held - rss0) * 1024 / sockets, 1),
            "connect_p50_ms": round(_pct(times, 50) * 1000, 1),
            "connect_p99_ms": round(_pct(times, 99) * 1000, 1),
            "connects_per_s": round(len(times) / storm_s, 1),
            "connect_cpu_ms": round(connect_cpu * 1000 / sockets, 2),
            "idle_cpu_pct": round(idle_cpu, 2),
            "delivery_p50_ms": round(_pct(latencies, 50), 1),
            "delivery_p95_ms": round(_pct(latencies, 95), 1),
            "close_all_s": round(close_all, 3),
            "close_cpu_s": round(close_cpu, 3),
            "rss_before_mb": round(rss0, 1),
            "rss_after_close_mb": round(rss_closed, 1),
            "rss_reconnected_mb": round(rss_again, 1),
        }
    finally:
        for node in servers:
            stop_node(node)


@contextlib.contextmanager
def fresh_database(url: str) -> Any:
    """A fresh database for one run: a new SQLite file, or a new PostgreSQL database (dropped after)."""
    if url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="kefu-bench-sockets-") as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/kefu.db"
        return
    import asyncpg

    name = "kefu_bench_sockets_" + uuid.uuid4().hex[:8]
    base, _, _ = url.rpartition("/")
    admin = url.replace("postgresql+asyncpg", "postgresql")

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(
    settings: Settings, sizes: list[int], *, nodes: int, port: int, concurrency: int, idle_s: float, samples: int
) -> list[dict[str, Any]]:
    from kefu.core.migrate import upgrade

    limit = raise_nofile()
    _log(f"open-file limit {limit}")
    results = []
    for size in sizes:
        with fresh_database(settings.database_url) as url:
            upgrade(url)
            prefix = f"kefu-bench-{uuid.uuid4().hex[:6]}:"
            sized = settings.model_copy(update={"database_url": url, "redis_prefix": prefix})
            env = dict(os.environ)
            env.update(
                {
                    "KEFU_DATABASE_URL": url,
                    "KEFU_REDIS_URL": settings.redis_url or "",
                    "KEFU_REDIS_PREFIX": prefix,
                    "KEFU_SECRET_KEY": settings.secret_key,
                    "KEFU_ENV": "bench",
                    "KEFU_BOT_ENABLED": "false",
                    "KEFU_WIDGET_VISITORS_PER_IP": "1000000",
                }
            )
            result = asyncio.run(
                run_size(
                    env, sized, size, nodes=nodes, port=port, concurrency=concurrency, idle_s=idle_s, samples=samples
                )
            )
        _log("  " + json.dumps(result))
        results.append(result)
    return results
