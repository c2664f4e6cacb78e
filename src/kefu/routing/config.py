"""The account's routing settings, kept in Account.settings["routing"] (docs/routing.md "Settings"):

{"auto_assign": true, "sticky": true, "default_capacity": 5,
 "overflow": {"<team id>": {"after_s": 300, "team_id": <overflow team id>}}}

auto_assign false: nothing assigns the account's waiting conversations by itself (the nudges and the
periodic pass skip it); people assign them, or run the assigner on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Account

DEFAULT_CAPACITY = 5


@dataclass(frozen=True)
class Overflow:
    after_s: int
    team_id: int


@dataclass(frozen=True)
class RoutingConfig:
    auto_assign: bool = True
    sticky: bool = True
    default_capacity: int = DEFAULT_CAPACITY
    overflow: dict[int, Overflow] = field(default_factory=dict)  # team id → where it overflows, and when

    def overflow_team(self, team_id: int | None) -> int | None:
        rule = self.overflow.get(team_id) if team_id is not None else None
        return rule.team_id if rule is not None else None

    def overflow_after(self, team_id: int | None) -> int | None:
        rule = self.overflow.get(team_id) if team_id is not None else None
        return rule.after_s if rule is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "auto_assign": self.auto_assign,
            "sticky": self.sticky,
            "default_capacity": self.default_capacity,
            "overflow": {str(k): {"after_s": v.after_s, "team_id": v.team_id} for k, v in self.overflow.items()},
        }


def parse_config(raw: dict[str, Any] | None) -> RoutingConfig:
    raw = raw or {}
    overflow = {
        int(team): Overflow(int(rule["after_s"]), int(rule["team_id"]))
        for team, rule in (raw.get("overflow") or {}).items()
    }
    return RoutingConfig(
        auto_assign=bool(raw.get("auto_assign", True)),
        sticky=bool(raw.get("sticky", True)),
        default_capacity=int(raw.get("default_capacity", DEFAULT_CAPACITY)),
        overflow=overflow,
    )


async def get_config(session: AsyncSession, account_id: int) -> RoutingConfig:
    settings = (await session.execute(select(Account.settings).where(Account.id == account_id))).scalar_one()
    return parse_config((settings or {}).get("routing"))
