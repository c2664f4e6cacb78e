"""A customer who moves channel continues the same case (docs/customers.md#continuity): with the account's
`continuity` = same_conversation their message from another inbox goes into the open conversation, with
`linked` it starts a conversation there linked to the open one. Every message records the inbox it came
through, and a reply goes out on the channel the customer last used unless the agent picks another (the
recording test adapter is the delivering channel). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from kefu.channels import delivery
from kefu.conversations.schemas import MessageCreate
from kefu.conversations.service import check_post_agent_message
from kefu.core.constants import ActorType, Role
from kefu.core.events import Actor, bind_bus
from kefu.core.jobs import InProcessRunner, JobContext
from tests.channels.recording import RecordingAdapter, make_recording_inbox, registered
from tests.support.factories import Visitor, World, uniq

SECRET = "s3cret-test"


@pytest.fixture
def adapter(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingAdapter]:
    monkeypatch.setattr(delivery, "RETRY_DELAYS_S", (0.05,))
    with registered() as recording:
        yield recording


@pytest.fixture
async def runner(api: World) -> AsyncIterator[InProcessRunner]:
    state = api.server.state
    jobs = InProcessRunner(run_periodic=False)
    await jobs.start(JobContext(state.sessionmaker, state.bus, state.settings))
    yield jobs
    await jobs.stop()


async def _setup(api: World) -> tuple[Visitor, int, dict[str, Any], dict[str, Any]]:
    """A widget visitor with an open conversation, and a second (delivering) inbox of the account."""
    widget = await api.inbox()
    visitor = await api.visitor(widget)
    conv_id = (await visitor.say("网页上问一下：订单 A123 到哪了"))["conversation_id"]
    other = await api.inbox(name=uniq("Phone "))
    await make_recording_inbox(api.server.state, other["id"], SECRET)
    return visitor, conv_id, widget, other


async def _write_from(api: World, inbox: dict[str, Any], contact_id: int, text: str) -> dict[str, Any]:
    body = {"contact_id": contact_id, "content": text, "client_message_id": uniq("m-")}
    r = await api.client().post(
        f"/channels/{inbox['public_key']}", content=json.dumps(body), headers={"X-Test-Secret": SECRET}
    )
    assert r.status_code == 200, r.text
    return body


async def _messages(api: World, conv_id: int) -> list[dict[str, Any]]:
    return (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()  # type: ignore[no-any-return]


async def _reply(api: World, conv_id: int, text: str, runner: InProcessRunner, inbox_id: int | None = None) -> int:
    state = api.server.state
    async with state.sessionmaker() as session:
        bind_bus(session, state.bus)
        _, posted = await check_post_agent_message(
            session,
            api.account_id,
            conv_id,
            MessageCreate(content=text, inbox_id=inbox_id),
            Actor(ActorType.USER, api.admin.id),
            max_chars=1000,
            jobs=runner,
        )
    return posted.message.id


async def _settled(api: World, conv_id: int, message_id: int) -> dict[str, Any]:
    for _ in range(100):
        msg = next(m for m in await _messages(api, conv_id) if m["id"] == message_id)
        if msg["delivery_status"] != "pending":
            return msg
        await asyncio.sleep(0.05)
    return msg


async def test_same_conversation_is_the_default(api: World, adapter: RecordingAdapter) -> None:
    assert (await api.http.get("/api/v1/account/continuity")).json() == {"continuity": "same_conversation"}
    visitor, conv_id, widget, other = await _setup(api)
    await _write_from(api, other, visitor.contact_id, "我打电话过来补充一下")
    msgs = await _messages(api, conv_id)
    assert [(m["content"], m["inbox_id"]) for m in msgs] == [
        ("网页上问一下：订单 A123 到哪了", widget["id"]),
        ("我打电话过来补充一下", other["id"]),
    ]
    convs = (await api.http.get("/api/v1/conversations", params={"status": "all", "inbox_id": other["id"]})).json()
    assert convs["items"] == []
    # the widget shows the same conversation, with the message that came by the other channel
    assert [m["content"] for m in (await visitor.messages())["messages"]] == [m["content"] for m in msgs]


async def test_linked_starts_a_conversation_linked_to_the_open_one(api: World, adapter: RecordingAdapter) -> None:
    agent = await api.user(Role.AGENT)
    r = await agent.client.put("/api/v1/account/continuity", json={"continuity": "linked"})
    assert r.status_code == 403
    r = await api.http.put("/api/v1/account/continuity", json={"continuity": "sometimes"})
    assert r.status_code == 422
    r = await api.http.put("/api/v1/account/continuity", json={"continuity": "linked"})
    assert (r.status_code, r.json()) == (200, {"continuity": "linked"})
    visitor, conv_id, _, other = await _setup(api)
    await _write_from(api, other, visitor.contact_id, "换个渠道问")
    convs = (await api.http.get("/api/v1/conversations", params={"status": "all", "inbox_id": other["id"]})).json()
    [linked] = convs["items"]
    assert (linked["contact_id"], linked["linked_conversation_id"], linked["status"]) == (
        visitor.contact_id,
        conv_id,
        "open",
    )
    assert [m["content"] for m in await _messages(api, linked["id"])] == ["换个渠道问"]
    assert [m["content"] for m in await _messages(api, conv_id)] == ["网页上问一下：订单 A123 到哪了"]
    # the next message from that channel continues the linked conversation
    await _write_from(api, other, visitor.contact_id, "还有一个问题")
    assert [m["content"] for m in await _messages(api, linked["id"])] == ["换个渠道问", "还有一个问题"]


async def test_a_reply_goes_out_on_the_channel_last_used_unless_picked(
    api: World, adapter: RecordingAdapter, runner: InProcessRunner
) -> None:
    visitor, conv_id, widget, other = await _setup(api)
    await _write_from(api, other, visitor.contact_id, "电话里说不清，再问一下")
    by_phone = await _reply(api, conv_id, "好的，这就查", runner)
    msg = await _settled(api, conv_id, by_phone)
    assert (msg["inbox_id"], msg["delivery_status"]) == (other["id"], "sent")
    assert [(o.message_id, o.inbox_id, o.conversation_id) for o in adapter.sent] == [(by_phone, other["id"], conv_id)]

    await visitor.say("我回到网页了")
    on_widget = await _reply(api, conv_id, "网页上回复您", runner)
    msg = await _settled(api, conv_id, on_widget)
    assert (msg["inbox_id"], msg["delivery_status"]) == (widget["id"], None)  # the widget's socket delivers it
    assert len(adapter.sent) == 1

    picked = await _reply(api, conv_id, "也给您电话渠道发一份", runner, inbox_id=other["id"])
    msg = await _settled(api, conv_id, picked)
    assert (msg["inbox_id"], msg["delivery_status"]) == (other["id"], "sent")
    assert [o.message_id for o in adapter.sent] == [by_phone, picked]

    never = await api.inbox(name=uniq("Never "))
    before = len(await _messages(api, conv_id))
    r = await api.http.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"content": "走另一个渠道", "inbox_id": never["id"]}
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        f"the customer has not written from inbox {never['id']}; reply on one of inboxes "
        f"{', '.join(str(i) for i in sorted([widget['id'], other['id']]))}"
    )
    assert len(await _messages(api, conv_id)) == before
