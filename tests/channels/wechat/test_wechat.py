"""The WeChat Official Account channel over its real callback URL on the live server (both databases),
with a local server implementing WeChat's API contract (tests/support/wx_server.py): URL verification,
plaintext / compatible / safe mode, every message type, the refusals (nothing stored), replies through
custom/send with the shared access token, its refresh, WeChat's errors, and the 48-hour window."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from kefu.channels.delivery import deliver_message
from kefu.channels.models import ChannelState
from kefu.channels.wechat import texts
from kefu.channels.wxapi import TOKEN_STATE
from kefu.contacts.models import Contact, ContactIdentity
from kefu.conversations.models import Message
from kefu.conversations.schemas import MessageCreate
from kefu.conversations.service import check_post_agent_message
from kefu.core import clock
from kefu.core.constants import ActorType
from kefu.core.events import Actor, bind_bus
from kefu.core.jobs import InProcessRunner, JobContext
from tests.support import wx_requests as wx
from tests.support import wx_server
from tests.support.factories import World, uniq
from tests.web.conftest import login


@pytest.fixture
def wxs() -> wx_server.WxServer:
    return wx_server.shared()


async def _inbox(api: World, wxs: wx_server.WxServer, *, aes: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    config = wx.wechat_config(wxs.base_url, aes=aes)
    wxs.state.apps[config["app_id"]] = config["app_secret"]
    inbox = await api.inbox(channel_type="wechat", config=config)
    return inbox, config


async def _post(api: World, request: Any) -> Any:
    return await api.client().post(f"/channels/{request.inbox_key}", params=dict(request.query), content=request.body)


async def _stored(api: World, inbox_id: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(content, client_message_id, meta) of the inbox's messages, in order."""
    r = await api.http.get("/api/v1/conversations", params={"inbox_id": inbox_id, "status": "all"})
    out: list[tuple[str, str | None, dict[str, Any]]] = []
    for conv in sorted(r.json()["items"], key=lambda c: c["id"]):
        msgs = (await api.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()
        out += [(m["content"], m["client_message_id"], m["meta"]) for m in msgs if m["direction"] == "incoming"]
    return out


async def test_the_callback_url_is_verified_with_the_token(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config = await _inbox(api, wxs)
    assert inbox["callback_url"] == f"{api.server.settings.base_url}/channels/{inbox['public_key']}"
    assert inbox["config"]["app_secret"] == inbox["config"]["encoding_aes_key"] == "********"
    anon, key = api.client(), inbox["public_key"]
    good = wx.wechat_get(key, config, "echo-123456")
    r = await anon.get(f"/channels/{key}", params=dict(good.query))
    assert (r.status_code, r.text, r.headers["content-type"]) == (200, "echo-123456", "text/plain; charset=utf-8")
    for query, message in (
        ({**good.query, "signature": "0" * 40}, "bad signature"),
        ({"echostr": "x"}, "unsigned request: signature, timestamp, nonce missing"),
        (dict(wx.wechat_get(key, config, "x", str(int(time.time()) - 400)).query), None),
    ):
        r = await anon.get(f"/channels/{key}", params=query)
        assert r.status_code == 401
        assert r.json()["error"]["message"] == (
            message or "the timestamp is more than 5 minutes away from now: a stale or replayed request"
        )


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_a_text_message_in_each_mode_is_stored_once(api: World, wxs: wx_server.WxServer, mode: str) -> None:
    inbox, config = await _inbox(api, wxs, aes=mode != "plain")
    openid = uniq("oWx_")
    request = wx.wechat_post(
        inbox["public_key"], config, wx.text(openid, f"{mode} 模式：我的快递到哪了？", "6054768590064713728"), mode=mode
    )
    for _ in range(2):  # WeChat retries after 5 s without an answer: one message
        r = await _post(api, request)
        assert (r.status_code, r.text, r.headers["content-type"]) == (200, "success", "text/plain; charset=utf-8")
    assert await _stored(api, inbox["id"]) == [
        (f"{mode} 模式：我的快递到哪了？", "6054768590064713728", {"type": "text"})
    ]
    async with api.server.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(ContactIdentity.kind, ContactIdentity.value).where(
                    ContactIdentity.account_id == api.account_id, ContactIdentity.value == openid
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("wechat_openid", openid)]


async def test_every_message_type(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config = await _inbox(api, wxs)
    key, openid, at = inbox["public_key"], uniq("oWx_"), int(time.time())
    base = {"ToUserName": "gh_123456789abc", "FromUserName": openid, "CreateTime": at}
    pushes = [
        {**base, "MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_42", "UnionId": "uWx_" + openid},
        {**base, "MsgType": "image", "PicUrl": "http://mmbiz.qpic.cn/x.jpg", "MediaId": "media-1", "MsgId": "101"},
        {**base, "MsgType": "voice", "MediaId": "media-2", "Format": "amr", "Recognition": "我要退货", "MsgId": "102"},
        {**base, "MsgType": "voice", "MediaId": "media-3", "Format": "amr", "MsgId": "103"},
        {**base, "MsgType": "event", "Event": "CLICK", "EventKey": "CONTACT_US", "CreateTime": at + 1},
        {**base, "MsgType": "event", "Event": "VIEW", "EventKey": "https://shop.example/"},  # not stored
        {**base, "MsgType": "event", "Event": "unsubscribe", "EventKey": "", "CreateTime": at + 2},
    ]
    for fields in pushes:
        r = await _post(api, wx.wechat_post(key, config, wx.xml(fields)))
        assert (r.status_code, r.text) == (200, "success")
    event = {"type": "event", "automated": True}
    assert await _stored(api, inbox["id"]) == [
        ("[subscribed]", f"{openid}:{at}:subscribe", {**event, "event": "subscribe", "event_key": "qrscene_42"}),
        ("[image]", "101", {"type": "image", "pic_url": "http://mmbiz.qpic.cn/x.jpg", "media_id": "media-1"}),
        ("我要退货", "102", {"type": "voice", "media_id": "media-2", "format": "amr", "recognition": "我要退货"}),
        ("[voice]", "103", {"type": "voice", "media_id": "media-3", "format": "amr", "recognition": ""}),
        ("[menu] CONTACT_US", f"{openid}:{at + 1}:CLICK", {**event, "event": "CLICK", "event_key": "CONTACT_US"}),
        ("[unsubscribed]", f"{openid}:{at + 2}:unsubscribe", {**event, "event": "unsubscribe", "event_key": ""}),
    ]
    async with api.server.state.sessionmaker() as session:
        q = select(ContactIdentity.kind, ContactIdentity.value, ContactIdentity.contact_id).where(
            ContactIdentity.account_id == api.account_id
        )
        idents = sorted((k, v) for k, v, _ in (await session.execute(q)).all())
        contacts = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.account_id == api.account_id)
        )
    assert idents == [("wechat_openid", openid), ("wechat_unionid", "uWx_" + openid)]  # subscribe made the contact
    assert contacts == 1


async def test_bad_requests_are_refused_and_store_nothing(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config = await _inbox(api, wxs)
    plain_inbox, plain_config = await _inbox(api, wxs, aes=False)
    key, openid = inbox["public_key"], uniq("oWx_")
    good = wx.text(openid, "hi", "201")
    cases = [
        (wx.wechat_post(key, config, good, tamper={"signature": "0" * 40}), 401, "bad signature"),
        (wx.wechat_post(key, config, good, tamper={"msg_signature": "0" * 40}), 401, "bad msg_signature"),
        (
            wx.wechat_post(key, config, good, tamper={"msg_signature": ""}),
            401,
            "unsigned request: msg_signature missing",
        ),
        (wx.wechat_post(key, config, good, tamper={"signature": ""}), 401, "unsigned request: signature missing"),
        (
            wx.wechat_post(key, config, good, mode="plain"),
            401,
            "this inbox takes encrypted messages only (compatible or safe mode)",
        ),
        (wx.wechat_post(key, config, good, timestamp=str(int(time.time()) - 301)), 401, None),
        (wx.wechat_post(key, config, "<xml><MsgType>text"), 400, None),
        (
            wx.wechat_post(key, config, wx.text(openid, " \u3000 ", "203")),
            422,
            "the WeChat message cannot be stored: String should have at least 1 character",
        ),
        (
            wx.wechat_post(
                key, config, wx.xml({"FromUserName": openid, "CreateTime": 1, "MsgType": "text", "Content": "x"})
            ),
            400,
            "a WeChat text message without MsgId",
        ),
        (
            wx.wechat_post(key, config, wx.text(openid, "长" * 30_000, "202")),
            413,
            "the XML body is larger than 65,536 bytes",
        ),
        (
            wx.wechat_post(
                plain_inbox["public_key"], plain_config, '<!DOCTYPE x [<!ENTITY a "b">]><xml/>', mode="plain"
            ),
            400,
            "XML with a DOCTYPE or entity declarations is refused",
        ),
        (
            wx.wechat_post(plain_inbox["public_key"], plain_config, good),
            400,
            "an encrypted message, but this inbox has no EncodingAESKey (plaintext mode)",
        ),
    ]
    for request, status, message in cases:
        r = await _post(api, request)
        assert r.status_code == status, (r.text, request.query)
        if message:
            assert r.json()["error"]["message"] == message
    huge = await api.client().post(f"/channels/{key}", content=b"x" * (3 * 1024 * 1024))  # the global body limit
    assert huge.status_code == 413
    assert await _stored(api, inbox["id"]) == [] and await _stored(api, plain_inbox["id"]) == []


async def _wait_delivery(api: World, conv_id: int, message_id: int) -> dict[str, Any]:
    for _ in range(200):
        msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
        msg = next(m for m in msgs if m["id"] == message_id)
        if msg["delivery_status"] != "pending":
            return msg  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError("the delivery did not settle")


async def _conversation(api: World, wxs: wx_server.WxServer) -> tuple[dict[str, Any], dict[str, Any], str, int]:
    inbox, config = await _inbox(api, wxs)
    openid = uniq("oWx_")
    r = await _post(api, wx.wechat_post(inbox["public_key"], config, wx.text(openid, "在吗？", uniq())))
    assert r.status_code == 200
    convs = (await api.http.get("/api/v1/conversations", params={"inbox_id": inbox["id"]})).json()["items"]
    return inbox, config, openid, convs[0]["id"]


async def _reply(api: World, conv_id: int, text: str) -> Any:
    return await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": text})


async def test_replies_use_one_cached_token_and_refresh_it_when_wechat_refuses_it(
    api: World, wxs: wx_server.WxServer
) -> None:
    inbox, config, openid, conv_id = await _conversation(api, wxs)

    def calls(path: str) -> list[wx_server.Call]:
        """This inbox's calls: its token requests and its sends to this customer."""
        mine = [c for c in wxs.state.of(path) if c.query.get("appid") == config["app_id"]]
        return mine + [c for c in wxs.state.of(path) if isinstance(c.body, dict) and c.body.get("touser") == openid]

    for text in ("您好，已为您查询。", "还有其他问题吗？"):
        r = await _reply(api, conv_id, text)
        assert r.status_code == 201, r.text
        msg = await _wait_delivery(api, conv_id, r.json()["id"])
        assert (msg["delivery_status"], msg["delivery_error"]) == ("sent", None)
    assert len(calls("/cgi-bin/token")) == 1  # cached between sends (and between nodes: it is in the database)
    sends = calls("/cgi-bin/message/custom/send")
    assert [c.body for c in sends] == [
        {"touser": openid, "msgtype": "text", "text": {"content": "您好，已为您查询。"}},
        {"touser": openid, "msgtype": "text", "text": {"content": "还有其他问题吗？"}},
    ]
    first_token = sends[0].query["access_token"]
    async with api.server.state.sessionmaker() as session:
        row = (
            await session.execute(
                select(ChannelState).where(ChannelState.inbox_id == inbox["id"], ChannelState.name == TOKEN_STATE)
            )
        ).scalar_one()
    assert row.value == first_token
    assert row.expires_at is not None and abs((row.expires_at - clock.now()).total_seconds() - (7200 - 300)) < 60

    wxs.state.tokens[first_token] = False  # expired: 42001, fetched again, sent on the retry
    r = await _reply(api, conv_id, "第三条")
    assert (await _wait_delivery(api, conv_id, r.json()["id"]))["delivery_status"] == "sent"
    del wxs.state.tokens[calls("/cgi-bin/message/custom/send")[-1].query["access_token"]]  # revoked: 40001
    r = await _reply(api, conv_id, "第四条")
    assert (await _wait_delivery(api, conv_id, r.json()["id"]))["delivery_status"] == "sent"
    assert len(calls("/cgi-bin/token")) == 3
    tokens = [c.query["access_token"] for c in calls("/cgi-bin/message/custom/send")]
    assert tokens[2] == first_token and tokens[3] != first_token and tokens[4] == tokens[3] and tokens[5] != tokens[4]


async def test_wechats_refusals_show_on_the_message(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config, openid, conv_id = await _conversation(api, wxs)
    wxs.state.window_closed.add(openid)
    r = await _reply(api, conv_id, "您好")
    msg = await _wait_delivery(api, conv_id, r.json()["id"])
    assert (msg["delivery_status"], msg["delivery_error"]) == (
        "failed",
        "WeChat refused the message: errcode 45015 response out of time limit or subscription is canceled",
    )
    wxs.state.window_closed.discard(openid)
    wxs.state.apps[config["app_id"]] = "rotated-secret"  # the inbox still has the old one
    async with api.server.state.sessionmaker() as session:
        await session.execute(update(ChannelState).where(ChannelState.inbox_id == inbox["id"]).values(value="stale"))
        await session.commit()
    wxs.state.tokens["stale"] = False
    r = await _reply(api, conv_id, "您好")
    msg = await _wait_delivery(api, conv_id, r.json()["id"])
    assert (msg["delivery_status"], msg["delivery_error"]) == (
        "failed",
        "WeChat refused the message: errcode 40125 invalid appsecret",
    )


async def test_the_48_hour_window(api: World, wxs: wx_server.WxServer) -> None:
    inbox, config, openid, conv_id = await _conversation(api, wxs)
    async with api.server.state.sessionmaker() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conv_id)
            .values(created_at=clock.now() - timedelta(hours=49))
        )
        await session.commit()
    before = len(wxs.state.of("/cgi-bin/message/custom/send"))
    r = await _reply(api, conv_id, "抱歉久等了")
    assert r.status_code == 409
    assert r.json()["error"] == {
        "code": "conflict",
        "message": texts.WINDOW_CLOSED,
        "details": {"reason": "channel_refused_reply"},
    }
    note = await api.http.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"content": "内部备注", "kind": "note"}
    )
    assert note.status_code == 201  # a private note never reaches WeChat: allowed
    msgs = (await api.http.get(f"/api/v1/conversations/{conv_id}/messages")).json()
    assert [m["content"] for m in msgs] == ["在吗？", "内部备注"]

    browser = await login(api, api.admin)
    for lang, words in (("en", "48 hours"), ("zh_CN", "48 小时"), ("zh_TW", "48 小時")):
        page = await browser.http.get(f"/app?c={conv_id}&lang={lang}")
        assert page.status_code == 200 and 'class="reply-refused"' in page.text and words in page.text

    r = await _post(api, wx.wechat_post(inbox["public_key"], config, wx.text(openid, "我又来了", uniq())))
    assert r.status_code == 200  # the customer writes again: the window opens
    r = await _reply(api, conv_id, "您好")
    assert r.status_code == 201
    assert (await _wait_delivery(api, conv_id, r.json()["id"]))["delivery_status"] == "sent"
    page = await browser.http.get(f"/app?c={conv_id}&lang=en")
    assert 'class="reply-refused"' not in page.text

    at = int(time.time())
    unsub = {"ToUserName": "gh_1", "FromUserName": openid, "CreateTime": at, "MsgType": "event", "Event": "unsubscribe"}
    assert (await _post(api, wx.wechat_post(inbox["public_key"], config, wx.xml(unsub)))).status_code == 200
    r = await _reply(api, conv_id, "还在吗？")
    assert (r.status_code, r.json()["error"]["message"]) == (409, texts.UNSUBSCRIBED)
    assert len(wxs.state.of("/cgi-bin/message/custom/send")) == before + 1


