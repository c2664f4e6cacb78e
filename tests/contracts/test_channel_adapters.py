"""Every channel adapter (channels/base.py) passes the same contract: the registered ones, and the recording
adapter of the tests. A new channel adds a `Harness` here — a test fails for an adapter without one.

The contract: it is registered under its Inbox.channel_type; its config schema is a Pydantic model that
takes a valid config; a genuine inbound request parses into `InboundMessage`s of the right inbox and
contact, which the one inbound action stores once (a repeat is a retry); a forged, unknown or malformed
request is a precise 4xx and stores nothing; `send` answers a `DeliveryResult`."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import func, select

from kefu.channels.base import (
    ADAPTERS,
    ChannelAdapter,
    DeliveryResult,
    InboundRequest,
    OutboundMessage,
    get_adapter,
)
from kefu.contacts.service import do_contact_for_identity
from kefu.conversations.inbound import receive_customer_messages
from kefu.conversations.models import DeliveryStatus, Message
from kefu.conversations.outbound import DELIVERED_KINDS
from kefu.conversations.schemas import InboundMessage
from kefu.core.constants import ChannelType, IdentityKind
from kefu.core.errors import KefuError
from kefu.core.http import HttpPolicy
from kefu.main import register_channels
from tests.channels import recording
from tests.conftest import free_port
from tests.support import wx_requests as wx
from tests.support import wx_server
from tests.support.factories import World, uniq
from tests.webhooks.receiver import Receiver, serve


@dataclass
class Case:
    """One adapter's inputs in one test account."""

    inbox_id: int
    contact_id: int
    config: dict[str, Any]
    request: Callable[[str], InboundRequest]  # a genuine request carrying this client_message_id
    bad: list[tuple[int, InboundRequest]] = field(default_factory=list)  # (expected status, request)
    identities: dict[str, str] = field(default_factory=dict)  # the contact's, for `send`
    policy: HttpPolicy = field(default_factory=HttpPolicy)  # the account's outbound hosts, for `send`


Harness = Callable[[World], Awaitable[Case]]


async def _widget(api: World) -> Case:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    other = await api.visitor(await api.inbox())
    key, token = visitor.inbox_key, {"x-contact-token": visitor.token}

    def body(content: str, cmid: str | None = None) -> bytes:
        return json.dumps({"content": content, "client_message_id": cmid}).encode()

    return Case(
        inbox_id=inbox["id"],
        contact_id=visitor.contact_id,
        config={},
        request=lambda cmid: InboundRequest(key, token, body("你好，在吗？", cmid)),
        bad=[
            (401, InboundRequest(key, {"x-contact-token": "forged"}, body("hi"))),
            (401, InboundRequest(key, {}, body("hi"))),
            (401, InboundRequest(key, {"x-contact-token": other.token}, body("hi"))),
            (404, InboundRequest("no-such-inbox", token, body("hi"))),
            (400, InboundRequest(key, token, b'{"content": "x",')),
            (422, InboundRequest(key, token, body("   "))),
        ],
    )


async def _recording(api: World) -> Case:
    visitor, conv = await api.conversation("hello")
    await recording.make_recording_inbox(api.server.state, conv["inbox_id"], secret="s3cret-test")
    key, signed = visitor.inbox_key, {"x-test-secret": "s3cret-test"}

    def body(cmid: str | None) -> bytes:
        return json.dumps(
            {"contact_id": visitor.contact_id, "content": "a test message", "client_message_id": cmid}
        ).encode()

    return Case(
        inbox_id=conv["inbox_id"],
        contact_id=visitor.contact_id,
        config={"secret": "s3cret-test"},
        request=lambda cmid: InboundRequest(key, signed, body(cmid)),
        bad=[
            (401, InboundRequest(key, {"x-test-secret": "wrong-secret"}, body("x"))),
            (404, InboundRequest("no-such-inbox", signed, body("x"))),
            (400, InboundRequest(key, signed, b"not json")),
        ],
    )


