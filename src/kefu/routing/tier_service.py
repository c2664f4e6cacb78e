"""Customer tiers on real rows: gather each contact's inputs (a few grouped queries per batch, no N+1),
score them (routing/tiers.py) and write segment, reasons and churn-risk flag; `contact.tier_changed` when
the segment changes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.auth.access import get_scoped
from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation, Message
from kefu.core import clock
from kefu.core.constants import Direction, EventType, MessageKind
from kefu.core.errors import NotFound, Unprocessable
from kefu.core.eventlog import Event
from kefu.core.events import Actor, commit, emit
from kefu.routing.tiers import TierConfig, TierInputs, score

ESCALATION_EVENTS = (str(EventType.BOT_HANDED_OFF), str(EventType.CONVERSATION_TRANSFERRED))
SETTINGS_KEY = "tiers"


def config_of(account: Account) -> TierConfig:
    """The account's thresholds (defaults for what it does not set; a stored value that no longer fits is
    ignored as a whole rather than failing every recompute)."""
    raw = (account.settings or {}).get(SETTINGS_KEY) or {}
    try:
        return TierConfig.model_validate(raw)
    except ValidationError:
        return TierConfig()


async def get_config(session: AsyncSession, account_id: int) -> TierConfig:
    account = await session.get(Account, account_id)
    return config_of(account) if account is not None else TierConfig()


async def check_put_config(session: AsyncSession, account_id: int, data: dict[str, Any], actor: Actor) -> TierConfig:
    try:
        cfg = TierConfig.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(f"tiers: {exc.errors()[0]['msg']}", details=_details(exc)) from None
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    account.settings = {**(account.settings or {}), SETTINGS_KEY: cfg.model_dump(exclude_defaults=True)}
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {"key": SETTINGS_KEY}, actor=actor)
    await commit(session)
    return cfg


def _details(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]


async def gather_inputs(session: AsyncSession, contacts: list[Contact]) -> dict[int, TierInputs]:
    """Each contact's TierInputs, from four grouped queries for the whole batch."""
    ids = [c.id for c in contacts]
    conv = Conversation
    spans: dict[int, tuple[int, datetime | None, datetime | None]] = {}
    q = (
        select(conv.contact_id, func.count(conv.id), func.min(conv.created_at), func.max(conv.last_activity_at))
        .where(conv.contact_id.in_(ids))
        .group_by(conv.contact_id)
    )
    for contact_id, n, first, last in await session.execute(q):
        spans[contact_id] = (int(n), first, last)
    messages: dict[int, int] = {}
    mq = (
        select(conv.contact_id, func.count(Message.id))
        .join(Message, Message.conversation_id == conv.id)
        .where(conv.contact_id.in_(ids), Message.direction == Direction.INCOMING, Message.kind == MessageKind.TEXT)
        .group_by(conv.contact_id)
    )
    for contact_id, n in await session.execute(mq):
        messages[contact_id] = int(n)
    channels: dict[int, set[str]] = defaultdict(set)
    cq = (
        select(conv.contact_id, Inbox.channel_type)
        .join(Inbox, Inbox.id == conv.inbox_id)
        .where(conv.contact_id.in_(ids))
    )
    for contact_id, channel in (await session.execute(cq.distinct())).all():
        channels[contact_id].add(channel)
    escalations: dict[int, int] = {}
    eq = (
        select(Event.contact_id, func.count(Event.id))
        .where(Event.contact_id.in_(ids), Event.type.in_(ESCALATION_EVENTS))
        .group_by(Event.contact_id)
    )
    for escalated_id, count in await session.execute(eq):
        if escalated_id is not None:
            escalations[int(escalated_id)] = int(count)
    out = {}
    for c in contacts:
        convs, first_at, last_at = spans.get(c.id, (0, None, None))
        out[c.id] = TierInputs(
            attributes=dict(c.attributes or {}),
            conversations=convs,
            customer_messages=messages.get(c.id, 0),
            escalations=escalations.get(c.id, 0),
            channels=frozenset(channels.get(c.id, set())),
            first_contact_at=first_at,
            last_contact_at=last_at,
        )
    return out


async def do_score_contacts(session: AsyncSession, contacts: list[Contact], cfg: TierConfig) -> int:
    """Score and write a batch of one account's contacts (the caller commits); how many changed segment."""
    if not contacts:
        return 0
    inputs = await gather_inputs(session, contacts)
    now = clock.now()
    changed = 0
    for contact in contacts:
        got = score(inputs[contact.id], cfg, now)
        previous = contact.segment
        if (previous, contact.segment_reasons, contact.churn_risk) == (str(got.segment), got.reasons, got.churn_risk):
            continue
        contact.segment = str(got.segment)
        contact.segment_reasons = got.reasons
        contact.churn_risk = got.churn_risk
        if previous != contact.segment:
            changed += 1
            emit(
                session,
                contact.account_id,
                EventType.CONTACT_TIER_CHANGED,
                {"id": contact.id, "tier": contact.segment, "previous": previous or "", "churn_risk": got.churn_risk},
                actor=Actor.system(),
                contact_id=contact.id,
            )
    await session.flush()
    return changed


async def do_recompute_contact(
    session: AsyncSession, account_id: int, contact_id: int, *, commit_now: bool = True
) -> Contact:
    contact = await get_scoped(session, Contact, contact_id, account_id, "contact")
    await do_score_contacts(session, [contact], await get_config(session, account_id))
    if commit_now:
        await commit(session)
    return contact


async def do_recompute_account(session: AsyncSession, account_id: int, *, batch: int = 500) -> tuple[int, int]:
    """Every contact of the account, `batch` at a time, one commit per batch: (scored, changed segment)."""
    cfg = await get_config(session, account_id)
    after = 0
    scored = changed = 0
    while True:
        q = select(Contact).where(Contact.account_id == account_id, Contact.id > after).order_by(Contact.id)
        contacts = list((await session.execute(q.limit(batch))).scalars())
        if not contacts:
            return scored, changed
        changed += await do_score_contacts(session, contacts, cfg)
        scored += len(contacts)
        after = contacts[-1].id
        await commit(session)
