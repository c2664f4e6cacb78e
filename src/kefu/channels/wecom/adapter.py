"""The WeCom customer-service (微信客服) channel (channels/base.py) — operator doc: docs/channels/wecom.md.

Inbound, on the inbox's `callback_url` (channels/webhook.py), everything encrypted with the receive id =
the corp id (channels/wxcrypto.py):
- GET: `msg_signature` over token, timestamp, nonce, echostr; the decrypted echostr is the answer;
- POST: the same checks over the `<Encrypt>` element (channels/wxinbound.py); the decrypted event
  `kf_msg_or_event` carries a Token, with which the messages themselves are pulled from
  `/cgi-bin/kf/sync_msg` (wecom/sync.py). Each becomes an `InboundMessage` of the contact known by the
  customer's external_userid, client_message_id = WeCom's msgid; the cursor is stored after they are.
Outbound: `/cgi-bin/kf/send_msg` (text) to the external_userid through the inbox's open_kfid, with the
shared access token from `/cgi-bin/gettoken` (channels/wxapi.py); like the Official Account, WeCom takes
replies only within 48 hours of the customer's last message (`reply_refused`).
Handoff: when the bot hands a conversation to people (queued) or it is assigned, WeCom is told too
(`/cgi-bin/kf/service_state/trans`, wecom/handoff.py).
"""

from __future__ import annotations

import logging
from typing import cast

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage, register
from kefu.channels.wechat import texts
from kefu.channels.wechat.adapter import REPLY_WINDOW, last_customer_message
from kefu.channels.wecom import sync
from kefu.channels.wecom.config import WecomConfig
from kefu.channels.wxapi import WxApiError, WxClient, advance_state, delivery_result, read_state
from kefu.channels.wxcrypto import WxCrypto
from kefu.channels.wxinbound import contact_for, decrypted, decrypted_fields, load_inbox, signed_query
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage
from kefu.core import clock
from kefu.core.constants import ChannelType, IdentityKind
from kefu.core.errors import BadRequest, Unavailable
from kefu.core.http import OutboundError
from kefu.core.state import AppState

log = logging.getLogger("kefu.wecom")
TOKEN_PATH = "/cgi-bin/gettoken"
SEND_PATH = "/cgi-bin/kf/send_msg"
_CURSOR = "wecom_cursor"  # InboundRequest.context keys: (the cursor read, the cursor after the pull)


def client(sessionmaker: async_sessionmaker[AsyncSession], inbox_id: int, config: WecomConfig) -> WxClient:
    async def fetch(c: WxClient) -> tuple[str, int]:
        data = await c.get_json(TOKEN_PATH, {"corpid": config.corp_id, "corpsecret": config.secret})
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    return WxClient(sessionmaker, inbox_id, config.api_base_url, fetch)


def _crypto(config: WecomConfig) -> WxCrypto:
    return WxCrypto(config.token, config.encoding_aes_key, config.corp_id)


class WecomAdapter(ChannelAdapter):
    kind = str(ChannelType.WECOM)
    config_schema = WecomConfig
    secret_fields = frozenset({"secret", "encoding_aes_key"})

    async def verify_url(self, state: AppState, request: InboundRequest) -> str:
        _, config = await load_inbox(state, request, ChannelType.WECOM, WecomConfig)
        sig, timestamp, nonce, echostr = signed_query(request.query, "msg_signature", "timestamp", "nonce", "echostr")
        return decrypted(_crypto(config), sig, timestamp, nonce, echostr).decode()

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        inbox, config = await load_inbox(state, request, ChannelType.WECOM, WecomConfig)
        sig, timestamp, nonce = signed_query(request.query, "msg_signature", "timestamp", "nonce")
        event = decrypted_fields(_crypto(config), sig, timestamp, nonce, request.body)
        if event.get("MsgType") != "event" or event.get("Event") != "kf_msg_or_event":
            return []  # other callbacks (e.g. account changes) carry no customer message
        if not event.get("Token"):
            raise BadRequest("a kf_msg_or_event callback without its Token")
        async with state.sessionmaker() as session:
            stored = await read_state(session, inbox.id, sync.CURSOR_STATE)
        before = stored.value if stored is not None else None
        try:
            page = await sync.pull(
                client(state.sessionmaker, inbox.id, config), before, event["Token"], config.open_kfid
            )
        except (WxApiError, OutboundError) as exc:
            raise Unavailable(f"WeCom's messages could not be pulled: {exc}", retry_after=5) from None
        request.context[_CURSOR] = (before, page.cursor)
        out: list[InboundMessage] = []
        for m in page.messages:
            try:
                content = m.content[: state.settings.max_message_chars]  # one long text must not block a pull
                data = ContactMessageCreate(content=content, client_message_id=m.msgid)
            except ValidationError as exc:  # one unstorable message must not block the ones after it
                log.warning("WeCom message %s skipped: %s", m.msgid, exc.errors()[0]["msg"])
                continue
            contact_id = await contact_for(
                state,
                inbox,
                IdentityKind.WECOM_EXTERNAL_USERID,
                m.external_userid,
                name=f"WeCom {m.external_userid[-6:]}",
            )
            out.append(InboundMessage(inbox, contact_id, data, meta=m.meta))
        return out

    async def inbound_stored(self, state: AppState, request: InboundRequest) -> None:
        """The pulled messages are stored: the cursor moves on (unless another node moved it first)."""
        before, after = request.context.get(_CURSOR, (None, None))
        if not after or after == before:
            return
        inbox, _ = await load_inbox(state, request, ChannelType.WECOM, WecomConfig)
        async with state.sessionmaker() as session:
            await advance_state(session, inbox.id, sync.CURSOR_STATE, before, after)
            await session.commit()

    def inbound_reply(self, received: int) -> tuple[str, str]:
        return "success", "text/plain"

    async def reply_refused(self, session: AsyncSession, conversation: Conversation) -> str | None:
        """WeCom's 48-hour rule, over the customer's last message in this inbox (any conversation)."""
        last = await last_customer_message(session, conversation)
        if last is None:
            return texts.WECOM_NEVER_WROTE
        return texts.WECOM_WINDOW_CLOSED if last[0] < clock.now() - REPLY_WINDOW else None

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        cfg = cast(WecomConfig, config)
        external_userid = outbound.identities.get(IdentityKind.WECOM_EXTERNAL_USERID)
        if not external_userid:
            return DeliveryResult.failed("the customer has no WeCom external_userid in this account")
        if outbound.sessionmaker is None:
            return DeliveryResult.failed("a WeCom reply is sent by the delivery job (it needs the database)")
        body = {
            "touser": external_userid,
            "open_kfid": cfg.open_kfid,
            "msgtype": "text",
            "text": {"content": outbound.content},
        }
        try:
            data = await client(outbound.sessionmaker, outbound.inbox_id, cfg).post(SEND_PATH, body)
        except (WxApiError, OutboundError) as exc:
            return delivery_result(exc, "WeCom")
        return DeliveryResult.sent(external_id=str(data.get("msgid") or "") or None)


WECOM = register(WecomAdapter())
