"""Helpers for page tests: a browser-like HTTP client that logs in through the /login form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from kefu.auth.deps import SESSION_COOKIE
from kefu.auth.service import do_start_session, get_user
from tests.support.factories import UserHandle, World


@dataclass
class Browser:
    """An httpx client holding a login session cookie, plus the session's CSRF token."""

    http: httpx.AsyncClient
    csrf: str

    async def post_form(self, url: str, data: dict[str, object], *, csrf: bool = True) -> httpx.Response:
        body = dict(data)
        if csrf:
            body["csrf_token"] = self.csrf
        return await self.http.post(url, data=body)


async def start_session(world: World, user: UserHandle) -> tuple[str, str]:
    """A login session made through the auth service: (cookie token, CSRF token).

    Tests log in this way rather than through the /login form because the login rate limit per client
    address (all tests come from 127.0.0.1) is shared by the whole run; tests/web/test_login.py covers the form."""
    async with world.server.state.sessionmaker() as session:
        found = await get_user(session, world.account_id, user.id)
        token, row = await do_start_session(session, found, 3600)
    return token, row.csrf_token


async def login(world: World, user: UserHandle, *, cookies: dict[str, str] | None = None) -> Browser:
    token, csrf = await start_session(world, user)
    http = httpx.AsyncClient(
        base_url=world.server.base_url, timeout=20, cookies={SESSION_COOKIE: token, **(cookies or {})}
    )
    world.clients.append(http)
    me = await http.get("/api/v1/me")
    assert me.status_code == 200, me.text
    return Browser(http, csrf)


@pytest.fixture
async def admin_browser(api: World) -> AsyncIterator[Browser]:
    yield await login(api, api.admin)
