"""deploy/nginx.conf, run by Debian's nginx on loopback (as the test's user, with its own prefix and temporary
directories) in front of two `kefu serve` nodes sharing PostgreSQL + Redis: HTTP reaches both nodes, a widget
socket opened through nginx gets replies posted through either node, and the login rate limit sees the
client's address — the one nginx saw, not one the client claims."""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from kefu.auth.passwords import use_fast_hashing
from kefu.benchmarks.ingest import wait_up
from kefu.core.constants import Role
from kefu.core.db import make_engine, make_sessionmaker
from kefu.settings import Settings
from tests.conftest import free_port
from tests.ops.support import ROOT
from tests.support.factories import PASSWORD, new_account, recv_json, recv_until
from tests.support.server import LiveServer, settings_env, stop_process

NGINX = "/usr/sbin/nginx"
CONF = ROOT / "deploy" / "nginx.conf"
MAX_ATTEMPTS = 3

use_fast_hashing()


@dataclass
class Proxied:
    url: str  # host:port of nginx
    nodes: list[str]  # host:port of each kefu node
    server: LiveServer  # nginx as the tests' factories see a server (their direct database access included)


def nginx_config(directory: Path, listen: int, nodes: list[int]) -> Path:
    """A main nginx.conf for `directory` that includes deploy/nginx.conf with the test's nodes and port."""
    site = CONF.read_text(encoding="utf-8")
    upstreams = re.findall(r"^ +server app\d:8000 (.*);$", site, flags=re.M)
    assert len(upstreams) == 2 and site.count("listen 80;") == 1, "deploy/nginx.conf changed shape"
    site = re.sub(r"^ +server app\d:8000 .*;\n", "", site, flags=re.M)
    servers = "".join(f"    server 127.0.0.1:{p} {upstreams[0]};\n" for p in nodes)
    site = site.replace("upstream kefu {\n", "upstream kefu {\n" + servers).replace(
        "listen 80;", f"listen 127.0.0.1:{listen};"
    )
    (directory / "kefu.conf").write_text(site, encoding="utf-8")
    temp = "".join(
        f"    {k}_temp_path {directory / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""  # workers stay the test user
    main = directory / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    access_log {directory / 'access.log'};\n{temp}"
        "    add_header X-Upstream $upstream_addr always;\n"
        f"    include {directory / 'kefu.conf'};\n}}\n",
        encoding="utf-8",
    )
    return main


def start_nginx(directory: Path, conf: Path) -> subprocess.Popen[bytes]:
    """Debian's nginx on the test's configuration, after `nginx -t` accepted it."""
    args = [NGINX, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(conf)]
    tested = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert tested.returncode == 0, tested.stderr
    return subprocess.Popen(args)


def _serve(settings: Settings, port: int, **env: str) -> subprocess.Popen[bytes]:
    fd, _ = tempfile.mkstemp(prefix=f"kefu-nginx-node-{port}-", suffix=".log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "serve", "--port", str(port)],
        env={**settings_env(settings), **env},
        stdout=fd,
        stderr=subprocess.STDOUT,
    )
    os.close(fd)
    return proc