_SMTP: dict[str, int] = {}  # the port of the email harness's SMTP peer (a module fixture starts it)


async def _email(api: World) -> Case:
    config = {"address": "support@shop.example", "smtp_host": "127.0.0.1", "smtp_port": _SMTP["port"]}
    inbox = await api.inbox(channel_type="email", config={**config, "smtp_tls": "none"})
    async with api.server.state.sessionmaker() as session:
        contact, _ = await do_contact_for_identity(session, api.account_id, IdentityKind.EMAIL, "li.wei@example.com")
    key = inbox["public_key"]

    def raw(cmid: str) -> bytes:
        head = f"From: Li Wei <li.wei@example.com>\r\nSubject: 订单\r\nMessage-ID: <{cmid}>\r\n"
        return (head + "\r\n你好，在吗？\r\n").encode()

    big = raw("big") + b"x" * api.server.settings.email_max_bytes
    return Case(
        inbox_id=inbox["id"],
        contact_id=contact.id,
        config={**config, "smtp_tls": "none"},
        request=lambda cmid: InboundRequest(key, {}, raw(cmid)),
        bad=[
            (404, InboundRequest("no-such-inbox", {}, raw("x"))),
            (400, InboundRequest(key, {}, b"")),
            (400, InboundRequest(key, {}, b"not a mail")),
            (422, InboundRequest(key, {}, b"Subject: no sender\r\n\r\nhi")),
            (413, InboundRequest(key, {}, big)),
        ],
        identities={"email": "li.wei@example.com"},
    )


@pytest.fixture(scope="module", autouse=True)
def _smtp_peer() -> Iterator[None]:
    """A real SMTP server the email adapter's `send` talks to."""

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    port = free_port()
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    _SMTP["port"] = port
    try:
        yield
    finally:
        controller.stop()


async def _contact(api: World, inbox_id: int, kind: IdentityKind, value: str) -> int:
    async with api.server.state.sessionmaker() as session:
        contact, _ = await do_contact_for_identity(session, api.account_id, kind, value, inbox_id=inbox_id)
        return contact.id


async def _wechat(api: World) -> Case:
    server = wx_server.shared()
    config = wx.wechat_config(server.base_url)
    server.state.apps[config["app_id"]] = config["app_secret"]
    inbox = await api.inbox(channel_type="wechat", config=config)
    openid = uniq("oWx_")
    contact_id = await _contact(api, inbox["id"], IdentityKind.WECHAT_OPENID, openid)
    key = inbox["public_key"]
    good = wx.text(openid, "你好，我的订单还没到", "1")
    stale = str(int(time.time()) - 301)
    return Case(
        inbox_id=inbox["id"],
        contact_id=contact_id,
        config=config,
        request=lambda cmid: wx.wechat_post(key, config, wx.text(openid, "你好，我的订单还没到", cmid)),
        bad=[
            (401, wx.wechat_post(key, config, good, tamper={"signature": "0" * 40})),
            (401, wx.wechat_post(key, config, good, tamper={"msg_signature": "0" * 40})),
            (401, wx.wechat_post(key, config, good, tamper={"signature": "", "timestamp": "", "nonce": ""})),
            (401, wx.wechat_post(key, config, good, timestamp=stale)),
            (401, wx.wechat_post(key, config, good, mode="plain")),  # this inbox takes encrypted messages only
            (404, wx.wechat_post("no-such-inbox", config, good)),
            (400, wx.wechat_post(key, config, "<xml><MsgType>text</MsgType>")),
            (413, wx.wechat_post(key, config, wx.text(openid, "长" * 30_000, "2"))),
        ],
        identities={IdentityKind.WECHAT_OPENID: openid},
    )


