"""The WeChat Official Account (公众号) channel (channels/base.py) — operator doc: docs/channels/wechat.md.

Inbound, on the inbox's `callback_url` (channels/webhook.py):
- GET: WeChat's server-URL check — `signature` over token, timestamp, nonce; answers `echostr`;
- POST: `signature` always; with `encrypt_type=aes` (compatible and safe mode) the `msg_signature` over
  the ciphertext too, and the message is read from the decrypted `<Encrypt>`. An inbox with an
  EncodingAESKey takes only encrypted messages: in plaintext mode WeChat's signature does not cover the
  body, so a captured signature could carry any body for five minutes. Timestamps older (or newer) than
  5 minutes are refused; see channels/wxinbound.py for every check and wechat/messages.py for what each
  message type becomes. The contact is found by openid (a unionid, when WeChat sends one, is attached
  as a second identity). WeChat is answered `success`.
Outbound: the customer-service message API, `/cgi-bin/message/custom/send` (text), with the inbox's
shared access token (channels/wxapi.py). WeChat takes such replies only within 48 hours of the
customer's last message: `reply_refused` says so before anything is written or sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage, register
from kefu.channels.wechat import texts
from kefu.channels.wechat.config import WechatConfig
from kefu.channels.wechat.messages import pushed
from kefu.channels.wxapi import WxApiError, WxClient, delivery_result
from kefu.channels.wxcrypto import BadSignature as _BadSignature
from kefu.channels.wxcrypto import WxCrypto, check_signature
from kefu.channels.wxinbound import contact_for, decrypted_fields, load_inbox, signed_query, xml_fields
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage
from kefu.core import clock
from kefu.core.constants import ChannelType, Direction, IdentityKind
from kefu.core.errors import BadRequest, Unauthorized, Unprocessable
from kefu.core.http import OutboundError
from kefu.core.state import AppState

REPLY_WINDOW = timedelta(hours=48)
SEND_PATH = "/cgi-bin/message/custom/send"
TOKEN_PATH = "/cgi-bin/token"


async def last_customer_message(
    session: AsyncSession, conversation: Conversation
) -> tuple[datetime, dict[str, Any]] | None:
    """(created_at, meta) of the customer's last message in the conversation's inbox, any conversation."""
    pair = select(Conversation.id).where(
        Conversation.inbox_id == conversation.inbox_id, Conversation.contact_id == conversation.contact_id
    )
    q = (
        select(Message.created_at, Message.meta)
        .where(Message.conversation_id.in_(pair), Message.direction == Direction.INCOMING)
        .order_by(Message.id.desc())
        .limit(1)
    )
    row = (await session.execute(q)).first()
    return (row[0], dict(row[1] or {})) if row is not None else None


def _signed(config: WechatConfig, request: InboundRequest) -> tuple[str, str]:
    """(timestamp, nonce) of a request whose plain signature is right."""
    sig, timestamp, nonce = signed_query(request.query, "signature", "timestamp", "nonce")
    try:
        check_signature(sig, config.token, timestamp, nonce)
    except _BadSignature:
        raise Unauthorized("bad signature") from None
    return timestamp, nonce


def _fields(config: WechatConfig, request: InboundRequest, timestamp: str, nonce: str) -> dict[str, str]:
    encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
    if not encrypted:
        if config.encoding_aes_key:
            raise Unauthorized("this inbox takes encrypted messages only (compatible or safe mode)")
        return xml_fields(request.body)
    if not config.encoding_aes_key:
        raise BadRequest("an encrypted message, but this inbox has no EncodingAESKey (plaintext mode)")
    msg_signature = request.query.get("msg_signature", "")
    if not msg_signature:
        raise Unauthorized("unsigned request: msg_signature missing")
    crypto = WxCrypto(config.token, config.encoding_aes_key, config.app_id)
    return decrypted_fields(crypto, msg_signature, timestamp, nonce, request.body)


async def _fetch_token(client: WxClient, config: WechatConfig) -> tuple[str, int]:
    query = {"grant_type": "client_credential", "appid": config.app_id, "secret": config.app_secret}
    data = await client.get_json(TOKEN_PATH, query)
    return str(data["access_token"]), int(data.get("expires_in", 7200))


class WechatAdapter(ChannelAdapter):
    kind = str(ChannelType.WECHAT)
    config_schema = WechatConfig
    secret_fields = frozenset({"app_secret", "encoding_aes_key"})

    async def verify_url(self, state: AppState, request: InboundRequest) -> str:
        _, config = await load_inbox(state, request, ChannelType.WECHAT, WechatConfig)
        _signed(config, request)
        echostr = request.query.get("echostr", "")
        if not echostr:
            raise BadRequest("echostr missing")
        return echostr

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        inbox, config = await load_inbox(state, request, ChannelType.WECHAT, WechatConfig)
        timestamp, nonce = _signed(config, request)
        found = pushed(_fields(config, request, timestamp, nonce))
        if found is None:
            return []
        try:
            data = ContactMessageCreate(content=found.content, client_message_id=found.client_message_id)
        except ValidationError as exc:  # e.g. a text of nothing but spaces
            raise Unprocessable(f"the WeChat message cannot be stored: {exc.errors()[0]['msg']}") from None
        contact_id = await contact_for(
            state,
            inbox,
            IdentityKind.WECHAT_OPENID,
            found.openid,
            name=f"WeChat {found.openid[-6:]}",
            also=(IdentityKind.WECHAT_UNIONID, found.unionid) if found.unionid else None,
        )
        return [InboundMessage(inbox, contact_id, data, meta=found.meta)]

    def inbound_reply(self, received: int) -> tuple[str, str]:
        return "success", "text/plain"

    async def reply_refused(self, session: AsyncSession, conversation: Conversation) -> str | None:
        """WeChat's 48-hour rule, over the customer's last message in this inbox (any conversation)."""
        last = await last_customer_message(session, conversation)
        if last is None:
            return texts.NEVER_WROTE
        if (last[1] or {}).get("event") == "unsubscribe":
            return texts.UNSUBSCRIBED
        if last[0] < clock.now() - REPLY_WINDOW:
            return texts.WINDOW_CLOSED
        return None

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        cfg = cast(WechatConfig, config)
        openid = outbound.identities.get(IdentityKind.WECHAT_OPENID)
        if not openid:
            return DeliveryResult.failed("the customer has no WeChat openid in this account")
        if outbound.sessionmaker is None:
            return DeliveryResult.failed("a WeChat reply is sent by the delivery job (it needs the database)")

        async def fetch(client: WxClient) -> tuple[str, int]:
            return await _fetch_token(client, cfg)

        client = WxClient(outbound.sessionmaker, outbound.inbox_id, cfg.api_base_url, fetch)
        body = {"touser": openid, "msgtype": "text", "text": {"content": outbound.content}}
        try:
            await client.post(SEND_PATH, body)
        except (WxApiError, OutboundError) as exc:
            return delivery_result(exc, "WeChat")
        return DeliveryResult.sent()


WECHAT = register(WechatAdapter())
