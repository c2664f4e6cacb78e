"""/api/v1/events: the account's event log (core.eventlog), read in order after an id — for audit and
integrations. A domain module, not core: who may read it is an auth question (`CanViewEvents`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from kefu.auth.access import restrict
from kefu.auth.deps import CanViewEvents
from kefu.conversations.event_messages import event_messages
from kefu.core.deps import SessionDep
from kefu.core.eventlog import Event
from kefu.core.schemas import AfterId, Id

router = APIRouter(tags=["system"])


class EventRead(BaseModel):
    id: int
    type: str
    account_id: int
    conversation_id: int | None
    contact_id: int | None
    actor: dict[str, Any]
    payload: dict[str, Any]
    created_at: str


@router.get("/api/v1/events", response_model=list[EventRead])
async def list_events(
    session: SessionDep,
    principal: CanViewEvents,
    after_id: AfterId = 0,
    type: Annotated[str | None, Query(max_length=64)] = None,
    conversation_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    q = restrict(select(Event), Event, principal.account_id).where(Event.id > after_id)
    if type:
        q = q.where(Event.type == type)
    if conversation_id is not None:
        q = q.where(Event.conversation_id == conversation_id)
    rows = list((await session.execute(q.order_by(Event.id).limit(limit))).scalars())
    return await event_messages(session, rows)  # a message.created event carries its message (joined)
