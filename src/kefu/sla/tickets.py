"""The SLA of a ticket, from the ticket events alone (kefu.sla sits above kefu.tickets and reads no ticket
table): a resolution clock per ticket (docs/sla.md "Tickets").

- ticket.created (not solved or closed): the resolution clock starts, with the payload's `priority` (p1 … p4;
  missing: p3) and `tier` (normal / vip / gold; missing: any);
- ticket.status_changed → pending or on-hold: it pauses; back to new / open: it resumes; → solved or closed:
  it stops; reopened from solved / closed: a new one starts;
- ticket.updated with a `priority` in its payload: the open clock takes that priority's targets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.constants import Priority
from kefu.sla import clocks
from kefu.sla.models import Metric, SubjectType
from kefu.sla.policies import policy_tier

WAITING = {"pending", "on_hold", "on-hold"}
DONE = {"solved", "closed"}


def _priority(payload: dict[str, Any]) -> str:
    value = str(payload.get("priority") or "")
    return value if value in {p.value for p in Priority} else Priority.P3


async def on_ticket_created(
    session: AsyncSession, account_id: int, ticket_id: int, payload: dict[str, Any], at: datetime
) -> None:
    if str(payload.get("status")) in DONE:
        return
    subject = (SubjectType.TICKET, ticket_id)
    tier = policy_tier(payload.get("tier"))
    await clocks.do_start_clock(
        session, account_id, subject, Metric.RESOLUTION, priority=_priority(payload), tier=tier, at=at
    )
    if str(payload.get("status")) in WAITING:
        await clocks.do_pause_clocks(session, account_id, subject, at=at)


async def on_ticket_status(
    session: AsyncSession, account_id: int, ticket_id: int, payload: dict[str, Any], at: datetime
) -> None:
    status, previous = str(payload.get("status")), str(payload.get("previous_status"))
    subject = (SubjectType.TICKET, ticket_id)
    if status in DONE:
        await clocks.do_stop_clocks(session, account_id, subject, clocks.ALL_METRICS, at=at)
    elif status in WAITING:
        await clocks.do_pause_clocks(session, account_id, subject, at=at)
    elif previous in WAITING:
        await clocks.do_resume_clocks(session, account_id, subject, at=at)
    elif previous in DONE:
        await on_ticket_created(session, account_id, ticket_id, payload, at)


async def on_ticket_updated(session: AsyncSession, account_id: int, ticket_id: int, payload: dict[str, Any]) -> None:
    if "priority" in payload:
        subject = (SubjectType.TICKET, ticket_id)
        tier = policy_tier(payload.get("tier"))
        await clocks.do_retarget_clocks(session, account_id, subject, priority=_priority(payload), tier=tier)
