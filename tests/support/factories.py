"""Factories that create real rows through the real services and API."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from kefu.accounts.service import do_create_account
from kefu.auth.principal import Principal
from kefu.auth.schemas import UserCreate
from kefu.auth.service import check_create_user, do_create_api_token
from kefu.core.constants import ActorType, Role
from kefu.core.events import Actor, commit
from tests.support.server import LiveServer

PASSWORD = "correct horse battery"


def uniq(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:10]


@dataclass
class UserHandle:
    id: int
    email: str
    role: str
    token: str
    client: httpx.AsyncClient


@dataclass
class World:
    server: LiveServer
    account_id: int
    admin: UserHandle
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.admin.client

    def client(self, token: str | None = None, **kw: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.AsyncClient(base_url=self.server.base_url, headers=headers, timeout=20, **kw)
        self.clients.append(c)
        return c

    async def user(self, role: Role = Role.AGENT, name: str = "Agent") -> UserHandle:
        return await _make_user(self, role, name)

    async def inbox(self, **data: Any) -> dict[str, Any]:
        body = {"name": uniq("Site "), **data}
        r = await self.http.post("/api/v1/inboxes", json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def visitor(self, inbox: dict[str, Any], name: str = "Visitor") -> Visitor:
        c = self.client()
        r = await c.post(f"/api/v1/widget/{inbox['public_key']}/contacts", json={"name": name})
        assert r.status_code == 201, r.text
        return Visitor(self, inbox["public_key"], r.json()["contact_id"], r.json()["token"], c)

    async def conversation(self, text: str = "你好，我想咨询一下订单") -> tuple[Visitor, dict[str, Any]]:
        """A visitor's first message in a new widget inbox; returns the visitor and the conversation."""
        inbox = await self.inbox()
        visitor = await self.visitor(inbox)
        msg = await visitor.say(text)
        r = await self.http.get(f"/api/v1/conversations/{msg['conversation_id']}")
        assert r.status_code == 200, r.text
        return visitor, r.json()

    def agent_ws(self, token: str | None = None, last_event_id: int | None = None) -> Any:
        url = f"{self.server.ws_url}/ws/agent"
        if last_event_id is not None:
            url += f"?last_event_id={last_event_id}"
        return websockets.connect(
            url, additional_headers={"Authorization": f"Bearer {token or self.admin.token}"}, open_timeout=60
        )


@dataclass
class Visitor:
    world: World
    inbox_key: str
    contact_id: int
    token: str
    client: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Contact-Token": self.token}

    async def say(self, text: str, client_message_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"content": text, "client_message_id": client_message_id or uniq("c-")}
        r = await self.client.post(f"/api/v1/widget/{self.inbox_key}/messages", json=body, headers=self.headers)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    async def messages(self) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/widget/{self.inbox_key}/messages", headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def ticket(self) -> str:
        r = await self.client.post(f"/api/v1/widget/{self.inbox_key}/socket_ticket", headers=self.headers)
        assert r.status_code == 201, r.text
        return r.json()["ticket"]  # type: ignore[no-any-return]

    def ws(self, last_event_id: int | None = None) -> Any:
        """The widget socket, opened as the widget does: with a one-time ticket fetched over HTTP."""
        return _WidgetSocket(self, last_event_id)


class _WidgetSocket:
    def __init__(self, visitor: Visitor, last_event_id: int | None) -> None:
        self.visitor, self.last_event_id, self._cm = visitor, last_event_id, None

    async def __aenter__(self) -> Any:
        v = self.visitor
        url = f"{v.world.server.ws_url}/ws/widget?inbox={v.inbox_key}&ticket={await v.ticket()}"
        if self.last_event_id is not None:
            url += f"&last_event_id={self.last_event_id}"
        self._cm = websockets.connect(url, open_timeout=60)
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        assert self._cm is not None
        return await self._cm.__aexit__(*exc)


async def recv_json(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    import asyncio

    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def recv_until(ws: Any, type_: str, timeout: float = 5.0) -> dict[str, Any]:
    """Next frame of the given type (skipping others)."""
    import asyncio

    async def loop() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") == type_:
                return msg  # type: ignore[no-any-return]

    return await asyncio.wait_for(loop(), timeout)


async def _make_user(world: World, role: Role, name: str, account_id: int | None = None) -> UserHandle:
    state = world.server.state
    async with state.sessionmaker() as session:
        user = await check_create_user(
            session,
            account_id or world.account_id,
            UserCreate(email=f"{uniq('u')}@test.kefu", name=name, password=PASSWORD, role=role),
            Actor(ActorType.SYSTEM),
        )
        _, token = await do_create_api_token(session, Principal(user=user, via="token"), "tests")
    return UserHandle(user.id, user.email, str(role), token, world.client(token))


@contextlib.asynccontextmanager
async def new_account(server: LiveServer) -> AsyncIterator[World]:
    async with server.state.sessionmaker() as session:
        account = await do_create_account(session, uniq("Account "))
        await commit(session)
    world = World(server, account.id, admin=None)  # type: ignore[arg-type]
    world.admin = await _make_user(world, Role.ADMIN, "Admin")
    try:
        yield world
    finally:
        for c in world.clients:
            await c.aclose()
