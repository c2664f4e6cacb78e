"""/api/v1/routing/priority (the urgency × importance configuration), /api/v1/conversations/{id}/priority/
assess, and /api/v1/routing/staffing (Erlang C staffing from the account's history). docs/staffing.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kefu.auth.deps import CanHandle, CanManageTeams
from kefu.conversations import service as conversations
from kefu.conversations.schemas import ConversationRead
from kefu.core.deps import SessionDep
from kefu.core.openapi import errors
from kefu.core.schemas import Id
from kefu.routing import priority_service, staffing_service
from kefu.routing.planning_schemas import StaffingRead
from kefu.routing.priority_config import PriorityConfig

router = APIRouter(prefix="/api/v1", tags=["routing"])


@router.get("/routing/priority", response_model=PriorityConfig)
async def get_priority(session: SessionDep, principal: CanManageTeams) -> PriorityConfig:
    """The account's priority matrix and its urgency and importance rules (the defaults until saved)."""
    return await priority_service.get_priority_config(session, principal.account_id)


@router.put("/routing/priority", response_model=PriorityConfig, responses=errors(422))
async def put_priority(data: PriorityConfig, session: SessionDep, principal: CanManageTeams) -> PriorityConfig:
    """Replace the configuration. An intent that is not one of the bot's intents is refused (422)."""
    return await priority_service.check_put_priority_config(session, principal.account_id, data, principal.actor)


@router.post("/conversations/{conv_id}/priority/assess", response_model=ConversationRead)
async def assess_priority(conv_id: Id, session: SessionDep, principal: CanHandle) -> ConversationRead:
    """Recompute the conversation's priority and reasons from its latest message and its contact, store
    them, and emit `conversation.priority_changed` when the priority changed."""
    conv = await conversations.get_conversation(session, principal.account_id, conv_id)
    conv = await priority_service.do_assess_conversation(session, conv, principal.actor)
    return await conversations.read_conversation(session, conv)


@router.get("/routing/staffing", response_model=StaffingRead)
async def get_staffing(
    session: SessionDep,
    principal: CanManageTeams,
    target_sl: Annotated[float, Query(gt=0, lt=1, description="share answered within target_s, e.g. 0.8")] = 0.8,
    target_s: Annotated[float, Query(ge=0, le=86400, description="seconds")] = 20,
    aht_s: Annotated[float, Query(gt=0, le=86400, description="average handle time, seconds")] = 300,
    weeks: Annotated[int, Query(ge=1, le=52, description="weeks of history in the forecast")] = 4,
    max_occupancy: Annotated[float, Query(gt=0, le=1)] = 1.0,
) -> StaffingRead:
    """Agents needed per hour of the week (Erlang C) for the target service level, from a seasonal average
    of the conversations the account opened in each weekday × hour over the last `weeks` whole weeks."""
    return await staffing_service.staffing_of(
        session, principal.account_id, target_sl, target_s, aht_s, weeks, max_occupancy
    )
