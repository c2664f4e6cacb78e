"""A webhook receiver for tests: an ASGI app served by uvicorn on a free loopback port. It checks every
request's signature with its own HMAC code (independent of kefu.core.signing), records what arrived, and
can be told to fail its first N requests (HTTP 500) or to answer too late (a timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from tests.conftest import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "{timestamp}.{body}", written here from the spec (docs/webhooks.md)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass
class Receiver:
    secret: str = ""
    fail_first: int = 0
    fail_status: int = 500
    delay_s: float = 0.0  # answer this late (longer than the sender's timeout: a timeout)
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        ts = headers.get("x-kefu-timestamp", "")
        ok = bool(self.secret) and hmac.compare_digest(
            expected_signature(self.secret, ts, body), headers.get("x-kefu-signature", "")
        )
        failing = len(self.requests) < self.fail_first
        status = self.fail_status if failing else (200 if ok else 401)
        self.requests.append(Received(headers, body, ok, status))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while len(self.requests) < count and loop.time() < end:
            await asyncio.sleep(0.05)
        return self.requests


async def listener_placed(state: Any, name: str = "webhooks.deliveries", timeout: float = 15.0) -> None:
    """Wait until the webhooks listener has its cursor: it starts at the end of the log when it first runs
    (after a server starts), so events written before that are not its to deliver."""
    from kefu.core.listeners_models import ListenerCursor

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        async with state.sessionmaker() as session:
            if await session.get(ListenerCursor, name) is not None:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the listener {name} never ran")


@contextlib.asynccontextmanager
async def serve(receiver: Receiver) -> AsyncIterator[Receiver]:
    receiver.port = free_port()
    config = uvicorn.Config(receiver, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
