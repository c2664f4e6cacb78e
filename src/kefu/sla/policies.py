"""Which targets apply: the policy of a priority × tier, with the built-in defaults (docs/sla.md).

Lookup order for a subject of priority P and contact tier T: the stored policy (P, T), then (P, "any"), then
the built-in default of P — 24×7, warning at 80 %:

| priority | first response | next response | resolution |
|----------|----------------|---------------|------------|
| p1       | 30 min         | 30 min        | 8 h        |
| p2       | 2 h            | 2 h           | 24 h       |
| p3       | 8 h            | 8 h           | 3 days     |
| p4       | 24 h           | 24 h          | 7 days     |
"""

from __future__ import annotations

from dataclasses import dataclass

from kefu.core.constants import Priority
from kefu.sla.models import Metric, PolicyTier, SlaPolicy

DEFAULT_WARN_FRACTION = 0.8
DEFAULT_TARGETS: dict[str, tuple[int, int, int]] = {  # minutes: first response, next response, resolution
    Priority.P1: (30, 30, 8 * 60),
    Priority.P2: (2 * 60, 2 * 60, 24 * 60),
    Priority.P3: (8 * 60, 8 * 60, 3 * 24 * 60),
    Priority.P4: (24 * 60, 24 * 60, 7 * 24 * 60),
}


@dataclass(frozen=True)
class Targets:
    policy_id: int | None
    priority: str
    tier: str
    first_response_min: int
    next_response_min: int
    resolution_min: int
    warn_fraction: float
    calendar_id: int | None

    def minutes(self, metric: str) -> int:
        return {
            Metric.FIRST_RESPONSE: self.first_response_min,
            Metric.NEXT_RESPONSE: self.next_response_min,
            Metric.RESOLUTION: self.resolution_min,
        }[Metric(metric)]

    @classmethod
    def of(cls, policy: SlaPolicy) -> Targets:
        return cls(
            policy.id,
            policy.priority,
            policy.tier,
            policy.first_response_min,
            policy.next_response_min,
            policy.resolution_min,
            policy.warn_fraction,
            policy.calendar_id,
        )

    @classmethod
    def default(cls, priority: str, tier: str = PolicyTier.ANY) -> Targets:
        first, following, resolution = DEFAULT_TARGETS.get(priority, DEFAULT_TARGETS[Priority.P3])
        return cls(None, priority, tier, first, following, resolution, DEFAULT_WARN_FRACTION, None)


def policy_tier(contact_tier: str | None) -> str:
    """The policy tier of a contact's tier: normal / vip / gold, anything else "any"."""
    return contact_tier if contact_tier in {t.value for t in PolicyTier} else PolicyTier.ANY


def choose(policies: list[SlaPolicy], priority: str, tier: str) -> Targets:
    """The targets for `priority` and `tier` among an account's stored policies (order in the module doc)."""
    by_key = {(p.priority, p.tier): p for p in policies}
    for key in ((priority, tier), (priority, PolicyTier.ANY)):
        if key in by_key:
            return Targets.of(by_key[key])
    return Targets.default(priority)


def matrix(policies: list[SlaPolicy]) -> list[Targets]:
    """Every priority × tier cell: the stored policy, or for "any" the built-in default (other tiers without
    a stored policy fall back to "any" and are left out)."""
    by_key = {(p.priority, p.tier): p for p in policies}
    cells = []
    for priority in Priority:
        for tier in PolicyTier:
            if (priority, tier) in by_key:
                cells.append(Targets.of(by_key[(priority, tier)]))
            elif tier == PolicyTier.ANY:
                cells.append(Targets.default(priority))
    return cells
