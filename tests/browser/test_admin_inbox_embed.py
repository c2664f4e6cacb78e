"""An admin creates a widget inbox in the UI; the snippet it shows works on a page of another origin."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewContext, screenshot
from tests.browser.flows import agent_session, customer_opens_widget, customer_says
from tests.support.factories import World

pytestmark = pytest.mark.browser


@contextlib.contextmanager
def plain_site(html: str) -> Iterator[str]:
    """A static HTML page on its own loopback port: a second origin, like a customer's website."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def test_admin_creates_inbox_and_snippet_works_on_another_origin(api: World, new_context: NewContext) -> None:
    base = api.server.base_url
    admin_page = await agent_session(await new_context("zh-CN"), api, api.admin, "zh_CN")
    await admin_page.goto(f"{base}/admin/inboxes")
    await expect(admin_page.locator("h1")).to_have_text("接入渠道")
    await admin_page.fill("#new-inbox input[name=name]", "官网 Website")
    await admin_page.fill("#new-inbox textarea[name=greeting]", "Welcome to ACME")
    await admin_page.click("#new-inbox button[type=submit]")
    await expect(admin_page.locator("h1")).to_have_text("官网 Website")
    snippet = await admin_page.locator("#embed-snippet").input_value()
    key = await admin_page.locator("#inbox-key").inner_text()
    assert snippet == f'<script src="{base}/widget.js" data-inbox="{key}" async></script>'
    await screenshot(admin_page, "admin-inbox-zh_CN")

    html = f"<!doctype html><html><head><title>ACME</title></head><body><h1>ACME shop</h1>{snippet}</body></html>"
    with plain_site(html) as site:
        assert not site.startswith(base)
        page, frame = await customer_opens_widget(await new_context("en-GB"), site)
        await expect(frame.locator("#w-input")).to_have_attribute("placeholder", "Type a message…")
        await expect(frame.locator("#w-greeting")).to_have_text("Welcome to ACME")
        await customer_says(frame, "Hello from another site")
        convs = (await api.http.get("/api/v1/conversations?status=all")).json()["items"]
        assert [(c["last_message"], c["inbox_id"]) for c in convs] == [
            ("Hello from another site", (await api.http.get("/api/v1/inboxes")).json()[-1]["id"])
        ]
        r = await api.http.post(f"/api/v1/conversations/{convs[0]['id']}/messages", json={"content": "Hi there!"})
        assert r.status_code == 201
        await expect(frame.locator(".w-msg.w-agent .w-bubble", has_text="Hi there!")).to_have_count(1)
        await screenshot(page, "widget-second-origin-en")
