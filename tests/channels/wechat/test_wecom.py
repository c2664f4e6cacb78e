"""The WeCom customer-service channel over its real callback URL on the live server (both databases),
with the local WeCom contract server: URL verification, kf/sync_msg pulling with the stored cursor
(paging, bounded, idempotent), kf/send_msg, and service_state/trans when a conversation is handed on."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from kefu.channels.models import ChannelState
from kefu.channels.wechat import texts
from kefu.channels.wecom import sync
from kefu.conversations.models import Message
from kefu.core import clock
from tests.support import wx_requests as wx
from tests.support import wx_server
from tests.support.factories import World, uniq


@pytest.fixture
def wxs() -> wx_server.WxServer:
    return wx_server.shared()


async def _inbox(
    api: World, wxs: wx_server.WxServer, settings: dict[str, Any] | None = None, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    config = {**wx.wecom_config(wxs.base_url), **(settings or {})}
    wxs.state.corps[config["corp_id"]] = config["secret"]
    return await api.inbox(channel_type="wecom", config=config, **extra), config


async def _post(api: World, request: Any) -> Any:
    return await api.client().post(f"/channels/{request.inbox_key}", params=dict(request.query), content=request.body)


async def _stored(api: World, inbox_id: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    r = await api.http.get("/api/v1/conversations", params={"inbox_id": inbox_id, "status": "all"})
    out: list[tuple[str, str | None, dict[str, Any]]] = []
    for conv in sorted(r.json()["items"], key=lambda c: c["id"]):
        msgs = (await api.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()
        out += [(m["content"], m["client_message_id"], m["meta"]) for m in msgs if m["direction"] == "incoming"]
    return out


async def _cursor(api: World, inbox_id: int) -> str | None:
    async with api.server.state.sessionmaker() as session:
        q = select(ChannelState.value).where(ChannelState.inbox_id == inbox_id, ChannelState.name == sync.CURSOR_STATE)
        return await session.scalar(q)


def _syncs(wxs: wx_server.WxServer, config: dict[str, Any]) -> list[dict[str, Any]]:
    return [c.body for c in wxs.state.of("/cgi-bin/kf/sync_msg") if c.body.get("open_kfid") == config["open_kfid"]]


async def test_the_callback_url_is_verified_by_decrypting_echostr(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config = await _inbox(api, wxs)
    anon, key = api.client(), inbox["public_key"]
    assert inbox["config"]["secret"] == inbox["config"]["encoding_aes_key"] == "********"
    r = await anon.get(f"/channels/{key}", params=dict(wx.wecom_get(key, config, "6480458390413086208").query))
    assert (r.status_code, r.text) == (200, "6480458390413086208")
    other = {**config, "corp_id": "ww-someone-else"}
    for query, status, message in (
        ({**wx.wecom_get(key, config, "x").query, "msg_signature": "0" * 40}, 401, "bad msg_signature"),
        (wx.wecom_get(key, config, "x", str(int(time.time()) - 400)).query, 401, None),
        ({"echostr": "x"}, 401, "unsigned request: msg_signature, timestamp, nonce missing"),
        (
            wx.wecom_get(key, other, "x").query,
            400,
            "the message cannot be decrypted: the message is for another app id / corp id",
        ),
    ):
        r = await anon.get(f"/channels/{key}", params=dict(query))
        assert r.status_code == status, r.text
        if message:
            assert r.json()["error"]["message"] == message


async def test_messages_are_pulled_page_by_page_from_the_stored_cursor_once(
    api: World, wxs: wx_server.WxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "SYNC_LIMIT", 2)
    monkeypatch.setattr(sync, "MAX_PAGES", 3)
    inbox, config = await _inbox(api, wxs)
    key, user = inbox["public_key"], uniq("wmEx_")
    enter = {
        "msgid": uniq("ev"),
        "open_kfid": config["open_kfid"],
        "origin": 4,
        "msgtype": "event",
        "event": {
            "event_type": "enter_session",
            "open_kfid": config["open_kfid"],
            "external_userid": user,
            "scene": "123",
            "scene_param": "order=42",
        },
    }
    image = {**wx.kf_text(config, user, "m-image", ""), "msgtype": "image", "image": {"media_id": "MEDIA_1"}}
    del image["text"]
    servicer = {**wx.kf_text(config, user, "m-servicer", "我是客服"), "origin": 5}
    elsewhere = {**wx.kf_text(config, user, "m-other", "x"), "open_kfid": "wk-another-account"}
    wxs.state.kf_messages += [
        enter,
        wx.kf_text(config, user, "m-1", "你好，我想退货"),
        image,
        servicer,
        wx.kf_text(config, user, "m-2", "订单号 KF20261125001"),
        wx.kf_text(config, user, "m-3", "在吗？"),
        wx.kf_text(config, user, "m-4", "第七条"),
        elsewhere,
    ]
    event = wx.wecom_event(config, token="TOKEN_A")
    r = await _post(api, wx.wecom_post(key, config, event))
    assert (r.status_code, r.text) == (200, "success")
    assert [(b.get("cursor"), b["token"], b["limit"]) for b in _syncs(wxs, config)] == [
        (None, "TOKEN_A", 2),
        ("2", "TOKEN_A", 2),
        ("4", "TOKEN_A", 2),
    ]  # bounded: three pages in this request, the rest with the next callback
    assert await _cursor(api, inbox["id"]) == "6"
    r = await _post(api, wx.wecom_post(key, config, wx.wecom_event(config, token="TOKEN_B")))
    assert r.status_code == 200
    assert [(b.get("cursor"), b["token"]) for b in _syncs(wxs, config)[3:]] == [("6", "TOKEN_B")]
    assert await _cursor(api, inbox["id"]) == "7"
    entered = {"type": "event", "event": "enter_session", "scene": "123", "scene_param": "order=42", "automated": True}
    expected = [
        ("[entered the conversation]", enter["msgid"], entered),
        ("你好，我想退货", "m-1", {"type": "text", "menu_id": ""}),
        ("[image]", "m-image", {"type": "image", "media_id": "MEDIA_1"}),
        ("订单号 KF20261125001", "m-2", {"type": "text", "menu_id": ""}),
        ("在吗？", "m-3", {"type": "text", "menu_id": ""}),
        ("第七条", "m-4", {"type": "text", "menu_id": ""}),
    ]
    assert await _stored(api, inbox["id"]) == expected  # in the order the customer sent them

    async with api.server.state.sessionmaker() as session:  # the cursor lost: everything pulled again, stored once
        await session.execute(delete(ChannelState).where(ChannelState.inbox_id == inbox["id"]))
        await session.commit()
    for _ in range(3):
        assert (await _post(api, wx.wecom_post(key, config, event))).status_code == 200
    assert await _stored(api, inbox["id"]) == expected


async def test_a_failed_pull_is_a_503_and_moves_nothing(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config = await _inbox(api, wxs)
    wxs.state.kf_messages.append(wx.kf_text(config, uniq("wmEx_"), uniq("m"), "hello"))
    wxs.state.fail_next["/cgi-bin/kf/sync_msg"] = (-1, "system error")
    r = await _post(api, wx.wecom_post(inbox["public_key"], config, wx.wecom_event(config)))
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["error"]["message"].startswith(
        "WeCom's messages could not be pulled: WeChat error -1 (system error)"
    )
    assert await _stored(api, inbox["id"]) == [] and await _cursor(api, inbox["id"]) is None
    r = await _post(api, wx.wecom_post(inbox["public_key"], config, wx.wecom_event(config)))  # WeCom calls again
    assert r.status_code == 200 and [m[0] for m in await _stored(api, inbox["id"])] == ["hello"]


async def _until(check: Any, timeout: float = 15.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_replies_go_through_send_msg_and_a_handoff_changes_the_service_state(
    api: World, wxs: wx_server.WxServer
) -> None:
    # no bot: the customer's first message queues the conversation; the inbox tells WeCom of handoffs
    inbox, config = await _inbox(api, wxs, {"handoff_state": True})
    user = uniq("wmEx_")
    wxs.state.kf_messages.append(wx.kf_text(config, user, uniq("m"), "人工客服"))
    assert (await _post(api, wx.wecom_post(inbox["public_key"], config, wx.wecom_event(config)))).status_code == 200
    conv = (await api.http.get("/api/v1/conversations", params={"inbox_id": inbox["id"]})).json()["items"][0]

    def trans() -> list[dict[str, Any]]:
        calls = wxs.state.of("/cgi-bin/kf/service_state/trans")
        return [c.body for c in calls if c.body.get("open_kfid") == config["open_kfid"]]

    queued = {"open_kfid": config["open_kfid"], "external_userid": user, "service_state": 2}
    assert await _until(trans) == [queued]

    agent = await api.user()
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/assignment", json={"assignee_id": agent.id})
    assert r.status_code == 200, r.text
    assert await _until(lambda: len(trans()) == 2 and trans()) == [queued, queued]  # no WeCom userid known: 2

    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "您好，我是客服小王"})
    assert r.status_code == 201

    def sent() -> list[Any]:
        return [c for c in wxs.state.of("/cgi-bin/kf/send_msg") if c.body.get("open_kfid") == config["open_kfid"]]

    await _until(sent)
    assert [c.body for c in sent()] == [
        {"touser": user, "open_kfid": config["open_kfid"], "msgtype": "text", "text": {"content": "您好，我是客服小王"}}
    ]
    msgs = (await api.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()
    reply = next(m for m in msgs if m["id"] == r.json()["id"])
    for _ in range(50):
        if reply["delivery_status"] != "pending":
            break
        await asyncio.sleep(0.1)
        msgs = (await api.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()
        reply = next(m for m in msgs if m["id"] == r.json()["id"])
    assert (reply["delivery_status"], reply["delivery_error"]) == ("sent", None)
    tokens = [c for c in wxs.state.of("/cgi-bin/gettoken") if c.query["corpid"] == config["corp_id"]]
    assert len(tokens) == 1  # one token for the pull, the handoffs and the reply: shared through the database


async def test_by_default_wecom_is_not_told_of_a_handoff(api: World, wxs: wx_server.WxServer) -> None:
    """kefu's agents answer through kf/send_msg, which WeCom allows only in states 0 and 1: by default a
    handoff inside kefu leaves WeCom's session state alone."""
    inbox, config = await _inbox(api, wxs)
    wxs.state.kf_messages.append(wx.kf_text(config, uniq("wmEx_"), uniq("m"), "人工客服"))
    assert (await _post(api, wx.wecom_post(inbox["public_key"], config, wx.wecom_event(config)))).status_code == 200
    conv = (await api.http.get("/api/v1/conversations", params={"inbox_id": inbox["id"]})).json()["items"][0]

    async def queued() -> bool:
        events = (await api.http.get("/api/v1/events", params={"conversation_id": conv["id"]})).json()
        return any(e["type"] == "conversation.queued" for e in events)

    for _ in range(100):
        if await queued():
            break
        await asyncio.sleep(0.1)
    assert await queued()
    await asyncio.sleep(1.0)  # the handoff listener runs right after the queue's: time for a call it must not make
    calls = wxs.state.of("/cgi-bin/kf/service_state/trans")
    assert [c for c in calls if c.body.get("open_kfid") == config["open_kfid"]] == []


async def test_replies_past_wecoms_48_hours_are_refused(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config = await _inbox(api, wxs)
    wxs.state.kf_messages.append(wx.kf_text(config, uniq("wmEx_"), uniq("m"), "你好"))
    assert (await _post(api, wx.wecom_post(inbox["public_key"], config, wx.wecom_event(config)))).status_code == 200
    conv = (await api.http.get("/api/v1/conversations", params={"inbox_id": inbox["id"]})).json()["items"][0]
    async with api.server.state.sessionmaker() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conv["id"])
            .values(created_at=clock.now() - timedelta(hours=49))
        )
        await session.commit()
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "抱歉久等了"})
    assert (r.status_code, r.json()["error"]["message"]) == (409, texts.WECOM_WINDOW_CLOSED)
