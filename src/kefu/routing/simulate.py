"""A discrete-event simulation of the contact queue that drives the REAL routing decisions (docs/staffing.md).

Every dispatch builds `QueueItem`s for the waiting contacts and `AgentState`s for the agents, exactly the
types the server's assigner builds from rows, and calls kefu.routing.policies — `order_queue` (priority,
SLA deadline, wait), `overflow_due` (a team's contact opens to every team), `has_room` and `pick_agent`
(skills or round robin). Nothing of the routing is re-implemented here: change a policy and the numbers
move.

The model: Poisson arrivals at a rate per interval (exponential gaps, so piecewise-constant rates are exact),
a mix of contact types (weight, priority, required skills, service-time distribution: exponential,
lognormal or fixed), agents with skills, capacity and a shift, abandonment after a patience drawn per
contact (exponential; none by default), and transfers: an agent picked without a needed skill (round robin
does that) transfers the contact after `transfer_after_s` of handling — the time is spent, the customer
waits on, and the transfer goes back to the queue for the needed skill (routed by skills from then on).
Everything random is drawn up front from one seeded `random.Random`, so two strategies can be run on the
very same contacts (common random numbers) and a seed reproduces a run exactly.

Measured per priority: service level (answered by an agent who can solve it within `sl_target_s` of the
arrival, over answered + abandoned), ASA (mean wait of the answered, transfers included), abandonment,
transfers; and the agents' occupancy (handling seconds over staffed capacity seconds).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from kefu.core.constants import Priority
from kefu.routing.policies import (
    AgentState,
    Presence,
    QueueItem,
    Strategy,
    eligible,
    has_room,
    order_queue,
    overflow_due,
    pick_agent,
)

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; the simulation clock counts seconds from here
CHANNEL = "web_widget"
Kind = Literal["exponential", "lognormal", "fixed"]


@dataclass(frozen=True)
class ServiceTime:
    kind: Kind = "exponential"
    mean_s: float = 180.0
    cv: float = 1.0  # lognormal: standard deviation / mean

    def draw(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.mean_s
        if self.kind == "lognormal":
            sigma2 = math.log(1 + self.cv**2)
            return rng.lognormvariate(math.log(self.mean_s) - sigma2 / 2, math.sqrt(sigma2))
        return rng.expovariate(1 / self.mean_s)


@dataclass(frozen=True)
class ContactType:
    name: str
    weight: float = 1.0
    priority: str = Priority.P3
    skills: frozenset[str] = frozenset()
    service: ServiceTime = field(default_factory=ServiceTime)
    team_id: int | None = None


@dataclass(frozen=True)
class AgentSpec:
    id: int
    skills: dict[str, int] = field(default_factory=dict)
    capacity: int = 1
    team_ids: frozenset[int] = frozenset()
    shift: tuple[float, float] | None = None  # (start_s, end_s); None: the whole run


@dataclass(frozen=True)
class Scenario:
    rates_per_hour: Sequence[float]  # arrivals per hour, one value per interval
    interval_s: float
    types: Sequence[ContactType]
    agents: Sequence[AgentSpec]
    sl_target_s: float = 20.0
    patience_mean_s: float | None = None  # exponential patience; None: nobody abandons
    transfer_after_s: float = 60.0
    overflow_after_s: float | None = None
    warmup_s: float = 0.0  # contacts arriving earlier are served but not counted
    seed: int = 1


@dataclass(frozen=True)
class Contact:
    id: int
    arrival: float
    type: ContactType
    service_s: float
    patience_s: float


@dataclass
class PriorityStats:
    offered: int = 0
    answered: int = 0
    within_target: int = 0
    abandoned: int = 0
    transfers: int = 0
    wait_total_s: float = 0.0

    @property
    def service_level(self) -> float:
        done = self.answered + self.abandoned
        return self.within_target / done if done else 1.0

    @property
    def asa_s(self) -> float:
        return self.wait_total_s / self.answered if self.answered else 0.0

    @property
    def abandonment(self) -> float:
        done = self.answered + self.abandoned
        return self.abandoned / done if done else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "transfers": self.transfers,
            "service_level": round(self.service_level, 4),
            "asa_s": round(self.asa_s, 2),
            "abandonment": round(self.abandonment, 4),
        }


@dataclass
class Result:
    strategy: str
    by_priority: dict[str, PriorityStats]
    total: PriorityStats
    occupancy: float
    contacts: int

    def as_dict(self) -> dict[str, object]:
        return {
            "strategy": self.strategy,
            "contacts": self.contacts,
            "occupancy": round(self.occupancy, 4),
            "total": self.total.as_dict(),
            "by_priority": {p: s.as_dict() for p, s in sorted(self.by_priority.items())},
        }


def draw_contacts(scenario: Scenario) -> list[Contact]:
    """The arrivals of a scenario, drawn once from its seed."""
    rng = random.Random(scenario.seed)
    weights = [t.weight for t in scenario.types]
    out: list[Contact] = []
    for index, rate in enumerate(scenario.rates_per_hour):
        start, end = index * scenario.interval_s, (index + 1) * scenario.interval_s
        if rate <= 0:
            continue
        t = start + rng.expovariate(rate / 3600)
        while t < end:
            kind = rng.choices(scenario.types, weights)[0]
            patience = rng.expovariate(1 / scenario.patience_mean_s) if scenario.patience_mean_s else math.inf
            out.append(Contact(len(out) + 1, t, kind, kind.service.draw(rng), patience))
            t += rng.expovariate(rate / 3600)
    return out


@dataclass
class _Agent:
    spec: AgentSpec
    load: int = 0
    last_assigned: float | None = None
    busy_area: float = 0.0  # ∫ load dt
    since: float = 0.0
    cached: tuple[tuple[int, float | None, bool], AgentState] | None = None

    def online(self, now: float) -> bool:
        shift = self.spec.shift
        return shift is None or shift[0] <= now < shift[1]

    def state(self, now: float) -> AgentState:
        """The agent as the policies see it (rebuilt only when the load, last assignment or shift moved)."""
        key = (self.load, self.last_assigned, self.online(now))
        if self.cached is None or self.cached[0] != key:
            self.cached = (key, self._state(now))
        return self.cached[1]

    def _state(self, now: float) -> AgentState:
        last = EPOCH + timedelta(seconds=self.last_assigned) if self.last_assigned is not None else None
        return AgentState(
            id=self.spec.id,
            presence=Presence.ONLINE if self.online(now) else Presence.AWAY,
            capacity=self.spec.capacity,
            load=self.load,
            skills=self.spec.skills,
            team_ids=self.spec.team_ids,
            last_assigned_at=last,
        )

    def move(self, now: float, delta: int) -> None:
        self.busy_area += self.load * (now - self.since)
        self.since = now
        self.load += delta


@dataclass
class _Waiting:
    contact: Contact
    since: float  # in the queue since (the arrival, or the hand-back after a transfer)
    queued_before_s: float = 0.0  # queue time before the last hand-back (patience counts queue time)
    transferred: bool = False


class _Run:
    def __init__(self, scenario: Scenario, contacts: list[Contact], strategy: str) -> None:
        self.s = scenario
        self.strategy = strategy
        self.agents = {a.id: _Agent(a) for a in scenario.agents}
        self.waiting: dict[int, _Waiting] = {}
        self.handing: dict[int, tuple[int, int, float]] = {}  # key → (agent, contact, queue time so far)
        self.events: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.stats: dict[str, PriorityStats] = {}
        for c in contacts:
            self.push(c.arrival, "arrive", c.id)
        self.contacts = {c.id: c for c in contacts}
        for a in scenario.agents:
            if a.shift is not None:
                self.push(a.shift[0], "shift", a.id)

    def push(self, at: float, kind: str, ident: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, ident))

    def counted(self, c: Contact) -> PriorityStats | None:
        if c.arrival < self.s.warmup_s:
            return None
        return self.stats.setdefault(c.type.priority, PriorityStats())

    def item(self, w: _Waiting, now: float) -> QueueItem:
        c = w.contact
        team = c.type.team_id
        item = QueueItem(
            conversation_id=c.id,
            priority=c.type.priority,
            waiting_since=EPOCH + timedelta(seconds=w.since),
            team_id=team,
            channel=CHANNEL,
            required_skills=c.type.skills,
        )
        if overflow_due(item, EPOCH + timedelta(seconds=now), self.s.overflow_after_s):
            return QueueItem(**{**item.__dict__, "team_id": None})
        return item

    def dispatch(self, now: float) -> None:
        if not self.waiting:
            return
        states = {a.spec.id: a.state(now) for a in self.agents.values()}
        if not any(s.presence == Presence.ONLINE and has_room(s, CHANNEL) for s in states.values()):
            return
        for item in order_queue(self.item(w, now) for w in self.waiting.values()):
            # a transfer goes to the skill the contact needs: once handed back, it is routed by skills
            transferred = self.waiting[item.conversation_id].transferred
            choice = pick_agent(item, states.values(), Strategy.SKILLS if transferred else self.strategy)
            if choice.agent_id is None:
                continue
            agent_state = states[choice.agent_id]
            self.assign(now, self.waiting.pop(item.conversation_id), self.agents[choice.agent_id], agent_state, item)
            states[choice.agent_id] = self.agents[choice.agent_id].state(now)
            if not any(s.presence == Presence.ONLINE and has_room(s, CHANNEL) for s in states.values()):
                return

    def assign(self, now: float, w: _Waiting, agent: _Agent, state: AgentState, item: QueueItem) -> None:
        agent.move(now, +1)
        agent.last_assigned = now
        c = w.contact
        if eligible(state, QueueItem(**{**item.__dict__, "team_id": None})):
            stats = self.counted(c)
            if stats is not None:
                wait = now - c.arrival
                stats.answered += 1
                stats.wait_total_s += wait
                stats.within_target += wait <= self.s.sl_target_s
            self.push(now + c.service_s, "done", agent.spec.id)
        else:  # the agent cannot solve it: hands it back after some handling time
            stats = self.counted(c)
            if stats is not None:
                stats.transfers += 1
            self.seq += 1
            self.handing[self.seq] = (agent.spec.id, c.id, w.queued_before_s + now - w.since)
            self.push(now + self.s.transfer_after_s, "transfer", self.seq)

    def run(self, progress: Callable[[float], None] | None = None) -> Result:
        total = len(self.contacts) or 1
        arrived = 0
        while self.events:
            now, _, kind, ident = heapq.heappop(self.events)
            if kind == "arrive":
                arrived += 1
                c = self.contacts[ident]
                stats = self.counted(c)
                if stats is not None:
                    stats.offered += 1
                self.waiting[c.id] = _Waiting(c, now)
                self._deadlines(c, now, 0.0)
                if progress is not None and arrived % 2000 == 0:
                    progress(arrived / total)
            elif kind == "done":
                self.agents[ident].move(now, -1)
            elif kind == "transfer":
                self._hand_back(now, ident)
            elif kind == "abandon":
                self._abandon(now, ident)
            self.dispatch(now)
        if progress is not None:
            progress(1.0)
        return self._result()

    def _deadlines(self, c: Contact, now: float, queued_before: float) -> None:
        if math.isfinite(c.patience_s):
            self.push(now + c.patience_s - queued_before, "abandon", c.id)
        if self.s.overflow_after_s is not None and c.type.team_id is not None:
            self.push(now + self.s.overflow_after_s, "overflow", c.id)

    def _hand_back(self, now: float, key: int) -> None:
        agent_id, contact_id, queued_before = self.handing.pop(key)
        self.agents[agent_id].move(now, -1)
        c = self.contacts[contact_id]
        self.waiting[c.id] = _Waiting(c, now, queued_before, transferred=True)
        self._deadlines(c, now, queued_before)

    def _abandon(self, now: float, contact_id: int) -> None:
        w = self.waiting.get(contact_id)
        if w is None or now - w.since + w.queued_before_s < w.contact.patience_s - 1e-9:
            return  # answered, with an agent, or a stale deadline from before a hand-back
        del self.waiting[contact_id]
        stats = self.counted(w.contact)
        if stats is not None:
            stats.abandoned += 1

    def _result(self) -> Result:
        end = max((a.since for a in self.agents.values()), default=0.0)
        staffed = 0.0
        busy = 0.0
        horizon = len(self.s.rates_per_hour) * self.s.interval_s
        for a in self.agents.values():
            a.move(end, 0)
            start, stop = a.spec.shift if a.spec.shift is not None else (0.0, max(horizon, end))
            staffed += max(0.0, stop - start) * a.spec.capacity
            busy += a.busy_area
        total = PriorityStats()
        for s in self.stats.values():
            for name in ("offered", "answered", "within_target", "abandoned", "transfers", "wait_total_s"):
                setattr(total, name, getattr(total, name) + getattr(s, name))
        occupancy = busy / staffed if staffed else 0.0
        return Result(self.strategy, self.stats, total, occupancy, len(self.contacts))


def simulate(
    scenario: Scenario,
    strategy: str = Strategy.SKILLS,
    *,
    contacts: list[Contact] | None = None,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Run the scenario with one routing strategy (on `contacts` when given: the same arrivals)."""
    drawn = contacts if contacts is not None else draw_contacts(scenario)
    return _Run(scenario, drawn, strategy).run(progress)
