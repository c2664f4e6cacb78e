"""Helpers for page tests: a browser-like HTTP client that logs in through the /login form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.factories import PASSWORD, UserHandle, World


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


async def login(world: World, user: UserHandle, **client_kw: object) -> Browser:
    http = httpx.AsyncClient(base_url=world.server.base_url, timeout=20, **client_kw)  # type: ignore[arg-type]
    world.clients.append(http)
    r = await http.post("/login", data={"email": user.email, "password": PASSWORD, "next": "/app"})
    assert r.status_code == 303, r.text
    me = await http.get("/api/v1/me")
    assert me.status_code == 200, me.text
    return Browser(http, me.json()["csrf_token"])


@pytest.fixture
async def admin_browser(api: World) -> AsyncIterator[Browser]:
    yield await login(api, api.admin)
