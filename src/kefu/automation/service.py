"""Automation rules: the only place that writes them (docs/automation.md).

Every write validates first — conditions and actions by their schemas (422), the teams and agents an
action names against the account (404) — then writes in one transaction, so nothing is half-saved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Team
from kefu.auth.access import get_scoped, restrict
from kefu.auth.models import User
from kefu.automation.models import AutomationRule, RuleRun
from kefu.automation.schemas import ActionType, RuleCreate, RuleOrder, RuleUpdate
from kefu.core.errors import BadRequest, NotFound, Unprocessable
from kefu.core.events import commit
from kefu.core.pagination import Cursor, page_by_id


async def get_rule(session: AsyncSession, account_id: int, rule_id: int) -> AutomationRule:
    return await get_scoped(session, AutomationRule, rule_id, account_id, "rule")


async def list_rules(session: AsyncSession, account_id: int, *, event_type: str | None = None) -> list[AutomationRule]:
    q = restrict(select(AutomationRule), AutomationRule, account_id)
    if event_type is not None:
        q = q.where(AutomationRule.event_type == event_type)
    return list((await session.execute(q.order_by(AutomationRule.position, AutomationRule.id))).scalars())


async def list_enabled_rules(session: AsyncSession, account_id: int, event_type: str) -> list[AutomationRule]:
    return [r for r in await list_rules(session, account_id, event_type=event_type) if r.enabled]


async def list_runs(
    session: AsyncSession, account_id: int, *, rule_id: int | None, cursor: Cursor | None, limit: int
) -> tuple[list[RuleRun], Cursor | None]:
    q = restrict(select(RuleRun), RuleRun, account_id)
    if rule_id is not None:
        await get_rule(session, account_id, rule_id)
        q = q.where(RuleRun.rule_id == rule_id)
    return await page_by_id(session, q, RuleRun, cursor, limit)


async def check_references(session: AsyncSession, account_id: int, actions: list[dict[str, Any]]) -> None:
    """404 for a team or agent an action names that is not the account's (or a deactivated agent: 422)."""
    for action in actions:
        kind = action["type"]
        if kind == ActionType.ASSIGN_TEAM or (kind == ActionType.NOTIFY and action.get("team_id")):
            await get_scoped(session, Team, action["team_id"], account_id, "team")
        user_ids = [action["user_id"]] if kind == ActionType.ASSIGN_AGENT else []
        if kind == ActionType.NOTIFY:
            user_ids = list(action.get("user_ids") or [])
        for user_id in user_ids:
            user = await get_scoped(session, User, user_id, account_id, "user")
            if not user.is_active:
                raise Unprocessable(f"user {user_id} is deactivated and cannot be named in a rule")


def _actions(data: RuleCreate | RuleUpdate) -> list[dict[str, Any]] | None:
    return None if data.actions is None else [a.model_dump(mode="json") for a in data.actions]


def _conditions(data: RuleCreate | RuleUpdate) -> list[dict[str, Any]] | None:
    return None if data.conditions is None else [c.model_dump(mode="json") for c in data.conditions]


async def check_create_rule(session: AsyncSession, account_id: int, data: RuleCreate) -> AutomationRule:
    actions = _actions(data) or []
    await check_references(session, account_id, actions)
    position = data.position
    if position is None:
        last = await session.scalar(
            select(func.max(AutomationRule.position)).where(AutomationRule.account_id == account_id)
        )
        position = 0 if last is None else int(last) + 1
    rule = AutomationRule(
        account_id=account_id,
        name=data.name,
        event_type=data.event_type,
        match=str(data.match),
        conditions=_conditions(data) or [],
        actions=actions,
        enabled=data.enabled,
        position=position,
    )
    session.add(rule)
    await commit(session)
    return rule


async def check_update_rule(session: AsyncSession, account_id: int, rule_id: int, data: RuleUpdate) -> AutomationRule:
    rule = await get_rule(session, account_id, rule_id)
    changes = data.model_dump(exclude_unset=True, mode="json")
    if (actions := _actions(data)) is not None:
        await check_references(session, account_id, actions)
        changes["actions"] = actions
    if (conditions := _conditions(data)) is not None:
        changes["conditions"] = conditions
    for field, value in changes.items():
        setattr(rule, field, value)
    await commit(session)
    return rule


async def do_delete_rule(session: AsyncSession, account_id: int, rule_id: int) -> None:
    rule = await get_rule(session, account_id, rule_id)
    await session.delete(rule)
    await commit(session)


async def do_set_enabled(session: AsyncSession, account_id: int, rule_id: int, enabled: bool) -> AutomationRule:
    rule = await get_rule(session, account_id, rule_id)
    rule.enabled = enabled
    await commit(session)
    return rule


async def check_order_rules(session: AsyncSession, account_id: int, data: RuleOrder) -> list[AutomationRule]:
    """Give the account's rules the order of `rule_ids`, which must name each of them exactly once."""
    rules = await list_rules(session, account_id)
    by_id = {r.id: r for r in rules}
    if len(set(data.rule_ids)) != len(data.rule_ids):
        raise BadRequest("rule_ids names a rule twice")
    for rule_id in data.rule_ids:
        if rule_id not in by_id:
            raise NotFound("rule", rule_id)
    missing = sorted(set(by_id) - set(data.rule_ids))
    if missing:
        raise Unprocessable(f"rule_ids must name every rule of the account; missing: {missing}")
    for position, rule_id in enumerate(data.rule_ids):
        by_id[rule_id].position = position
    await commit(session)
    return [by_id[i] for i in data.rule_ids]


async def do_move_rule(session: AsyncSession, account_id: int, rule_id: int, step: int) -> None:
    """Move a rule one place up (step -1) or down (+1) in the account's order."""
    rules = await list_rules(session, account_id)
    ids = [r.id for r in rules]
    if rule_id not in ids:
        raise NotFound("rule", rule_id)
    i = ids.index(rule_id)
    j = i + (1 if step > 0 else -1)
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    await check_order_rules(session, account_id, RuleOrder(rule_ids=ids))
