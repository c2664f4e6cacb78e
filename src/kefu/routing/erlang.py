"""Erlang C (M/M/N): probability of waiting, service level, average speed of answer, occupancy, and the
agents needed for a target service level (docs/staffing.md).

Pure and numerically stable: Erlang B by its recurrence B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)), which
never forms A^N or N! (no overflow at hundreds of agents), then C = N·B / (N − A·(1 − B)).

Units: `traffic` A in Erlangs (arrival rate × handle time); times in the handle time's unit (seconds in
kefu). With N ≤ A the queue grows without bound: everyone waits (C = 1), the service level is 0 and the
ASA infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGENTS = 100_000


def _check(traffic: float, agents: int) -> None:
    if not math.isfinite(traffic) or traffic < 0:
        raise ValueError(f"traffic must be a finite number ≥ 0 Erlangs, not {traffic}")
    if agents < 0:
        raise ValueError(f"agents must be ≥ 0, not {agents}")


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of a loss system with `agents` servers offered `traffic` Erlangs."""
    _check(traffic, agents)
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a contact waits (finds every agent busy)."""
    _check(traffic, agents)
    if agents <= traffic:
        return 1.0
    b = erlang_b(traffic, agents)
    return agents * b / (agents - traffic * (1.0 - b))


def service_level(traffic: float, agents: int, aht: float, target_s: float) -> float:
    """P(wait ≤ target_s): 1 − C·exp(−(N − A)·T / AHT)."""
    _positive("aht", aht)
    if target_s < 0:
        raise ValueError(f"target_s must be ≥ 0, not {target_s}")
    if agents <= traffic:
        return 0.0
    return 1.0 - erlang_c(traffic, agents) * math.exp(-(agents - traffic) * target_s / aht)


def asa(traffic: float, agents: int, aht: float) -> float:
    """Average speed of answer (mean wait over all contacts): C·AHT / (N − A)."""
    _positive("aht", aht)
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    """Share of the agents' time spent handling contacts (capped at 1 when overloaded)."""
    _check(traffic, agents)
    return 1.0 if agents <= traffic else traffic / agents


def _positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, not {value}")


@dataclass(frozen=True)
class Staffing:
    agents: int
    traffic: float
    p_wait: float
    service_level: float
    asa_s: float
    occupancy: float


def evaluate(traffic: float, agents: int, aht: float, target_s: float) -> Staffing:
    return Staffing(
        agents=agents,
        traffic=traffic,
        p_wait=erlang_c(traffic, agents),
        service_level=service_level(traffic, agents, aht, target_s),
        asa_s=asa(traffic, agents, aht),
        occupancy=occupancy(traffic, agents),
    )


def agents_needed(
    traffic: float, aht: float, target_sl: float, target_s: float, *, max_occupancy: float = 1.0
) -> Staffing:
    """The fewest agents whose service level within `target_s` reaches `target_sl` (0..1) and whose
    occupancy stays at or under `max_occupancy`. No traffic: no agents."""
    if not 0 < target_sl < 1:
        raise ValueError(f"target service level must be between 0 and 1 (exclusive), not {target_sl}")
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"max occupancy must be in (0, 1], not {max_occupancy}")
    _positive("aht", aht)
    _check(traffic, 0)
    if traffic == 0:
        return evaluate(0.0, 0, aht, target_s)
    n = max(1, math.floor(traffic) + 1, math.ceil(traffic / max_occupancy))
    while n <= MAX_AGENTS:
        result = evaluate(traffic, n, aht, target_s)
        if result.service_level >= target_sl and result.occupancy <= max_occupancy:
            return result
        n += 1
    raise ValueError(f"more than {MAX_AGENTS} agents needed for {traffic} Erlangs")
