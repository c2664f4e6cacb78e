"""What every response carries and what every request may be: security headers, Secure cookies on
https, login CSRF, the body-size limit, and the rate limit on new widget visitors."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from kefu.contacts.models import Contact
from kefu.core.constants import Role
from tests.conftest import free_port
from tests.support.factories import PASSWORD, World, new_account
from tests.support.server import LiveServer, start_server

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def fake_ip() -> str:
    n = random.randrange(1, 2**24 - 1)
    return f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture(scope="module")
async def https_server(backend: dict[str, str | None]) -> AsyncIterator[LiveServer]:
    """A server whose public URL is https (behind a TLS proxy) and that allows 3 new visitors per address."""
    prefix = f"kefu-test-{uuid.uuid4().hex[:8]}:"
    extra = {"base_url": "https://kefu.example.com", "widget_visitors_per_ip": 3}
    async with start_server(backend, port=free_port(), redis_prefix=prefix, **extra) as live:
        yield live


async def test_pages_and_api_carry_security_headers(api: World) -> None:
    c = api.client()
    for path in ("/login", "/app", "/admin/inboxes"):
        r = await c.get(path)
        assert r.headers["content-security-policy"] == PAGE_CSP, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers  # the test server's URL is http
    inbox = await api.inbox()
    frame = await c.get(f"/widget/frame?inbox={inbox['public_key']}")
    assert frame.status_code == 200
    assert frame.headers["content-security-policy"] == PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors *")
    assert "x-frame-options" not in frame.headers  # customers' sites embed it
    r = await c.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"
    docs = await c.get("/docs")
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]


async def test_https_base_url_adds_hsts_and_secure_cookies(https_server: LiveServer) -> None:
    async with new_account(https_server) as world:
        agent = await world.user(Role.AGENT)
        c = world.client()
        r = await c.post("/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("kefu_session=") and "; Secure" in cookie and "HttpOnly" in cookie
        assert r.headers["strict-transport-security"] == "max-age=31536000"


async def test_login_from_another_site_is_refused(api: World) -> None:
    agent = await api.user(Role.AGENT)
    c = api.client()
    body = {"email": agent.email, "password": PASSWORD}
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {"Origin": "null"}):
        r = await c.post("/api/v1/auth/login", json=body, headers=headers)
        assert r.status_code == 403, headers
        assert r.json()["error"] == {
            "code": "csrf_failed",
            "message": "log in from kefu's own login page (this request came from another site)",
        }
        assert "set-cookie" not in r.headers
        page = await c.post("/login?lang=en", data=body, headers=headers)
        assert page.status_code == 403
        assert "Log in from this page: the form was sent from another site." in page.text
        assert "kefu_session" not in page.headers.get("set-cookie", "")
    ours = api.server.base_url
    r = await c.post("/login", data=body, headers={"Origin": ours, "Referer": ours + "/login"})
    assert (r.status_code, r.headers["location"]) == (303, "/app")
    assert (await api.client().post("/api/v1/auth/login", json=body)).status_code == 200  # a script: no Origin


async def test_an_oversized_body_is_refused_before_it_is_read(api: World) -> None:
    big = b'{"email": "' + b"a" * (3 * 1024 * 1024) + b'", "password": "x"}'
    r = await api.client().post("/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {
        "error": {"code": "too_large", "message": "the request body is larger than the limit of 2,097,152 bytes"}
    }
    # Without Content-Length (chunked): refused as soon as the limit is passed, long before the body ends.
    status, sent = await _chunked_post(api.server.base_url, "/api/v1/auth/login", total=100 * 1024 * 1024)
    assert status == 413
    assert sent < 10 * 1024 * 1024
    # The same streamed refusal on the customer-message fast route (a plain Starlette route).
    inbox = await api.inbox()
    status, _ = await _chunked_post(
        api.server.base_url, f"/api/v1/widget/{inbox['public_key']}/messages", total=20 << 20
    )
    assert status == 413


async def test_uploads_keep_their_own_larger_limit(api: World) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024)
    r = await api.http.post("/api/v1/attachments", files={"file": ("big.png", png, "image/png")})
    assert r.status_code == 201, r.text
    assert api.server.state.settings.max_attachment_bytes + 64 * 1024 == 10_551_296
    status, sent = await _chunked_post(
        api.server.base_url,
        "/api/v1/attachments",
        total=40 << 20,
        headers=f"Authorization: Bearer {api.admin.token}\r\nContent-Type: multipart/form-data; boundary=x\r\n",
        prefix=b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n',
    )
    assert status == 413
    assert 10_551_296 <= sent < 25 << 20  # refused long before the 40 MiB end (socket buffers hold some)


async def _chunked_post(
    base: str, path: str, *, total: int, headers: str = "Content-Type: application/json\r\n", prefix: bytes = b""
) -> tuple[int, int]:
    """POST a chunked body of `total` bytes over a raw socket; stop as soon as an answer comes.
    Returns (status, bytes sent before the answer)."""
    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n{headers}"
    writer.write((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
    if prefix:
        writer.write(b"%x\r\n%s\r\n" % (len(prefix), prefix))
    chunk = b"a" * 65536
    sent = 0
    answer = asyncio.ensure_future(reader.readline())
    try:
        while sent < total and not answer.done():
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, TimeoutError):
                break
            sent += len(chunk)
            await asyncio.sleep(0)
        status_line = await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
    return int(status_line.split()[1]), sent


async def test_new_widget_visitors_are_rate_limited_per_address(https_server: LiveServer) -> None:
    async with new_account(https_server) as world:
        inbox = await world.inbox()
        path = f"/api/v1/widget/{inbox['public_key']}/contacts"
        c = world.client()
        one = {"X-Forwarded-For": fake_ip()}
        rs = await asyncio.gather(*(c.post(path, json={"name": f"v{i}"}, headers=one) for i in range(10)))
        assert sorted(r.status_code for r in rs) == [201] * 3 + [429] * 7
        refused = next(r for r in rs if r.status_code == 429)
        retry = int(refused.headers["Retry-After"])
        assert 0 < retry <= 600
        assert refused.json()["error"]["code"] == "rate_limited"
        assert refused.json()["error"]["message"].startswith("too many new chats from your address; try again in")
        async with https_server.state.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).select_from(Contact).where(Contact.account_id == world.account_id)
            )
        assert count == 3
        other = await c.post(path, json={"name": "elsewhere"}, headers={"X-Forwarded-For": fake_ip()})
        assert other.status_code == 201
