"""kefu.routing.policies on exact inputs: queue order and the choice of agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kefu.routing.policies import (
    AgentState,
    Choice,
    Presence,
    QueueItem,
    Strategy,
    has_room,
    order_queue,
    overflow_due,
    pick_agent,
)

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def item(cid: int = 1, **kw: object) -> QueueItem:
    base: dict[str, object] = {"conversation_id": cid, "priority": "p3", "waiting_since": T0}
    base.update(kw)
    return QueueItem(**base)  # type: ignore[arg-type]


def test_queue_order_is_priority_then_deadline_then_wait_then_id() -> None:
    items = [
        item(1, priority="p3", waiting_since=T0),
        item(2, priority="p1", waiting_since=T0 + timedelta(minutes=5)),
        item(3, priority="p3", sla_due_at=T0 + timedelta(hours=1), waiting_since=T0 + timedelta(minutes=9)),
        item(4, priority="p3", sla_due_at=T0 + timedelta(minutes=30), waiting_since=T0 + timedelta(minutes=9)),
        item(5, priority="p3", waiting_since=T0 - timedelta(minutes=1)),
        item(6, priority="p1", waiting_since=T0 + timedelta(minutes=5)),
    ]
    assert [i.conversation_id for i in order_queue(items)] == [2, 6, 4, 3, 5, 1]


def test_capacity_overall_and_per_channel() -> None:
    agent = AgentState(1, capacity=2, load=1, channel_capacity={"email": 1}, channel_load={"email": 1})
    assert has_room(agent, "web_widget") is True
    assert has_room(agent, "email") is False
    assert has_room(AgentState(2, capacity=2, load=2), "web_widget") is False


def test_skills_pick_the_highest_score_among_eligible() -> None:
    it = item(required_skills=frozenset({"billing", "en"}))
    agents = [
        AgentState(1, skills={"billing": 5}),  # lacks "en": not eligible
        AgentState(2, skills={"billing": 2, "en": 2}),
        AgentState(3, skills={"billing": 3, "en": 4}),
        AgentState(4, skills={"billing": 5, "en": 5}, presence=Presence.AWAY),
        AgentState(5, skills={"billing": 5, "en": 5}, load=5, capacity=5),
    ]
    assert pick_agent(it, agents) == Choice(3, "skills")


def test_ties_go_to_the_lower_load_then_the_longest_idle() -> None:
    it = item()
    agents = [
        AgentState(1, load=2, capacity=4),
        AgentState(2, load=1, capacity=4, last_assigned_at=T0),
        AgentState(3, load=1, capacity=4, last_assigned_at=T0 - timedelta(minutes=3)),
    ]
    assert pick_agent(it, agents) == Choice(3, "skills")


def test_sticky_previous_agent_only_when_eligible() -> None:
    it = item(previous_agent_id=2, team_id=7)
    agents = [AgentState(1, team_ids=frozenset({7})), AgentState(2, load=3, team_ids=frozenset({7}))]
    assert pick_agent(it, agents) == Choice(2, "sticky")
    busy = [AgentState(1, team_ids=frozenset({7})), AgentState(2, presence=Presence.BUSY, team_ids=frozenset({7}))]
    assert pick_agent(it, busy) == Choice(1, "skills")
    other_team = [AgentState(2, team_ids=frozenset({8}))]
    assert pick_agent(it, other_team) == Choice(None, "no_agent")


def test_round_robin_ignores_skills_and_stickiness() -> None:
    it = item(required_skills=frozenset({"billing"}), previous_agent_id=1)
    agents = [
        AgentState(1, skills={"billing": 5}, last_assigned_at=T0),
        AgentState(2, last_assigned_at=T0 - timedelta(minutes=1)),
    ]
    assert pick_agent(it, agents, Strategy.ROUND_ROBIN) == Choice(2, "round_robin")
    assert pick_agent(it, agents) == Choice(1, "sticky")


def test_overflow_after_the_threshold_for_team_items_only() -> None:
    it = item(team_id=3, waiting_since=T0)
    assert overflow_due(it, T0 + timedelta(seconds=299), 300) is False
    assert overflow_due(it, T0 + timedelta(seconds=300), 300) is True
    assert overflow_due(it, T0 + timedelta(hours=9), None) is False
    assert overflow_due(item(waiting_since=T0), T0 + timedelta(hours=9), 300) is False


def test_pick_agent_agrees_with_eligible_and_skill_score_on_random_pools() -> None:
    """pick_agent checks eligibility and scores in one pass; it must choose exactly what the documented rule
    order built from `eligible` and `skill_score` chooses."""
    import random

    from kefu.routing.policies import _last, eligible, skill_score

    rnd = random.Random(7)
    skills = ["a", "b", "c", "d"]

    def reference(it: QueueItem, pool: list[AgentState]) -> Choice:
        ready = [a for a in pool if eligible(a, it)]
        if not ready:
            return Choice(None, "no_agent")
        if it.previous_agent_id is not None and any(a.id == it.previous_agent_id for a in ready):
            return Choice(it.previous_agent_id, "sticky")
        best = min(ready, key=lambda a: (-skill_score(a, it), a.load / max(a.capacity, 1), _last(a), a.id))
        return Choice(best.id, "skills")

    for _ in range(500):
        pool = [
            AgentState(
                k,
                presence=rnd.choice([Presence.ONLINE, Presence.ONLINE, Presence.BUSY, Presence.AWAY]),
                capacity=rnd.randint(0, 4),
                load=rnd.randint(0, 4),
                skills={s: rnd.randint(1, 5) for s in rnd.sample(skills, rnd.randint(0, 3))},
                team_ids=frozenset(rnd.sample([1, 2], rnd.randint(0, 2))),
                channel_capacity={"email": 1} if rnd.random() < 0.3 else {},
                channel_load={"email": rnd.randint(0, 1)},
                last_assigned_at=T0 - timedelta(minutes=rnd.randint(0, 3)) if rnd.random() < 0.8 else None,
            )
            for k in range(1, rnd.randint(1, 8))
        ]
        it = item(
            required_skills=frozenset(rnd.sample(skills, rnd.randint(0, 2))),
            team_id=rnd.choice([None, 1, 2]),
            channel=rnd.choice(["web_widget", "email"]),
            previous_agent_id=rnd.choice([None, 1, 2, 3]),
        )
        assert pick_agent(it, pool) == reference(it, pool)
