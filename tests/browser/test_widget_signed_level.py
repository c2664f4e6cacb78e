"""A site's snippet carries a customer level signed by its server: the widget passes it on and the visitor
becomes a VIP; a snippet whose signature does not match leaves the visitor's level alone."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect

from kefu.channels.widget.identity import sign_level
from tests.browser.conftest import NewContext
from tests.browser.flows import customer_opens_widget, customer_says
from tests.browser.test_admin_inbox_embed import plain_site
from tests.support.factories import World

pytestmark = pytest.mark.browser


def _page(base: str, key: str, user_id: str, level: str, signature: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Shop</title></head><body><h1>Shop</h1>"
        f'<script src="{base}/widget.js" data-inbox="{key}" data-locale="en" data-user-id="{user_id}" '
        f'data-level="{level}" data-signature="{signature}" async></script></body></html>'
    )


async def _tier_of_conversation(api: World, inbox_id: int) -> str:
    deadline = time.monotonic() + 30
    while True:
        convs = (await api.http.get("/api/v1/conversations", params={"status": "all", "inbox_id": inbox_id})).json()
        if convs["items"]:
            contact = (await api.http.get(f"/api/v1/contacts/{convs['items'][0]['contact_id']}")).json()
            return str(contact["tier"])
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)


@pytest.mark.parametrize(("signed_right", "tier"), [(True, "vip"), (False, "normal")])
async def test_the_snippet_passes_a_signed_level(
    api: World, new_context: NewContext, signed_right: bool, tier: str
) -> None:
    base = api.server.base_url
    inbox = await api.inbox()
    secret = (await api.http.get(f"/api/v1/inboxes/{inbox['id']}/identity_secret")).json()["secret"]
    signature = sign_level(secret if signed_right else "not-the-secret", "u-77", "vip")
    with plain_site(_page(base, inbox["public_key"], "u-77", "vip", signature)) as url:
        _, frame = await customer_opens_widget(await new_context("en-US"), url)
        await expect(frame.locator("body[data-ready='1']")).to_have_count(1)
        await customer_says(frame, "hello from the shop")
        assert await _tier_of_conversation(api, inbox["id"]) == tier
