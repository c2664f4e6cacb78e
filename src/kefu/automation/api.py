"""/api/v1/automation: rules (CRUD, order) and their run log. Admins only (Perm.MANAGE_AUTOMATION)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kefu.auth.deps import CanManageAutomation
from kefu.automation import service
from kefu.automation.schemas import RuleCreate, RuleOrder, RuleRead, RuleUpdate, RunRead
from kefu.core.deps import SessionDep
from kefu.core.openapi import errors
from kefu.core.pagination import MAX_LIMIT, Cursor, CursorParam
from kefu.core.schemas import Id, Page

router = APIRouter(prefix="/api/v1/automation", tags=["automation"])


@router.get("/rules", response_model=list[RuleRead])
async def list_rules(session: SessionDep, principal: CanManageAutomation) -> list[RuleRead]:
    """The account's rules in the order they run."""
    return [RuleRead.model_validate(r) for r in await service.list_rules(session, principal.account_id)]


@router.post("/rules", response_model=RuleRead, status_code=201)
async def create_rule(data: RuleCreate, session: SessionDep, principal: CanManageAutomation) -> RuleRead:
    """422 for an unknown event type, field, operator or action (the message names it); 404 for a team or
    agent of an action that is not the account's. Nothing is saved then."""
    return RuleRead.model_validate(await service.check_create_rule(session, principal.account_id, data))


@router.put("/rules/order", response_model=list[RuleRead])
async def order_rules(data: RuleOrder, session: SessionDep, principal: CanManageAutomation) -> list[RuleRead]:
    """Set the order of every rule of the account (rule_ids, each once)."""
    rules = await service.check_order_rules(session, principal.account_id, data)
    return [RuleRead.model_validate(r) for r in rules]


@router.get("/rules/{rule_id}", response_model=RuleRead)
async def get_rule(rule_id: Id, session: SessionDep, principal: CanManageAutomation) -> RuleRead:
    return RuleRead.model_validate(await service.get_rule(session, principal.account_id, rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleRead)
async def update_rule(rule_id: Id, data: RuleUpdate, session: SessionDep, principal: CanManageAutomation) -> RuleRead:
    """Change any of the rule's fields (enable/disable with `enabled`); validated like a new rule."""
    return RuleRead.model_validate(await service.check_update_rule(session, principal.account_id, rule_id, data))


@router.delete("/rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: Id, session: SessionDep, principal: CanManageAutomation) -> Response:
    await service.do_delete_rule(session, principal.account_id, rule_id)
    return Response(status_code=204)


@router.get("/runs", response_model=Page[RunRead], responses=errors(404))
async def list_runs(
    session: SessionDep,
    principal: CanManageAutomation,
    rule_id: Id | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[RunRead]:
    """The run log, newest first: which rule ran on which event and what each action did."""
    rows, nxt = await service.list_runs(
        session, principal.account_id, rule_id=rule_id, cursor=Cursor.decode(cursor), limit=limit
    )
    return Page(items=[RunRead.model_validate(r) for r in rows], next_cursor=nxt.encode() if nxt else None)
