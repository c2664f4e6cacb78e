"""Writes of the priority matrix: the account's configuration, and a conversation's assessed priority."""

from __future__ import annotations

from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.conversations.models import Conversation
from kefu.core.constants import EventType
from kefu.core.errors import NotFound, Unprocessable
from kefu.core.events import Actor, commit, emit
from kefu.routing.priority import assess_priority, load_config
from kefu.routing.priority_config import SETTINGS_KEY, PriorityConfig

# The bot's intents, read by name only (kefu.bot sits above routing, so its model is not imported).
_BOT_INTENTS = table("bot_intents", column("account_id"), column("name"))


async def get_priority_config(session: AsyncSession, account_id: int) -> PriorityConfig:
    return await load_config(session, account_id)


async def intent_names(session: AsyncSession, account_id: int) -> list[str]:
    q = select(_BOT_INTENTS.c.name).where(_BOT_INTENTS.c.account_id == account_id).order_by(_BOT_INTENTS.c.name)
    return [str(n) for n in (await session.scalars(q)).all()]


async def check_put_priority_config(
    session: AsyncSession, account_id: int, config: PriorityConfig, actor: Actor
) -> PriorityConfig:
    """Replace the account's configuration; every urgent intent must be one of the bot's intents."""
    known = set(await intent_names(session, account_id))
    unknown = [name for name in config.urgency.intents if name not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none defined"
        raise Unprocessable(f"unknown intent {unknown[0]!r} in urgency.intents (the bot's intents: {listed})")
    account = await session.get(Account, account_id, with_for_update={"key_share": True})
    if account is None:
        raise NotFound("account", account_id)
    stored = config.model_dump(mode="json")
    account.settings = {**(account.settings or {}), SETTINGS_KEY: stored}
    await session.flush()
    emit(session, account_id, EventType.ACCOUNT_UPDATED, {SETTINGS_KEY: stored}, actor=actor)
    await commit(session)
    return config


async def do_assess_conversation(session: AsyncSession, conv: Conversation, actor: Actor) -> Conversation:
    """Recompute and store the conversation's priority and reasons; `conversation.priority_changed` when
    the priority moves."""
    priority, reasons = await assess_priority(session, conv)
    previous = conv.priority
    conv.priority = priority
    conv.priority_reasons = reasons
    await session.flush()
    if priority != previous:
        payload = {"id": conv.id, "priority": priority, "previous": previous, "reasons": reasons}
        emit(
            session,
            conv.account_id,
            EventType.CONVERSATION_PRIORITY_CHANGED,
            payload,
            actor=actor,
            conversation_id=conv.id,
        )
    await commit(session)
    return conv
