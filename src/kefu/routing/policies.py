"""Pure routing decisions: queue order, who may take a conversation, and whom to give it to.

No I/O and no clock: the server's assigner (kefu.routing.assign) and the simulator (`kefu simulate`) build
`QueueItem`s and `AgentState`s from what they hold and call the same functions, so what the simulation
measures is the code the server runs.

Rule order of `pick_agent` (strategy "skills"):
1. an agent is eligible when online, under capacity (overall and for the item's channel), in the item's
   team when it has one, and holding every required skill;
2. sticky: the customer's previous agent, when eligible, takes it;
3. otherwise the eligible agent with the highest skill score (sum of levels of the required skills), then
   the lowest load ratio, then the longest since their last assignment, then the lowest id.
Strategy "round_robin" ignores skills and stickiness: the online agent with room (in the team, if any) who
was assigned longest ago.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kefu.core.constants import Priority

PRIORITY_RANK: Mapping[str, int] = {Priority.P1: 1, Priority.P2: 2, Priority.P3: 3, Priority.P4: 4}


class Presence(StrEnum):
    ONLINE = "online"
    BUSY = "busy"  # signed in, takes no new conversations
    AWAY = "away"


class Strategy(StrEnum):
    SKILLS = "skills"
    ROUND_ROBIN = "round_robin"


@dataclass(frozen=True)
class QueueItem:
    conversation_id: int
    priority: str
    waiting_since: datetime
    sla_due_at: datetime | None = None
    team_id: int | None = None
    channel: str = "web_widget"
    required_skills: frozenset[str] = frozenset()
    previous_agent_id: int | None = None


@dataclass(frozen=True)
class AgentState:
    id: int
    presence: str = Presence.ONLINE
    capacity: int = 5
    load: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)  # skill name → level 1..5
    team_ids: frozenset[int] = frozenset()
    channel_capacity: Mapping[str, int] = field(default_factory=dict)  # channel → max; absent: no own limit
    channel_load: Mapping[str, int] = field(default_factory=dict)
    last_assigned_at: datetime | None = None


@dataclass(frozen=True)
class Choice:
    agent_id: int | None
    reason: str  # sticky | skills | round_robin | no_agent


def queue_key(item: QueueItem) -> tuple[int, float, float, int]:
    """Sort key: priority, then the SLA deadline (none last), then the longest wait, then the id."""
    due = item.sla_due_at.timestamp() if item.sla_due_at is not None else float("inf")
    return (PRIORITY_RANK.get(item.priority, 4), due, item.waiting_since.timestamp(), item.conversation_id)


def order_queue(items: Iterable[QueueItem]) -> list[QueueItem]:
    return sorted(items, key=queue_key)


def has_room(agent: AgentState, channel: str) -> bool:
    if agent.load >= agent.capacity:
        return False
    limit = agent.channel_capacity.get(channel)
    return limit is None or agent.channel_load.get(channel, 0) < limit


def available(agent: AgentState, item: QueueItem) -> bool:
    """Online, with room, and in the item's team when it has one (skills not considered)."""
    if agent.presence != Presence.ONLINE or not has_room(agent, item.channel):
        return False
    return item.team_id is None or item.team_id in agent.team_ids


def eligible(agent: AgentState, item: QueueItem) -> bool:
    return available(agent, item) and all(skill in agent.skills for skill in item.required_skills)


def skill_score(agent: AgentState, item: QueueItem) -> int:
    return sum(agent.skills.get(skill, 0) for skill in item.required_skills)


def _eligible_score(a: AgentState, item: QueueItem) -> int | None:
    """`skill_score(a, item)` when `eligible(a, item)`, else None — the two in one pass (the assigner calls
    this for every agent and waiting conversation; tests/routing/test_policies.py holds it to the two)."""
    if a.presence != Presence.ONLINE or a.load >= a.capacity:
        return None
    limit = a.channel_capacity.get(item.channel)
    if limit is not None and a.channel_load.get(item.channel, 0) >= limit:
        return None
    if item.team_id is not None and item.team_id not in a.team_ids:
        return None
    score = 0
    for skill in item.required_skills:
        level = a.skills.get(skill)
        if level is None:
            return None
        score += level
    return score


def _last(agent: AgentState) -> float:
    return agent.last_assigned_at.timestamp() if agent.last_assigned_at is not None else float("-inf")


def pick_agent(item: QueueItem, agents: Iterable[AgentState], strategy: str = Strategy.SKILLS) -> Choice:
    pool = list(agents)
    if strategy == Strategy.ROUND_ROBIN:
        ready = [a for a in pool if available(a, item)]
        if not ready:
            return Choice(None, "no_agent")
        return Choice(min(ready, key=lambda a: (_last(a), a.id)).id, "round_robin")
    best_key: tuple[int, float, float, int] | None = None
    best_id: int | None = None
    for a in pool:  # one pass: eligible(a, item), then the lowest (−skill score, load ratio, last, id)
        score = _eligible_score(a, item)
        if score is None:
            continue
        if a.id == item.previous_agent_id:
            return Choice(a.id, "sticky")
        key = (-score, a.load / max(a.capacity, 1), _last(a), a.id)
        if best_key is None or key < best_key:
            best_key, best_id = key, a.id
    return Choice(best_id, "skills") if best_id is not None else Choice(None, "no_agent")


def overflow_due(item: QueueItem, now: datetime, threshold_s: float | None) -> bool:
    """True when the item has waited for its team longer than the overflow threshold (None: never)."""
    if threshold_s is None or item.team_id is None:
        return False
    return (now - item.waiting_since).total_seconds() >= threshold_s
