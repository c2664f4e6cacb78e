"""Erlang C staffing: agents needed per hour of the week for a target service level, from a forecast of
contacts (docs/staffing.md).

The forecast is a plain seasonal average: the conversations the account opened in each weekday × hour
(in the account's time zone) over the last N whole weeks, divided by N. `plan` turns a forecast into
agents per interval with kefu.routing.erlang; both are pure, `forecast_from_history` only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.routing import erlang

HOURS_PER_WEEK = 7 * 24
MAX_WEEKS = 52


@dataclass(frozen=True)
class Targets:
    service_level: float = 0.8  # share answered within `target_s` (0..1, exclusive)
    target_s: float = 20.0
    aht_s: float = 300.0
    max_occupancy: float = 1.0

    def check(self) -> None:
        if not 0 < self.service_level < 1:
            raise ValueError(f"target service level must be between 0 and 1 (exclusive), not {self.service_level}")
        if self.target_s < 0:
            raise ValueError(f"target seconds must be ≥ 0, not {self.target_s}")
        if not self.aht_s > 0:
            raise ValueError(f"handle time must be > 0 seconds, not {self.aht_s}")
        if not 0 < self.max_occupancy <= 1:
            raise ValueError(f"max occupancy must be in (0, 1], not {self.max_occupancy}")


@dataclass(frozen=True)
class Interval:
    index: int  # position in the forecast (for a week: weekday × 24 + hour, Monday 0)
    contacts: float  # forecast contacts in the interval
    traffic: float  # Erlangs
    agents: int
    service_level: float
    asa_s: float
    occupancy: float


@dataclass(frozen=True)
class Plan:
    targets: Targets
    interval_s: float
    intervals: list[Interval]

    @property
    def peak_agents(self) -> int:
        return max((i.agents for i in self.intervals), default=0)

    @property
    def agent_hours(self) -> float:
        return sum(i.agents for i in self.intervals) * self.interval_s / 3600

    def as_dict(self) -> dict[str, object]:
        return {
            "targets": asdict(self.targets),
            "interval_s": self.interval_s,
            "peak_agents": self.peak_agents,
            "agent_hours": round(self.agent_hours, 2),
            "intervals": [
                {
                    **asdict(i),
                    "contacts": round(i.contacts, 3),
                    "traffic": round(i.traffic, 3),
                    "service_level": round(i.service_level, 4),
                    "asa_s": round(i.asa_s, 2),
                    "occupancy": round(i.occupancy, 4),
                }
                for i in self.intervals
            ],
        }


def plan(forecast: Sequence[float], targets: Targets, interval_s: float = 3600) -> Plan:
    """Agents per interval: the fewest meeting the targets for the forecast contacts of each interval."""
    targets.check()
    if interval_s <= 0:
        raise ValueError(f"interval must be > 0 seconds, not {interval_s}")
    out = []
    for index, contacts in enumerate(forecast):
        if contacts < 0:
            raise ValueError(f"forecast contacts must be ≥ 0, not {contacts} (interval {index})")
        traffic = contacts * targets.aht_s / interval_s
        s = erlang.agents_needed(
            traffic, targets.aht_s, targets.service_level, targets.target_s, max_occupancy=targets.max_occupancy
        )
        asa = s.asa_s if s.agents else 0.0
        out.append(Interval(index, contacts, traffic, s.agents, s.service_level, asa, s.occupancy))
    return Plan(targets, interval_s, out)


def seasonal_average(created: Sequence[datetime], tz: ZoneInfo, weeks: int) -> list[float]:
    """Contacts per weekday × hour (168 values, Monday 00:00 first), averaged over `weeks`."""
    counts = [0] * HOURS_PER_WEEK
    for at in created:
        local = at.astimezone(tz)
        counts[local.weekday() * 24 + local.hour] += 1
    return [c / weeks for c in counts]


def history_window(now: datetime, tz: ZoneInfo, weeks: int) -> tuple[datetime, datetime]:
    """The last `weeks` whole weeks before the current one (Monday 00:00 local), as UTC instants."""
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start = monday - timedelta(weeks=weeks)
    return start, monday


async def forecast_from_history(session: AsyncSession, account_id: int, weeks: int) -> list[float]:
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks of history must be 1..{MAX_WEEKS}, not {weeks}")
    tz_name = await session.scalar(select(Account.timezone).where(Account.id == account_id))
    tz = ZoneInfo(tz_name or "Asia/Shanghai")
    start, end = history_window(clock.now(), tz, weeks)
    q = select(Conversation.created_at).where(
        Conversation.account_id == account_id, Conversation.created_at >= start, Conversation.created_at < end
    )
    created = list((await session.scalars(q)).all())
    return seasonal_average(created, tz, weeks)