async def _wecom(api: World) -> Case:
    server = wx_server.shared()
    config = wx.wecom_config(server.base_url)
    server.state.corps[config["corp_id"]] = config["secret"]
    inbox = await api.inbox(channel_type="wecom", config=config)
    userid = uniq("wmEx_")
    contact_id = await _contact(api, inbox["id"], IdentityKind.WECOM_EXTERNAL_USERID, userid)
    key = inbox["public_key"]
    event = wx.wecom_event(config)

    def request(cmid: str) -> InboundRequest:
        server.state.kf_messages[:] = [wx.kf_text(config, userid, cmid, "请问发货了吗？")]
        return wx.wecom_post(key, config, event)

    return Case(
        inbox_id=inbox["id"],
        contact_id=contact_id,
        config=config,
        request=request,
        bad=[
            (401, wx.wecom_post(key, config, event, tamper={"msg_signature": "0" * 40})),
            (401, wx.wecom_post(key, config, event, tamper={"msg_signature": ""})),
            (401, wx.wecom_post(key, config, event, timestamp=str(int(time.time()) - 301))),
            (404, wx.wecom_post("no-such-inbox", config, event)),
            (400, InboundRequest(key, {}, b"<xml><Encrypt>", wx.wecom_post(key, config, event).query)),
            (413, wx.wecom_post(key, config, "<xml>" + "长" * 30_000 + "</xml>")),
        ],
        identities={IdentityKind.WECOM_EXTERNAL_USERID: userid},
    )


API_SECRET = "api-inbox-secret-0123456789"
_RECEIVERS: list[Receiver] = []  # the loopback receiver of the API channel's replies (module fixture)


async def _api(api: World) -> Case:
    receiver = _RECEIVERS[0]
    config = {"webhook_url": receiver.url, "secret": API_SECRET}
    inbox = await api.inbox(channel_type="api", config=config)
    key, bearer = inbox["public_key"], {"authorization": f"Bearer {API_SECRET}"}
    cmid = uniq("known-")
    first = await api.client().post(
        f"/channels/{key}",
        json={"contact": {"external_id": cmid}, "message": {"id": cmid, "content": "hi"}},
        headers=bearer,
    )
    assert first.status_code == 200, first.text
    conv_id = first.json()["messages"][0]["conversation_id"]
    conv = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()

    def body(message_id: str, content: str = "我想查一下订单 A1001") -> bytes:
        return json.dumps(
            {"contact": {"external_id": cmid}, "message": {"id": message_id, "content": content}}
        ).encode()

    return Case(
        inbox_id=inbox["id"],
        contact_id=conv["contact_id"],
        config=config,
        request=lambda m: InboundRequest(key, bearer, body(m)),
        bad=[
            (401, InboundRequest(key, {"authorization": "Bearer wrong-secret-0123456789"}, body("x"))),
            (401, InboundRequest(key, {}, body("x"))),
            (404, InboundRequest("no-such-inbox", bearer, body("x"))),
            (400, InboundRequest(key, bearer, b'{"contact": ')),
            (
                422,
                InboundRequest(
                    key, bearer, json.dumps({"contact": {}, "message": {"id": "x", "content": "y"}}).encode()
                ),
            ),
            (422, InboundRequest(key, bearer, body("x", "   "))),
            (413, InboundRequest(key, bearer, body("x", "长" * 300_000))),
        ],
        policy=HttpPolicy.of([receiver.host]),
    )


HARNESSES: dict[str, Harness] = {
    str(ChannelType.WEB_WIDGET): _widget,
    recording.KIND: _recording,
    str(ChannelType.EMAIL): _email,
    str(ChannelType.WECHAT): _wechat,
    str(ChannelType.WECOM): _wecom,
    str(ChannelType.API): _api,
}


@pytest.fixture(scope="module", autouse=True)
async def _api_receiver() -> AsyncIterator[None]:
    async with serve(Receiver(secret=API_SECRET)) as receiver:
        _RECEIVERS.append(receiver)
        yield
        _RECEIVERS.remove(receiver)


