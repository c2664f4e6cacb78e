"""The channel interface: what every channel (widget, email, WeChat, WeCom, API) implements.

An adapter
- verifies and parses what arrives on its webhook into the one message model (`parse_inbound` →
  `InboundMessage`s, which its route hands to `conversations.inbound.receive_customer_messages`);
  a forged, expired or malformed request raises a 4xx error (`kefu.core.errors`, or FastAPI's
  `RequestValidationError` for a body that does not match its schema);
- sends replies out (`send`), called by the job `channels.deliver_message` with retries
  (channels/delivery.py), and says how it went (`DeliveryResult`); what `send` needs from the database
  besides the message (an email's thread headers, attachment bytes) its `prepare` adds to
  `OutboundMessage.extra` while the job reads the message;
- describes an inbox's settings (`config_schema`, a Pydantic model; `Inbox.config` is validated by it
  when an inbox is created or updated — a 422 that names the field — and the fields in `secret_fields`
  are never read back through the API: they show as `configs.SECRET_MASK`, and sending the mask back keeps them);
- answers its provider: `verify_url` for a provider's GET that checks the callback URL (WeChat's echostr),
  `inbound_reply` for the body a provider expects after a POST (WeChat's `success`), and hears when what
  it parsed is stored (`inbound_stored`: e.g. WeCom's sync cursor moves on only then);
- may refuse a reply before it is written (`reply_refused`: WeChat's 48-hour window): the agent's post
  is a 409 with the reason, the workspace shows it on the reply box, and a delivery that meets it fails
  with that reason without calling the channel.

Channels that a provider calls share one webhook: `GET|POST /channels/{inbox public_key}`
(channels/webhook.py), the inbox's `callback_url`; the widget keeps its own routes.

Adapters are registered by channel kind (`Inbox.channel_type`) in `ADAPTERS`: `kefu.main.register_channels`
imports their modules (an explicit list, called by create_app and `kefu worker`). Every registered adapter
passes tests/contracts/test_channel_adapters.py.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.configs import CONFIGS, ChannelConfig
from kefu.conversations.ingest import Received
from kefu.conversations.models import Conversation, DeliveryStatus
from kefu.conversations.outbound import DELIVERED_KINDS, REPLY_CHECKS
from kefu.conversations.schemas import InboundMessage
from kefu.core.errors import NotFound
from kefu.core.http import HttpPolicy
from kefu.core.state import AppState
from kefu.settings import Settings


@dataclass(frozen=True)
class InboundRequest:
    """What a channel's webhook received, without the web framework: the inbox key from its path, the
    headers (lower-case names) and the raw body (signatures are computed over the exact bytes)."""

    inbox_key: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    # What the adapter learned while parsing and needs once the messages are stored (`inbound_stored`).
    context: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class OutboundMessage:
    """A reply to deliver: the stored message and the addresses the customer is known by."""

    message_id: int
    account_id: int
    inbox_id: int
    conversation_id: int
    contact_id: int
    content: str
    attachments: list[dict[str, Any]]
    identities: dict[str, str]  # identity kind → value (an email address, an openid …)
    extra: Mapping[str, Any] = field(default_factory=dict)  # what the adapter's `prepare` added
    # The database, for channels that keep state between sends (an access token shared by the nodes).
    sessionmaker: async_sessionmaker[AsyncSession] | None = field(default=None, compare=False, repr=False)
    # What the account lets kefu call (Admin → Outbound hosts), for a channel that posts to a configured URL
    # through kefu.core.http (the API channel); the empty policy refuses everything.
    policy: HttpPolicy = field(default_factory=HttpPolicy)


@dataclass(frozen=True)
class DeliveryResult:
    status: DeliveryStatus
    error: str | None = None
    retry: bool = False  # a failure worth trying again later (a timeout, a 5xx, a rate limit)
    external_id: str | None = None  # the channel's id of the sent message, when it gives one

    @classmethod
    def sent(cls, external_id: str | None = None) -> DeliveryResult:
        return cls(DeliveryStatus.SENT, external_id=external_id)

    @classmethod
    def retry_later(cls, error: str) -> DeliveryResult:
        return cls(DeliveryStatus.FAILED, error=error, retry=True)

    @classmethod
    def failed(cls, error: str) -> DeliveryResult:
        """A failure that no retry will fix (a rejected address, a revoked credential)."""
        return cls(DeliveryStatus.FAILED, error=error)


class ChannelAdapter(ABC):
    kind: ClassVar[str]  # the Inbox.channel_type it serves
    config_schema: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]] = frozenset()  # config keys never read back (passwords, keys)
    # False: replies reach the customer through the published message.created event (the widget's
    # socket), so no delivery job runs for them.
    delivers: ClassVar[bool] = True

    @abstractmethod
    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        """Verify the request and parse it into the customer messages it carries (maybe none, e.g. a
        delivery receipt); raise a 4xx error for anything forged, expired or malformed."""

    async def prepare(self, session: AsyncSession, settings: Settings, outbound: OutboundMessage) -> OutboundMessage:
        """Add what `send` needs from the database to `outbound.extra` (called by the delivery job inside its
        read of the message, before `send`, which runs outside any transaction). Default: nothing."""
        return outbound

    @abstractmethod
    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        """Deliver a reply. An exception counts as a failure worth retrying."""

    def parse_config(self, raw: Mapping[str, Any]) -> BaseModel:
        return self.config_schema.model_validate(dict(raw))

    async def verify_url(self, state: AppState, request: InboundRequest) -> str:
        """The provider's check of the callback URL (a GET): the text to answer, or a 4xx error."""
        raise NotFound("URL verification for channel", self.kind)

    def inbound_reply(self, received: int) -> tuple[str, str]:
        """The body and media type to answer a provider's POST that carried `received` messages."""
        return json.dumps({"received": received}), "application/json"

    async def inbound_stored(self, state: AppState, request: InboundRequest) -> None:
        """Called by the webhook once the messages `parse_inbound` returned for `request` are stored."""
        return None

    async def reply_refused(self, session: AsyncSession, conversation: Conversation) -> str | None:
        """Why a reply in this conversation cannot reach the customer now (None: it can). Only consulted
        for adapters that override it (conversations/outbound.py `REPLY_CHECKS`)."""
        return None

    def inbound_answer(self, received: Sequence[Received]) -> tuple[str, str]:
        """The answer to a provider's POST, from what was stored (ids, and whether each was a retry); by
        default `inbound_reply` with the count."""
        return self.inbound_reply(len(received))


ADAPTERS: dict[str, ChannelAdapter] = {}
A = TypeVar("A", bound=ChannelAdapter)


def register(adapter: A) -> A:
    ADAPTERS[adapter.kind] = adapter
    CONFIGS[adapter.kind] = ChannelConfig(adapter.config_schema, adapter.secret_fields)
    if adapter.delivers:
        DELIVERED_KINDS.add(adapter.kind)
    else:
        DELIVERED_KINDS.discard(adapter.kind)
    if type(adapter).reply_refused is not ChannelAdapter.reply_refused:
        REPLY_CHECKS[adapter.kind] = adapter.reply_refused
    else:
        REPLY_CHECKS.pop(adapter.kind, None)
    return adapter


def unregister(kind: str) -> None:
    ADAPTERS.pop(kind, None)
    CONFIGS.pop(kind, None)
    DELIVERED_KINDS.discard(kind)
    REPLY_CHECKS.pop(kind, None)


def get_adapter(kind: str) -> ChannelAdapter:
    adapter = ADAPTERS.get(kind)
    if adapter is None:
        raise NotFound("channel adapter", kind)
    return adapter
