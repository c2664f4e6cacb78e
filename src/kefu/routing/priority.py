"""Priority P1–P4 from urgency × importance (紧急/重要 matrix), with the reasons (docs/routing.md).

`assess_priority` is what the assigner calls when a conversation enters the queue; it returns the
priority and the reasons shown on the conversation and in the API."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation


async def assess_priority(session: AsyncSession, conv: Conversation) -> tuple[str, list[str]]:
    """The priority for `conv` now and why. (The matrix lands with the per-account configuration.)"""
    return conv.priority, list(conv.priority_reasons or [])
