"""WeCom's side of a handoff: when a WeCom conversation is handed from the bot to people — it is queued
(`conversation.queued`) or assigned to an agent (`conversation.assigned`) — WeCom's session state is
changed too (`/cgi-bin/kf/service_state/trans`): 3 (served by a person) with the servicer's WeCom userid
when kefu knows it, else 2 (in the waiting pool).

The durable listener `wecom.handoff` (core/listeners.py, registered in kefu.main.register_listeners)
only decides and enqueues the job `wecom.service_state`: the API call runs outside the dispatcher's
transaction. kefu does not yet know its agents' WeCom userids, so today the state sent is 2.

It is off unless the inbox's `handoff_state` setting is on: WeCom lets the API send only while a session
is unhandled (0) or with the smart assistant (1), so when kefu's agents answer from kefu — the usual
case — the session must stay where it is. Turn it on only where agents answer in WeCom's own client.

WeCom's rule to know (docs/channels/wecom.md): its API may send messages only while a session is
"unhandled" (0) or "with the smart assistant" (1) — after 2 or 3 WeCom expects its servicers to answer
in WeCom's own client, and kefu's replies through `kf/send_msg` are refused (the refusal shows on the
message).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.channels.wecom.adapter import client
from kefu.channels.wecom.config import WecomConfig
from kefu.channels.wxapi import WxApiError
from kefu.contacts.models import ContactIdentity
from kefu.conversations.models import Conversation
from kefu.core.constants import ChannelType, EventType, IdentityKind
from kefu.core.event_types import ConversationChanged
from kefu.core.http import OutboundError
from kefu.core.jobs import JobContext, job
from kefu.core.listeners import ListenedEvent, listener, listener_context

log = logging.getLogger("kefu.wecom")
JOB = "wecom.service_state"
TRANS_PATH = "/cgi-bin/kf/service_state/trans"
QUEUED, BY_PERSON = 2, 3


def servicer_userid(user_id: int | None) -> str | None:
    """The WeCom userid of a kefu agent — not known yet (kefu keeps no such mapping)."""
    return None


@listener("wecom.handoff", events={EventType.CONVERSATION_QUEUED, EventType.CONVERSATION_ASSIGNED}, start="latest")
async def hand_off(session: AsyncSession, event: ListenedEvent) -> None:
    servicer: str | None = None
    if event.type == EventType.CONVERSATION_ASSIGNED:
        assignee = event.payload_as(ConversationChanged).assignee_id
        if assignee is None:
            return  # unassigned: WeCom's state stays as it is
        servicer = servicer_userid(assignee)
    if event.conversation_id is None:
        return
    q = (
        select(Inbox.channel_type, Inbox.config)
        .join(Conversation, Conversation.inbox_id == Inbox.id)
        .where(Conversation.id == event.conversation_id)
    )
    row = (await session.execute(q)).first()
    if row is None or row.channel_type != ChannelType.WECOM or not (row.config or {}).get("handoff_state"):
        return  # off by default: kefu's agents answer through kf/send_msg, which needs state 0 or 1
    ctx = listener_context()
    if ctx is None or ctx.runner is None:
        log.warning("no job runner: WeCom is not told of the handoff of conversation %s", event.conversation_id)
        return
    await ctx.runner.enqueue(
        JOB,
        conversation_id=event.conversation_id,
        service_state=BY_PERSON if servicer else QUEUED,
        servicer_userid=servicer,
    )


@job(JOB)
async def tell_wecom(
    ctx: JobContext, conversation_id: int, service_state: int, servicer_userid: str | None = None
) -> str:
    """Change the WeCom session's state; returns what happened (errors are logged, not retried)."""
    async with ctx.sessionmaker() as session:
        conv = await session.get(Conversation, conversation_id)
        inbox = await session.get(Inbox, conv.inbox_id) if conv is not None else None
        if conv is None or inbox is None or inbox.channel_type != ChannelType.WECOM:
            return "skipped"
        userid = await session.scalar(
            select(ContactIdentity.value).where(
                ContactIdentity.contact_id == conv.contact_id,
                ContactIdentity.kind == IdentityKind.WECOM_EXTERNAL_USERID,
            )
        )
        config = WecomConfig.model_validate(inbox.config)
    if not userid:
        return "skipped"
    body: dict[str, Any] = {"open_kfid": config.open_kfid, "external_userid": userid, "service_state": service_state}
    if servicer_userid:
        body["servicer_userid"] = servicer_userid
    try:
        await client(ctx.sessionmaker, inbox.id, config).post(TRANS_PATH, body)
    except (WxApiError, OutboundError) as exc:
        log.warning("WeCom refused the handoff of conversation %s: %s", conversation_id, exc)
        return f"failed: {exc}"
    return "sent"
