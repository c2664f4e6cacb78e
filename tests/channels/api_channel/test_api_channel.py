"""The API channel over HTTP (`POST /channels/{public_key}` with the inbox's bearer token), on SQLite and
PostgreSQL: messages from contacts known by external id, email or phone; retries that store nothing new;
phone-call records; refused requests that store nothing; replies POSTed to the inbox's webhook URL and
verified by a loopback receiver with its own HMAC code."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.channels.api_channel.adapter import API
from kefu.channels.base import OutboundMessage
from kefu.conversations.models import DeliveryStatus, Message
from kefu.core.http import HttpPolicy
from tests.support.factories import World, uniq
from tests.web.conftest import login
from tests.webhooks.receiver import Receiver, serve

SECRET = "api-channel-secret-0123456789"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve(Receiver(secret=SECRET)) as r:
        yield r


async def _inbox(api: World, webhook_url: str | None = None) -> dict[str, Any]:
    return await api.inbox(channel_type="api", config={"webhook_url": webhook_url, "secret": SECRET})


async def _post(api: World, inbox: dict[str, Any], body: Any, token: str | None = SECRET, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await api.client().post(f"/channels/{inbox['public_key']}", content=content, headers=headers, **kw)


async def _count(api: World, inbox_id: int) -> int:
    from kefu.conversations.models import Conversation

    async with api.server.state.sessionmaker() as session:
        q = select(func.count()).select_from(Message).join(Conversation, Conversation.id == Message.conversation_id)
        return int(await session.scalar(q.where(Conversation.inbox_id == inbox_id)) or 0)


async def _identities(api: World, conversation_id: int) -> tuple[int, dict[str, str]]:
    conv = (await api.http.get(f"/api/v1/conversations/{conversation_id}")).json()
    contact = (await api.http.get(f"/api/v1/contacts/{conv['contact_id']}")).json()
    return conv["contact_id"], {i["kind"]: i["value"] for i in contact["identities"]}


async def test_messages_by_each_identity_kind_and_retries_store_nothing_new(api: World) -> None:
    inbox = await _inbox(api)
    ext, email = uniq("cust-"), f"{uniq('c')}@example.com"
    body = {
        "contact": {"external_id": ext, "email": email, "name": "王小明"},
        "message": {"id": "m-1", "content": "你好"},
    }
    r = await _post(api, inbox, body)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["received"] == 1 and first["messages"][0]["duplicate"] is False
    conv_id = first["messages"][0]["conversation_id"]
    contact_id, ids = await _identities(api, conv_id)
    assert ids == {"external_id": ext, "email": email}

    again = await _post(api, inbox, body)  # the sender's retry
    assert again.json() == {"received": 1, "messages": [{**first["messages"][0], "duplicate": True}]}

    by_email = await _post(
        api, inbox, {"contact": {"email": email.upper()}, "message": {"id": "m-2", "content": "在吗"}}
    )
    by_phone = await _post(
        api, inbox, {"contact": {"email": email, "phone": "138 0013 8000"}, "message": {"id": "m-3", "content": "?"}}
    )
    assert [x.json()["messages"][0]["conversation_id"] for x in (by_email, by_phone)] == [conv_id, conv_id]
    assert (await _identities(api, conv_id))[1] == {"external_id": ext, "email": email, "phone": "+8613800138000"}
    only_phone = await _post(
        api, inbox, {"contact": {"phone": "+86 138-0013-8000"}, "message": {"id": "m-4", "content": "!"}}
    )
    assert (await _identities(api, only_phone.json()["messages"][0]["conversation_id"]))[0] == contact_id
    msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert [(m["content"], m["client_message_id"], m["direction"]) for m in msgs] == [
        ("你好", "m-1", "incoming"),
        ("在吗", "m-2", "incoming"),
        ("?", "m-3", "incoming"),
        ("!", "m-4", "incoming"),
    ]
    assert msgs[0]["meta"] == {"api": {"message_id": "m-1"}}


async def test_bad_requests_are_refused_and_store_nothing(api: World) -> None:
    inbox = await _inbox(api)
    good = {"contact": {"external_id": "x-1"}, "message": {"id": "b-1", "content": "hello"}}
    cases = [
        (await _post(api, inbox, good, token=None), 401, "send the inbox's secret as Authorization: Bearer <secret>"),
        (
            await _post(api, inbox, good, token="not-the-secret-at-all"),
            401,
            "the bearer token is not this inbox's secret",
        ),
        (await _post(api, inbox, b'{"contact": {', token=SECRET), 400, None),
        (await _post(api, inbox, [1, 2]), 400, "the body must be a JSON object"),
        (await _post(api, inbox, {"contact": {}, "message": {"id": "b", "content": "x"}}), 422, None),
        (await _post(api, inbox, {"contact": {"phone": "12345"}, "message": {"id": "b", "content": "x"}}), 422, None),
        (await _post(api, inbox, {"contact": {"email": "nope"}, "message": {"id": "b", "content": "x"}}), 422, None),
        (await _post(api, inbox, {**good, "extra": 1}), 422, None),
        (
            await _post(
                api, inbox, {"contact": {"external_id": "x"}, "message": {"id": "b", "content": "长" * 100_000}}
            ),
            413,
            None,
        ),
        (await _post(api, inbox, {"type": "call", "call": {"id": "c", "caller": "+8613800138000"}}), 422, None),
        (
            await _post(
                api, inbox, {"contact": {"external_id": "new-1"}, "message": {"id": "b", "content": "x" * 10_001}}
            ),
            413,
            "message is 10,001 characters; the limit is 10,000",
        ),
    ]
    got = [(r.status_code, r.json()["error"]["message"] if msg else None) for r, _, msg in cases]
    assert got == [(status, msg) for _, status, msg in cases]
    assert "not a valid phone number" in cases[5][0].text
    assert await _count(api, inbox["id"]) == 0
    contacts = (await api.http.get("/api/v1/contacts")).json()["items"]
    assert contacts == []  # no contact was created for a refused request
    other = await _inbox(api)  # the token of another inbox does not open this one
    r = await api.client().post(
        f"/channels/{other['public_key']}", json=good, headers={"Authorization": "Bearer another-inbox-secret-xyz"}
    )
    assert r.status_code == 401


async def test_a_phone_call_record_becomes_a_conversation_of_the_caller(api: World) -> None:
    inbox = await _inbox(api)
    call = {
        "id": uniq("call-"),
        "caller": "+8613912345678",
        "callee": "+864001234567",
        "direction": "inbound",
        "started_at": "2026-12-07T08:30:00+08:00",
        "duration_s": 192,
        "recording_url": "https://pbx.example.com/rec/1.mp3",
        "transcript": "客户：我的快递三天没动了。\n客服：我马上帮您查。",
    }
    r = await _post(api, inbox, {"type": "call", "contact": {"name": "李女士"}, "call": call})
    assert r.status_code == 200, r.text
    conv_id = r.json()["messages"][0]["conversation_id"]
    assert (await _post(api, inbox, {"type": "call", "call": call})).json()["messages"][0]["duplicate"] is True
    _, ids = await _identities(api, conv_id)
    assert ids == {"phone": "+8613912345678"}
    [msg] = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert (msg["content"], msg["client_message_id"]) == (call["transcript"], f"call:{call['id']}")
    assert msg["meta"]["call"] == {**call, "started_at": "2026-12-07T00:30:00Z"}

    quiet = {**call, "id": uniq("call-"), "direction": "outbound", "caller": "+864001234567", "callee": "13912345678"}
    quiet.pop("transcript")
    r = await _post(api, inbox, {"type": "call", "call": quiet})
    assert r.json()["messages"][0]["conversation_id"] == conv_id  # the customer is the callee of an outbound call
    msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert msgs[-1]["content"] == "☎ +864001234567 → +8613912345678 · 3 min 12 s"

    browser = await login(api, api.admin)
    expected = {
        "zh_CN": ("呼入电话", "主叫", "时长: 3 分 12 秒", "录音", "呼出电话"),
        "zh_TW": ("撥入電話", "主叫", "時長: 3 分 12 秒", "錄音", "撥出電話"),
        "en": ("Inbound call", "Caller", "Duration: 3 min 12 s", "Recording", "Outbound call"),
    }
    for lang, (inbound, caller, duration, recording, outbound) in expected.items():
        html = (await browser.http.get(f"/app/c/{conv_id}/messages?lang={lang}")).text
        cards = html.split('class="call-record"')[1:]
        assert len(cards) == 2, html
        assert f"☎ {inbound}" in cards[0] and f"☎ {outbound}" in cards[1]
        assert f'{caller}: <span class="call-caller">+8613912345678</span>' in cards[0]
        assert duration in cards[0]
        assert (
            f'href="https://pbx.example.com/rec/1.mp3" target="_blank" rel="noopener noreferrer">{recording}'
            in cards[0]
        )
        assert "我马上帮您查" in cards[0] and "call-transcript" not in cards[1]


def _outbound(
    api: World, inbox: dict[str, Any], policy: HttpPolicy, content: str = "您好，已为您查询。"
) -> OutboundMessage:
    return OutboundMessage(
        message_id=4242,
        account_id=api.account_id,
        inbox_id=inbox["id"],
        conversation_id=77,
        contact_id=88,
        content=content,
        attachments=[],
        identities={"external_id": "cust-1"},
        policy=policy,
    )


async def test_a_reply_is_posted_signed_to_the_webhook_url(api: World, receiver: Receiver) -> None:
    inbox = await _inbox(api, receiver.url)
    config = API.parse_config({"webhook_url": receiver.url, "secret": SECRET})
    allowed = HttpPolicy.of([receiver.host])
    result = await API.send(_outbound(api, inbox, allowed), config)
    assert (result.status, result.error) == (DeliveryStatus.SENT, None)
    [req] = receiver.requests
    assert req.signature_ok and req.headers["x-kefu-delivery"] == "message-4242"
    body = req.json
    assert (body["id"], body["event"]) == ("message-4242", "message.created")
    assert body["data"] == {
        "message": {"id": 4242, "content": "您好，已为您查询。", "attachments": []},
        "conversation_id": 77,
        "contact": {"id": 88, "identities": {"external_id": "cust-1"}},
    }

    receiver.fail_first, receiver.fail_status = 2, 503
    retry = await API.send(_outbound(api, inbox, allowed), config)
    assert (retry.status, retry.retry, retry.error) == (DeliveryStatus.FAILED, True, "the webhook answered HTTP 503")
    receiver.fail_first, receiver.fail_status = 4, 400
    rejected = await API.send(_outbound(api, inbox, allowed), config)
    assert (rejected.retry, rejected.error) == (False, "the webhook answered HTTP 400")
    denied = await API.send(_outbound(api, inbox, HttpPolicy()), config)
    assert denied.retry is False and "is not on this account's list of outbound hosts" in (denied.error or "")
    none = await API.send(_outbound(api, inbox, allowed), API.parse_config({"secret": SECRET}))
    assert (none.retry, none.error) == (False, "the API inbox has no webhook_url to deliver replies to")


async def test_a_slow_webhook_is_retried_later(api: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(API), "timeout_s", 0.3)
    receiver.delay_s = 1.0
    inbox = await _inbox(api, receiver.url)
    config = API.parse_config({"webhook_url": receiver.url, "secret": SECRET})
    result = await API.send(_outbound(api, inbox, HttpPolicy.of([receiver.host])), config)
    assert result.retry is True and (result.error or "").endswith("timed out after 0.3 s")


async def test_an_agent_reply_goes_out_through_the_delivery_job(api: World, receiver: Receiver) -> None:
    await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [receiver.host]})
    inbox = await _inbox(api, receiver.url)
    r = await _post(api, inbox, {"contact": {"external_id": "e-9"}, "message": {"id": "in-1", "content": "有人吗"}})
    conv_id = r.json()["messages"][0]["conversation_id"]
    sent = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "在的，请讲。"})
    assert sent.status_code == 201, sent.text
    [req] = await receiver.wait_for(1)
    assert req.signature_ok
    assert req.json["data"]["message"]["content"] == "在的，请讲。"
    assert req.json["data"]["contact"]["identities"] == {"external_id": "e-9"}