async def test_a_pending_reply_whose_window_closed_fails_without_calling_wechat(
    api: World, wxs: wx_server.WxServer
) -> None:
    _, _, openid, conv_id = await _conversation(api, wxs)
    state = api.server.state
    async with state.sessionmaker() as session:  # written while the window was open, not yet delivered
        bind_bus(session, state.bus)
        _, posted = await check_post_agent_message(
            session,
            api.account_id,
            conv_id,
            MessageCreate(content="稍等，正在查询"),
            Actor(ActorType.USER, api.admin.id),
            max_chars=1000,
        )
    assert posted.message.delivery_status == "pending"
    async with state.sessionmaker() as session:
        await session.execute(
            update(Message)
            .where(Message.conversation_id == conv_id, Message.direction == "incoming")
            .values(created_at=clock.now() - timedelta(hours=48, minutes=1))
        )
        await session.commit()
    ctx = JobContext(state.sessionmaker, state.bus, state.settings, runner=InProcessRunner(run_periodic=False))
    assert await deliver_message(ctx, posted.message.id) == "failed"
    msg = await _wait_delivery(api, conv_id, posted.message.id)
    assert (msg["delivery_status"], msg["delivery_error"]) == ("failed", texts.WINDOW_CLOSED)
    assert [c for c in wxs.state.of("/cgi-bin/message/custom/send") if c.body.get("touser") == openid] == []
