"""/api/v1/routing/… (skills, requirements, agents, presence, settings, the live queue) and
/api/v1/conversations/{id}/transfer(s). Supervisors and admins configure (CanManageTeams); every agent sets
their own presence and transfers (CanHandle). docs/api.md "Routing"."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kefu.auth.deps import CanHandle, CanManageTeams, CanViewTeam
from kefu.conversations.service import do_assign
from kefu.core.deps import SessionDep, StateDep
from kefu.core.openapi import errors
from kefu.core.schemas import Id
from kefu.routing import queue, service
from kefu.routing.listeners import ASSIGN_JOB
from kefu.routing.schemas import (
    AgentRead,
    AgentUpdate,
    PresenceUpdate,
    QueueRead,
    ReassignRequest,
    RequirementCreate,
    RequirementRead,
    RoutingSettings,
    SkillCreate,
    SkillRead,
    SkillUpdate,
    TransferCreate,
    TransferRateDay,
    TransferRead,
)

router = APIRouter(prefix="/api/v1", tags=["routing"])


@router.get("/routing/skills", response_model=list[SkillRead])
async def list_skills(session: SessionDep, principal: CanViewTeam) -> list[SkillRead]:
    return [SkillRead.model_validate(s) for s in await service.list_skills(session, principal.account_id)]


@router.post("/routing/skills", response_model=SkillRead, status_code=201, responses=errors(409))
async def create_skill(data: SkillCreate, session: SessionDep, principal: CanManageTeams) -> SkillRead:
    return SkillRead.model_validate(await service.check_create_skill(session, principal.account_id, data))


@router.patch("/routing/skills/{skill_id}", response_model=SkillRead, responses=errors(409))
async def update_skill(skill_id: Id, data: SkillUpdate, session: SessionDep, principal: CanManageTeams) -> SkillRead:
    return SkillRead.model_validate(await service.check_update_skill(session, principal.account_id, skill_id, data))


@router.delete("/routing/skills/{skill_id}", status_code=204)
async def delete_skill(skill_id: Id, session: SessionDep, principal: CanManageTeams) -> Response:
    await service.do_delete_skill(session, principal.account_id, skill_id)
    return Response(status_code=204)


@router.get("/routing/requirements", response_model=list[RequirementRead])
async def list_requirements(session: SessionDep, principal: CanViewTeam) -> list[RequirementRead]:
    return await service.list_requirements(session, principal.account_id)


@router.post("/routing/requirements", response_model=RequirementRead, status_code=201, responses=errors(409))
async def create_requirement(
    data: RequirementCreate, session: SessionDep, principal: CanManageTeams
) -> RequirementRead:
    return await service.check_create_requirement(session, principal.account_id, data)


@router.delete("/routing/requirements/{requirement_id}", status_code=204)
async def delete_requirement(requirement_id: Id, session: SessionDep, principal: CanManageTeams) -> Response:
    await service.do_delete_requirement(session, principal.account_id, requirement_id)
    return Response(status_code=204)


@router.get("/routing/agents", response_model=list[AgentRead])
async def list_agents(session: SessionDep, principal: CanViewTeam) -> list[AgentRead]:
    return await service.list_agents(session, principal.account_id)


@router.patch("/routing/agents/{user_id}", response_model=AgentRead)
async def update_agent(user_id: Id, data: AgentUpdate, session: SessionDep, principal: CanManageTeams) -> AgentRead:
    return await service.check_update_agent(session, principal.account_id, user_id, data)


@router.put("/routing/presence", response_model=AgentRead)
async def set_presence(data: PresenceUpdate, session: SessionDep, principal: CanHandle) -> AgentRead:
    """Set your own presence: online takes conversations, busy and away do not."""
    await service.do_set_presence(session, principal.account_id, principal.user.id, data.presence, principal.actor)
    return (await service.list_agents(session, principal.account_id, user_ids=[principal.user.id]))[0]


@router.get("/routing/settings", response_model=RoutingSettings)
async def get_settings(session: SessionDep, principal: CanManageTeams) -> RoutingSettings:
    return await service.get_settings(session, principal.account_id)


@router.put("/routing/settings", response_model=RoutingSettings)
async def put_settings(data: RoutingSettings, session: SessionDep, principal: CanManageTeams) -> RoutingSettings:
    return await service.check_update_settings(session, principal.account_id, data)


@router.get("/routing/queue", response_model=QueueRead)
async def get_queue(session: SessionDep, principal: CanManageTeams) -> QueueRead:
    """Waiting conversations in queue order, agents with their load, and the transfer rate per day."""
    return await queue.get_queue(session, principal.account_id)


@router.get("/routing/transfer_rate", response_model=list[TransferRateDay])
async def get_transfer_rate(session: SessionDep, principal: CanManageTeams) -> list[TransferRateDay]:
    return await queue.transfer_rate(session, principal.account_id)


@router.post("/routing/queue/{conv_id}/reassign", response_model=QueueRead)
async def reassign(conv_id: Id, data: ReassignRequest, session: SessionDep, principal: CanManageTeams) -> QueueRead:
    """A supervisor gives a conversation to an agent (from the queue page: by button or by drag)."""
    await do_assign(session, principal.account_id, conv_id, data.user_id, principal.actor)
    return await queue.get_queue(session, principal.account_id)


@router.post("/routing/assign", response_model=QueueRead)
async def run_assigner(session: SessionDep, state: StateDep, principal: CanManageTeams) -> QueueRead:
    """Run the assigner for the account now (it also runs on every change and every 15 s, unless the
    account turned automatic assignment off)."""
    await state.jobs.enqueue(ASSIGN_JOB, account_id=principal.account_id, force=True)
    return await queue.get_queue(session, principal.account_id)


@router.post("/conversations/{conv_id}/transfer", response_model=TransferRead, status_code=201, tags=["conversations"])
async def transfer(conv_id: Id, data: TransferCreate, session: SessionDep, principal: CanHandle) -> TransferRead:
    """Move the conversation to another agent and/or team, with a reason (counted in the transfer rate)."""
    row = await service.check_transfer(session, principal.account_id, conv_id, data, principal.actor)
    return TransferRead.model_validate(row)


@router.get("/conversations/{conv_id}/transfers", response_model=list[TransferRead], tags=["conversations"])
async def list_transfers(conv_id: Id, session: SessionDep, principal: CanHandle) -> list[TransferRead]:
    return [
        TransferRead.model_validate(t) for t in await service.list_transfers(session, principal.account_id, conv_id)
    ]
