"""The two checks `kefu simulate --erlang-check` prints (docs/staffing.md):

1. single skill, FCFS, exponential service, one contact per agent, nobody abandons — the M/M/N queue Erlang C
   describes: the simulated service level and ASA next to the formula's; they must agree within 2
   percentage points and 5 %;
2. a multi-skill scenario (billing P1, technical P2, orders P3, general P4; agents with some of those
   skills, two on a late shift, customers who give up) run with skills-based routing and with round robin on
   the same drawn contacts: skills-based must be ahead on P1 service level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kefu.core.constants import Priority
from kefu.routing import erlang
from kefu.routing.policies import Strategy
from kefu.routing.simulate import AgentSpec, ContactType, Scenario, ServiceTime, draw_contacts, simulate

SL_TOLERANCE_PP = 0.02
ASA_TOLERANCE = 0.05

Progress = Callable[[str, float], None]


def single_skill(contacts: int, seed: int, *, agents: int = 10, traffic: float = 8.0, aht_s: float = 180.0) -> Scenario:
    """About `contacts` arrivals over whole hours at `traffic` Erlangs; the first hour is warm-up."""
    rate = traffic * 3600 / aht_s
    hours = max(2, round(contacts / rate) + 1)
    return Scenario(
        rates_per_hour=[rate] * hours,
        interval_s=3600,
        types=[ContactType("any", service=ServiceTime("exponential", aht_s))],
        agents=[AgentSpec(i) for i in range(1, agents + 1)],
        sl_target_s=20,
        warmup_s=3600,
        seed=seed,
    )


def multi_skill(contacts: int, seed: int) -> Scenario:
    billing = frozenset({"billing"})
    tech = frozenset({"tech"})
    orders = frozenset({"orders"})
    types = [
        ContactType("payment", 0.15, Priority.P1, billing, ServiceTime("lognormal", 240, 0.8)),
        ContactType("technical", 0.25, Priority.P2, tech, ServiceTime("lognormal", 300, 0.8)),
        ContactType("order", 0.40, Priority.P3, orders, ServiceTime("exponential", 180)),
        ContactType("general", 0.20, Priority.P4, frozenset(), ServiceTime("fixed", 120)),
    ]
    rate = 160.0
    hours = max(2, round(contacts / rate) + 1)
    horizon = hours * 3600.0
    late = (horizon / 2, horizon)
    agents = [
        *(AgentSpec(i, {"billing": 4, "orders": 2}) for i in (1, 2, 3)),
        *(AgentSpec(i, {"tech": 4, "orders": 2}) for i in (4, 5, 6, 7)),
        *(AgentSpec(i, {"orders": 3}) for i in (8, 9, 10, 11)),
        AgentSpec(12, {"billing": 2, "tech": 2, "orders": 2}, shift=late),
        AgentSpec(13, {"orders": 3}, shift=late),
    ]
    return Scenario(
        rates_per_hour=[rate] * hours,
        interval_s=3600,
        types=types,
        agents=agents,
        sl_target_s=20,
        patience_mean_s=600,
        transfer_after_s=60,
        warmup_s=3600,
        seed=seed,
    )


def erlang_check(contacts: int = 300_000, seed: int = 1, progress: Progress | None = None) -> dict[str, Any]:
    """Both checks; the keys are read by other tools (exact names)."""
    single = single_skill(contacts, seed)
    sim = simulate(single, Strategy.SKILLS, progress=_stage(progress, "erlang"))
    agents = len(single.agents)
    aht = single.types[0].service.mean_s
    traffic = single.rates_per_hour[0] * aht / 3600
    theory = erlang.evaluate(traffic, agents, aht, single.sl_target_s)
    multi = multi_skill(max(20_000, contacts // 5), seed)
    drawn = draw_contacts(multi)
    skills = simulate(multi, Strategy.SKILLS, contacts=drawn, progress=_stage(progress, "skills"))
    rr = simulate(multi, Strategy.ROUND_ROBIN, contacts=drawn, progress=_stage(progress, "round_robin"))
    p1 = str(Priority.P1)
    sl_diff = abs(sim.total.service_level - theory.service_level)
    asa_diff = abs(sim.total.asa_s - theory.asa_s) / theory.asa_s
    out: dict[str, Any] = {
        "seed": seed,
        "erlang_contacts": sim.total.answered,
        "erlang_agents": agents,
        "erlang_traffic": traffic,
        "erlang_aht_s": aht,
        "erlang_target_s": single.sl_target_s,
        "erlang_sl_sim": round(sim.total.service_level, 4),
        "erlang_sl_theory": round(theory.service_level, 4),
        "erlang_sl_abs_diff": round(sl_diff, 4),
        "erlang_asa_sim_s": round(sim.total.asa_s, 2),
        "erlang_asa_theory_s": round(theory.asa_s, 2),
        "erlang_asa_rel_diff": round(asa_diff, 4),
        "erlang_occupancy_sim": round(sim.occupancy, 4),
        "erlang_occupancy_theory": round(theory.occupancy, 4),
        "erlang_ok": sl_diff <= SL_TOLERANCE_PP and asa_diff <= ASA_TOLERANCE,
        "multi_contacts": len(drawn),
        "skills_p1_sl": round(skills.by_priority[p1].service_level, 4),
        "roundrobin_p1_sl": round(rr.by_priority[p1].service_level, 4),
        "skills_vs_roundrobin_p1_sl_gain": round(
            skills.by_priority[p1].service_level - rr.by_priority[p1].service_level, 4
        ),
        "skills_transfers": skills.total.transfers,
        "roundrobin_transfers": rr.total.transfers,
        "skills": skills.as_dict(),
        "round_robin": rr.as_dict(),
    }
    out["skills_ahead_on_p1"] = out["skills_vs_roundrobin_p1_sl_gain"] > 0
    return out


def _stage(progress: Progress | None, name: str) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda fraction: progress(name, fraction)
