"""The shared provider webhook (`/channels/{public_key}`, channels/webhook.py) and what every inbox's
API shows: the callback URL, config validated by the channel's adapter, secrets never read back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from kefu.channels.configs import SECRET_MASK
from kefu.conversations.models import Message
from tests.channels.recording import KIND, RecordingAdapter, make_recording_inbox, registered
from tests.support.factories import World


@pytest.fixture
def adapter() -> Iterator[RecordingAdapter]:
    RecordingAdapter.secret_fields = frozenset({"secret"})
    try:
        with registered() as recording:
            yield recording
    finally:
        RecordingAdapter.secret_fields = frozenset()


async def _messages(api: World, content: str) -> int:
    async with api.server.state.sessionmaker() as session:
        q = select(func.count()).select_from(Message).where(Message.content == content)
        return int((await session.execute(q)).scalar_one())


async def test_a_provider_posts_to_the_callback_url_once_per_message(api: World, adapter: RecordingAdapter) -> None:
    inbox = await api.inbox()
    await make_recording_inbox(api.server.state, inbox["id"], secret="webhook-secret")
    visitor = await api.visitor(await api.inbox())
    got = (await api.http.get(f"/api/v1/inboxes/{inbox['id']}")).json()
    assert got["channel_type"] == KIND
    assert got["callback_url"] == f"{api.server.state.settings.base_url}/channels/{inbox['public_key']}"
    assert got["config"] == {"secret": SECRET_MASK}
    path = f"/channels/{inbox['public_key']}"
    anon = api.client()
    body = json.dumps({"contact_id": visitor.contact_id, "content": "via webhook", "client_message_id": "p-1"})

    r = await anon.post(path, content=body, headers={"X-Test-Secret": "wrong-secret"})
    assert (r.status_code, r.json()["error"]["message"]) == (401, "bad signature")
    assert await _messages(api, "via webhook") == 0
    for _ in range(2):  # the provider retries: one message
        r = await anon.post(path, content=body, headers={"X-Test-Secret": "webhook-secret"})
        assert (r.status_code, r.json()) == (200, {"received": 1})
    assert await _messages(api, "via webhook") == 1
    r = await anon.get(path)
    assert r.status_code == 404 and "URL verification for channel" in r.json()["error"]["message"]
    assert (await anon.post("/channels/no-such-inbox", content=body)).status_code == 404
    widget = await api.inbox()  # the widget has routes of its own
    assert (await anon.post(f"/channels/{widget['public_key']}", content=body)).status_code == 404
    assert (await api.http.get(f"/api/v1/inboxes/{widget['id']}")).json()["callback_url"] is None


async def test_config_is_checked_by_the_adapter_and_the_mask_keeps_a_secret(
    api: World, adapter: RecordingAdapter
) -> None:
    inbox = await api.inbox()
    await make_recording_inbox(api.server.state, inbox["id"], secret="first-secret")
    url = f"/api/v1/inboxes/{inbox['id']}"
    r = await api.http.patch(url, json={"config": {"secret": "short"}})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "config.secret: String should have at least 8 characters"
    r = await api.http.patch(url, json={"name": "Renamed", "config": {"secret": SECRET_MASK}})
    assert (r.status_code, r.json()["config"]) == (200, {"secret": SECRET_MASK})
    async with api.server.state.sessionmaker() as session:
        from kefu.channels.models import Inbox

        stored = await session.get(Inbox, inbox["id"])
        assert stored is not None and stored.config == {"secret": "first-secret"}
