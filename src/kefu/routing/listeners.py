"""Durable event listeners of kefu.routing (core/listeners.py), imported by kefu.main.register_listeners.

- `routing.queue` puts conversations in the queue and takes them out: a bot handoff, or a customer's
  message in a conversation that no bot answers and no agent holds, queues it; an assignment to an agent
  or a resolution ends the wait.
- `routing.nudge` runs the assigner (the job `routing.assign`) when something changed that may allow an
  assignment: a conversation queued, an agent online, capacity freed (resolved, transferred, unassigned).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import Inbox
from kefu.conversations.inbound import AUTOMATED
from kefu.conversations.models import Conversation, Message
from kefu.core.constants import ConversationStatus, Direction, EventType
from kefu.core.event_types import BotHandedOff, ConversationChanged, MessageCreated, PresenceChanged
from kefu.core.listeners import ListenedEvent, listener, listener_context
from kefu.routing.policies import Presence
from kefu.routing.service import do_enqueue, leave_queue

ASSIGN_JOB = "routing.assign"


async def _locked(session: AsyncSession, conv_id: int | None) -> Conversation | None:
    if conv_id is None:
        return None
    q = select(Conversation).where(Conversation.id == conv_id).with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


def _bot_answers(inbox: Inbox, conv: Conversation) -> bool:
    """The bot answers in a bot-enabled inbox until it hands off (bot_state active False; see bot/runtime.py)."""
    return bool(inbox.bot_enabled) and (conv.bot_state or {}).get("active") is not False


async def _automated(session: AsyncSession, message_id: int) -> bool:
    """A message a machine sent (an auto-reply, WeChat's follow/unfollow event): nobody needs to answer it."""
    meta = await session.scalar(select(Message.meta).where(Message.id == message_id))
    return bool((meta or {}).get(AUTOMATED))


@listener(
    "routing.queue",
    events={
        EventType.BOT_HANDED_OFF,
        EventType.MESSAGE_CREATED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.CONVERSATION_STATUS_CHANGED,
    },
    start="latest",
)
async def track_queue(session: AsyncSession, event: ListenedEvent) -> None:
    if event.type == EventType.MESSAGE_CREATED:
        msg = event.payload_as(MessageCreated)
        if msg.direction != Direction.INCOMING:
            return
        conv = await _locked(session, msg.conversation_id)
        if conv is None or conv.waiting_since is not None or conv.assignee_id is not None:
            return
        inbox = await session.get(Inbox, conv.inbox_id)
        if inbox is not None and not _bot_answers(inbox, conv) and not await _automated(session, msg.id):
            await do_enqueue(session, conv, "no_bot")
        return
    conv = await _locked(session, event.conversation_id)
    if conv is None:
        return
    if event.type == EventType.BOT_HANDED_OFF:
        summary = event.payload_as(BotHandedOff).summary or {}
        intent = summary.get("intent")
        await do_enqueue(session, conv, "handoff", intent=str(intent) if intent else None)
    elif conv.assignee_id is not None or conv.status == ConversationStatus.RESOLVED:
        leave_queue(conv)


@listener(
    "routing.nudge",
    events={
        EventType.CONVERSATION_QUEUED,
        EventType.AGENT_PRESENCE_CHANGED,
        EventType.CONVERSATION_STATUS_CHANGED,
        EventType.CONVERSATION_TRANSFERRED,
        EventType.CONVERSATION_ASSIGNED,
    },
    start="latest",
)
async def nudge_assigner(session: AsyncSession, event: ListenedEvent) -> None:
    if event.type == EventType.AGENT_PRESENCE_CHANGED:
        if event.payload_as(PresenceChanged).presence != Presence.ONLINE:
            return
    elif event.type == EventType.CONVERSATION_ASSIGNED:
        if event.payload_as(ConversationChanged).previous_assignee_id is None:
            return  # a new assignment frees no capacity
    elif event.type == EventType.CONVERSATION_STATUS_CHANGED:
        data = event.payload_as(ConversationChanged)
        if data.status not in (ConversationStatus.RESOLVED, ConversationStatus.SNOOZED):
            return
    ctx = listener_context()
    if ctx is not None and ctx.runner is not None:  # without a runner the periodic routing.assign_due runs it
        await ctx.runner.enqueue(ASSIGN_JOB, account_id=event.account_id)
