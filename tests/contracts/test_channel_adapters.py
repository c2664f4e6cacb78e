"""Every channel adapter (channels/base.py) passes the same contract: the registered ones, and the recording
adapter of the tests. A new channel adds a `Harness` here — a test fails for an adapter without one.

The contract: it is registered under its Inbox.channel_type; its config schema is a Pydantic model that
takes a valid config; a genuine inbound request parses into `InboundMessage`s of the right inbox and
contact, which the one inbound action stores once (a repeat is a retry); a forged, unknown or malformed
request is a precise 4xx and stores nothing; `send` answers a `DeliveryResult`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
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
from kefu.conversations.inbound import receive_customer_messages
from kefu.conversations.models import DeliveryStatus, Message
from kefu.conversations.outbound import DELIVERED_KINDS
from kefu.conversations.schemas import InboundMessage
from kefu.core.constants import ChannelType
from kefu.core.errors import KefuError
from kefu.core.http import HttpPolicy
from kefu.main import register_channels
from tests.channels import recording
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
        identities={},
        policy=case.policy,
    )
    result = await adapter.send(outbound, adapter.parse_config(case.config))
    assert isinstance(result, DeliveryResult)
    assert (result.status, result.error, result.retry) == (DeliveryStatus.SENT, None, False)