@pytest.fixture(scope="module", autouse=True)
def _recording_registered() -> Iterator[None]:
    with recording.registered():
        yield


def _kinds() -> list[str]:
    register_channels()
    return sorted({*ADAPTERS, recording.KIND})


@pytest.fixture(params=_kinds())
def adapter(request: pytest.FixtureRequest) -> ChannelAdapter:
    return get_adapter(request.param)


def _status(exc: BaseException) -> int | None:
    """The HTTP status the app answers this error with (core/errorhandlers.py)."""
    if isinstance(exc, KefuError):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        return 400 if any(e.get("type") == "json_invalid" for e in exc.errors()) else 422
    return None


async def _count(api: World, inbox_messages: int) -> int:
    async with api.server.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0) - inbox_messages


def test_every_registered_adapter_has_a_harness() -> None:
    register_channels()
    assert set(ADAPTERS) <= set(HARNESSES), f"add a Harness for {sorted(set(ADAPTERS) - set(HARNESSES))}"
    assert str(ChannelType.WEB_WIDGET) in ADAPTERS


def test_it_is_registered_under_its_channel_kind_with_a_config_schema(adapter: ChannelAdapter) -> None:
    assert get_adapter(adapter.kind) is adapter
    assert issubclass(adapter.config_schema, BaseModel)
    assert adapter.config_schema.model_json_schema()["type"] == "object"
    assert (adapter.kind in DELIVERED_KINDS) is adapter.delivers


async def test_a_genuine_request_is_parsed_and_stored_once(api: World, adapter: ChannelAdapter) -> None:
    case = await HARNESSES[adapter.kind](api)
    assert isinstance(adapter.parse_config(case.config), adapter.config_schema)
    state = api.server.state
    cmid = uniq("contract-")
    messages = await adapter.parse_inbound(state, case.request(cmid))
    assert [(type(m), m.inbox.id, m.inbox.account_id, m.contact_id) for m in messages] == [
        (InboundMessage, case.inbox_id, api.account_id, case.contact_id)
    ]
    first = await receive_customer_messages(state, messages)
    again = await receive_customer_messages(state, await adapter.parse_inbound(state, case.request(cmid)))
    assert [r.created for r in first] == [True] and [r.created for r in again] == [False]
    assert [r.message.id for r in again] == [r.message.id for r in first]
    stored = first[0].message
    assert (stored.direction, stored.kind, stored.sender_type, stored.sender_id) == (
        "incoming",
        "text",
        "contact",
        case.contact_id,
    )
    assert stored.client_message_id == cmid and stored.delivery_status is None


async def test_a_bad_request_is_a_precise_4xx_and_stores_nothing(api: World, adapter: ChannelAdapter) -> None:
    case = await HARNESSES[adapter.kind](api)
    assert case.bad, "a harness lists the requests its adapter must refuse"
    before = await _count(api, 0)
    for expected, request in case.bad:
        with pytest.raises(Exception) as caught:
            await adapter.parse_inbound(api.server.state, request)
        assert (_status(caught.value), request) == (expected, request)
    assert await _count(api, before) == 0


async def test_send_answers_a_delivery_result(api: World, adapter: ChannelAdapter) -> None:
    case = await HARNESSES[adapter.kind](api)
    outbound = OutboundMessage(
        message_id=10**12 + 1,
        account_id=api.account_id,
        inbox_id=case.inbox_id,
        conversation_id=1,
        contact_id=case.contact_id,
        content="您好，这是回复。",
        attachments=[],
        identities=case.identities,
        sessionmaker=api.server.state.sessionmaker,
        policy=case.policy,
    )
    result = await adapter.send(outbound, adapter.parse_config(case.config))
    assert isinstance(result, DeliveryResult)
    assert (result.status, result.error, result.retry) == (DeliveryStatus.SENT, None, False)
