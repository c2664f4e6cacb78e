"""Reads behind the staffing API and page: the account's forecast turned into a plan."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.core.errors import Unprocessable
from kefu.routing.planning_schemas import StaffingInterval, StaffingRead
from kefu.routing.staffing import Plan, Targets, forecast_from_history, plan


async def plan_of(session: AsyncSession, account_id: int, targets: Targets, weeks: int) -> Plan:
    try:
        forecast = await forecast_from_history(session, account_id, weeks)
        return plan(forecast, targets)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None


async def staffing_of(
    session: AsyncSession,
    account_id: int,
    target_sl: float,
    target_s: float,
    aht_s: float,
    weeks: int,
    max_occupancy: float,
) -> StaffingRead:
    targets = Targets(target_sl, target_s, aht_s, max_occupancy)
    result = await plan_of(session, account_id, targets, weeks)
    tz = await session.scalar(select(Account.timezone).where(Account.id == account_id))
    return StaffingRead(
        target_sl=target_sl,
        target_s=target_s,
        aht_s=aht_s,
        max_occupancy=max_occupancy,
        weeks=weeks,
        timezone=tz or "Asia/Shanghai",
        peak_agents=result.peak_agents,
        agent_hours=round(result.agent_hours, 2),
        intervals=[
            StaffingInterval(
                index=i.index,
                weekday=i.index // 24,
                hour=i.index % 24,
                contacts=round(i.contacts, 3),
                traffic=round(i.traffic, 3),
                agents=i.agents,
                service_level=round(i.service_level, 4),
                asa_s=round(i.asa_s, 2),
                occupancy=round(i.occupancy, 4),
            )
            for i in result.intervals
        ],
    )
