"""The SLA of a conversation: which conversation events start, pause, resume and stop which clock
(docs/sla.md "Conversations"), and `conversations.sla_due_at` kept = the nearest running deadline.

- first response: starts when the conversation is queued for a person (conversation.queued, or the bot
  handing off), or when a customer creates it and no bot answers; stops at the first agent reply (an
  outgoing message of a user that is not a note);
- next response: starts at a customer message after an agent reply, stops at the next agent reply;
- resolution: starts with the first response, stops when resolved, starts again on reopen;
- pending or snoozed (waiting on the customer) pauses every open clock; open again resumes them;
- a new priority, or a new tier of the contact, gives the open clocks the targets of the policy that now
  applies.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.constants import ConversationStatus
from kefu.sla import clocks
from kefu.sla.models import Metric, SlaClock, SubjectType
from kefu.sla.policies import policy_tier

WAITING = {ConversationStatus.PENDING, ConversationStatus.SNOOZED}


def subject(conv: Conversation) -> tuple[str, int]:
    return (SubjectType.CONVERSATION, conv.id)


async def _tier(session: AsyncSession, conv: Conversation) -> str:
    tier = (await session.execute(select(Contact.tier).where(Contact.id == conv.contact_id))).scalar()
    return policy_tier(tier)


_DIRTY = "kefu_sla_due_dirty"


async def sync_due(session: AsyncSession, conv: Conversation) -> None:
    """Mark the conversation's `sla_due_at` for a refresh when the transaction commits. The rows are then
    updated in id order — the order the message ingest locks conversations in — so a listener batch that
    touched several conversations never deadlocks with it, and holds their row locks only at the end."""
    dirty: set[tuple[int, int]] | None = session.info.get(_DIRTY)
    if dirty is None:
        dirty = session.info[_DIRTY] = set()
        event.listen(session.sync_session, "before_commit", _write_due)
    dirty.add((conv.id, conv.account_id))


def _write_due(sync_session: Session) -> None:
    if sync_session.in_nested_transaction():
        return  # a savepoint: the outermost commit writes
    dirty: set[tuple[int, int]] = sync_session.info.get(_DIRTY) or set()
    for conv_id, account_id in sorted(dirty):
        due = sync_session.execute(
            select(func.min(SlaClock.due_at)).where(
                SlaClock.account_id == account_id,
                SlaClock.subject_type == SubjectType.CONVERSATION,
                SlaClock.subject_id == conv_id,
                SlaClock.stopped_at.is_(None),
                SlaClock.paused_at.is_(None),
            )
        ).scalar()
        sync_session.execute(
            update(Conversation)
            .where(Conversation.id == conv_id, Conversation.sla_due_at.is_distinct_from(due))
            .values(sla_due_at=due)
            .execution_options(synchronize_session=False)
        )
    dirty.clear()


async def _start(session: AsyncSession, conv: Conversation, metric: str, at: datetime) -> None:
    tier = await _tier(session, conv)
    await clocks.do_start_clock(
        session, conv.account_id, subject(conv), metric, priority=conv.priority, tier=tier, at=at
    )


async def on_waiting_for_person(session: AsyncSession, conv: Conversation, at: datetime) -> None:
    """Queued for a person (or created by a customer with no bot answering): first response + resolution,
    unless an agent has answered already."""
    if conv.status == ConversationStatus.RESOLVED:
        return
    mine = await clocks.clocks_of(session, conv.account_id, *subject(conv))
    if conv.first_response_at is None and not any(c.metric == Metric.FIRST_RESPONSE for c in mine):
        await _start(session, conv, Metric.FIRST_RESPONSE, at)
    if not any(c.metric == Metric.RESOLUTION and c.stopped_at is None for c in mine):
        await _start(session, conv, Metric.RESOLUTION, at)
    if conv.status in WAITING:
        await clocks.do_pause_clocks(session, conv.account_id, subject(conv), at=at)
    await sync_due(session, conv)


async def on_created(session: AsyncSession, conv: Conversation, at: datetime) -> None:
    if not conv.bot_state.get("active"):
        await on_waiting_for_person(session, conv, at)


async def on_customer_message(session: AsyncSession, conv: Conversation, at: datetime) -> None:
    mine = await clocks.clocks_of(session, conv.account_id, *subject(conv))
    answered = conv.first_response_at is not None or any(
        c.metric == Metric.FIRST_RESPONSE and c.stopped_at is not None for c in mine
    )
    if answered:
        if conv.status not in WAITING and conv.status != ConversationStatus.RESOLVED:
            await _start(session, conv, Metric.NEXT_RESPONSE, at)
    elif not mine and not conv.bot_state.get("active"):
        await on_waiting_for_person(session, conv, at)
        return
    await sync_due(session, conv)


async def on_agent_reply(session: AsyncSession, conv: Conversation, at: datetime) -> None:
    metrics = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)
    await clocks.do_stop_clocks(session, conv.account_id, subject(conv), metrics, at=at)
    await sync_due(session, conv)


async def on_status(session: AsyncSession, conv: Conversation, status: str, previous: str | None, at: datetime) -> None:
    if status == ConversationStatus.RESOLVED:
        await clocks.do_stop_clocks(session, conv.account_id, subject(conv), clocks.ALL_METRICS, at=at)
    elif status in WAITING:
        await clocks.do_pause_clocks(session, conv.account_id, subject(conv), at=at)
    elif status == ConversationStatus.OPEN and previous in WAITING:
        await clocks.do_resume_clocks(session, conv.account_id, subject(conv), at=at)
    elif status == ConversationStatus.OPEN and previous == ConversationStatus.RESOLVED:
        mine = await clocks.clocks_of(session, conv.account_id, *subject(conv))
        if mine:  # reopened: the resolution clock starts again (a conversation never timed stays untimed)
            await _start(session, conv, Metric.RESOLUTION, at)
    await sync_due(session, conv)


async def on_contact_changed(session: AsyncSession, account_id: int, contact_id: int) -> None:
    """The contact's tier may have changed: its conversations' open clocks take the policy of the new tier."""
    q = select(Conversation).where(
        Conversation.account_id == account_id,
        Conversation.contact_id == contact_id,
        Conversation.status != ConversationStatus.RESOLVED,
    )
    for conv in (await session.execute(q)).scalars():
        await on_priority(session, conv)


async def on_priority(session: AsyncSession, conv: Conversation) -> None:
    tier = await _tier(session, conv)
    await clocks.do_retarget_clocks(session, conv.account_id, subject(conv), priority=conv.priority, tier=tier)
    await sync_due(session, conv)