@pytest.fixture
async def proxied(pg_url: str, redis_url: str) -> AsyncIterator[Proxied]:
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} is missing: .ci/run installs Debian's nginx package")
    front, nodes = free_port(), [free_port(), free_port()]
    settings = Settings(
        env="test",
        database_url=pg_url,
        redis_url=redis_url,
        redis_prefix=f"kefu-nginx-{uuid.uuid4().hex[:6]}:",
        secret_key="nginx-test-secret-" + uuid.uuid4().hex,
        base_url=f"http://127.0.0.1:{front}",
        trusted_proxies="127.0.0.1",  # nginx connects to the nodes from 127.0.0.1; the test's clients do not
    )
    directory = Path(tempfile.mkdtemp(prefix="kefu-nginx-"))
    conf = nginx_config(directory, front, nodes)
    procs = [_serve(settings, p, KEFU_LOGIN_MAX_ATTEMPTS=str(MAX_ATTEMPTS)) for p in nodes]
    procs.append(start_nginx(directory, conf))
    engine = make_engine(pg_url, pool_size=2)
    state = SimpleNamespace(sessionmaker=make_sessionmaker(engine))
    server = LiveServer(f"http://127.0.0.1:{front}", f"ws://127.0.0.1:{front}", settings, state, "postgres")  # type: ignore[arg-type]
    try:
        await asyncio.gather(*(wait_up(f"http://127.0.0.1:{p}") for p in [*nodes, front]))
        yield Proxied(f"127.0.0.1:{front}", [f"127.0.0.1:{p}" for p in nodes], server)
    finally:
        await engine.dispose()
        for p in reversed(procs):  # nginx first: its idle upstream connections would hold the nodes' shutdown
            p.send_signal(signal.SIGINT)
        for p in procs:
            stop_process(p)
        shutil.rmtree(directory, ignore_errors=True)


def _from(address: str, base: str, **kw: object) -> httpx.AsyncClient:
    """A client whose connections come from `address` (any 127.x address is this machine's loopback)."""
    return httpx.AsyncClient(base_url=base, transport=httpx.AsyncHTTPTransport(local_address=address), timeout=20, **kw)  # type: ignore[arg-type]


async def test_http_websocket_and_login_limit_through_nginx(proxied: Proxied) -> None:
    base = f"http://{proxied.url}"
    async with httpx.AsyncClient(base_url=base, timeout=20) as anon:
        served = [await anon.get("/healthz") for _ in range(6)]
    assert [r.status_code for r in served] == [200] * 6
    assert {r.headers["X-Upstream"] for r in served} == set(proxied.nodes)  # both nodes answer

    async with new_account(proxied.server) as world:
        inbox = await world.inbox()
        visitor = await world.visitor(inbox, name="李女士")
        first = await visitor.say("你好，经由 nginx")
        cid = first["conversation_id"]
        async with visitor.ws() as ws:
            assert (await recv_json(ws))["type"] == "hello"
            for text in ("您好，我是小王", "订单已发出"):  # round robin: the two replies go through both nodes
                r = await world.http.post(f"/api/v1/conversations/{cid}/messages", json={"content": text})
                assert r.status_code == 201, r.text
                got = await recv_until(ws, "message.created", timeout=10)
                assert (got["payload"]["content"], got["payload"]["direction"]) == (text, "outgoing")

        agent = await world.user(Role.AGENT)
        login = "/api/v1/auth/login"

        def attempt(password: str, claimed: str | None = None) -> dict[str, Any]:
            headers = {"X-Forwarded-For": claimed} if claimed else {}
            return {"json": {"email": agent.email, "password": password}, "headers": headers}

        async with _from("127.0.0.2", base, headers={"Origin": base}) as attacker:
            for i in range(MAX_ATTEMPTS):  # a different claimed address each time: nginx replaces it
                r = await attacker.post(login, **attempt("guess", f"198.51.100.{i}"))
                assert r.status_code == 401, r.text
            r = await attacker.post(login, **attempt(PASSWORD, "198.51.100.9"))
            assert r.status_code == 429, r.text
            assert r.json()["error"]["code"] == "rate_limited"
        async with _from("127.0.0.3", base, headers={"Origin": base}) as owner:  # another client, same nginx
            r = await owner.post(login, **attempt(PASSWORD))
            assert (r.status_code, r.json()["email"]) == (200, agent.email)
        # Straight to a node, X-Forwarded-For counts only from a trusted proxy: 127.0.0.2 is still itself.
        async with _from("127.0.0.2", f"http://{proxied.nodes[0]}") as direct:
            r = await direct.post(login, **attempt(PASSWORD, "127.0.0.3"))
            assert r.status_code == 429, r.text
