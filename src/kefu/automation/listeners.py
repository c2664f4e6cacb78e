"""Durable event listeners of kefu.automation (core/listeners.py), imported by kefu.main.register_listeners."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.automation.evaluator import RULE_EVENTS
from kefu.automation.runner import run_rules
from kefu.core.listeners import ListenedEvent, listener


@listener("automation.rules", events=set(RULE_EVENTS))
async def automation_rules(session: AsyncSession, event: ListenedEvent) -> None:
    """The enabled rules of the event's account, in order (kefu.automation.runner). It reads the whole log;
    a rule runs only on events that happened after it was created."""
    await run_rules(session, event)
