"""The queue simulation: exact outcomes on hand-made contacts, determinism by seed, agreement with Erlang C,
skills ahead of round robin, and `kefu simulate --json`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.routing import erlang
from kefu.routing.simulate import AgentSpec, Contact, ContactType, Scenario, ServiceTime, draw_contacts, simulate
from kefu.routing.simulate_checks import erlang_check, multi_skill, single_skill

FIXED = ServiceTime("fixed", 100)
P1 = ContactType("urgent", priority="p1", service=FIXED)
P3 = ContactType("routine", priority="p3", service=FIXED)
BILLING = ContactType("billing", priority="p1", skills=frozenset({"billing"}), service=FIXED)


def scenario(agents: list[AgentSpec], **kw: object) -> Scenario:
    base: dict[str, object] = {"rates_per_hour": [0], "interval_s": 3600, "types": [P1, P3], "agents": agents}
    base.update(kw)
    return Scenario(**base)  # type: ignore[arg-type]


def test_queue_order_comes_from_the_policies() -> None:
    # One agent; a P3 arrives first and is served at once; then a P3 and a P1 wait: the P1 goes first.
    contacts = [
        Contact(1, 0.0, P3, 100.0, float("inf")),
        Contact(2, 10.0, P3, 100.0, float("inf")),
        Contact(3, 20.0, P1, 100.0, float("inf")),
    ]
    r = simulate(scenario([AgentSpec(1)], sl_target_s=85), "skills", contacts=contacts)
    p1, p3 = r.by_priority["p1"], r.by_priority["p3"]
    assert (p1.answered, p1.wait_total_s, p1.within_target) == (1, 80.0, 1)  # answered at 100
    assert (p3.answered, p3.wait_total_s, p3.within_target) == (2, 190.0, 1)  # waits 0 and 190
    assert r.occupancy == 300 / 3600


def test_round_robin_transfers_and_skills_does_not() -> None:
    # Agent 1 was never assigned (round robin takes it first) but lacks the skill: it transfers after 60 s.
    contacts = [Contact(1, 0.0, BILLING, 100.0, float("inf"))]
    agents = [AgentSpec(1), AgentSpec(2, {"billing": 3})]
    sc = scenario(agents, types=[BILLING], transfer_after_s=60, sl_target_s=20)
    rr = simulate(sc, "round_robin", contacts=contacts).by_priority["p1"]
    assert (rr.transfers, rr.answered, rr.wait_total_s, rr.within_target) == (1, 1, 60.0, 0)
    skills = simulate(sc, "skills", contacts=contacts).by_priority["p1"]
    assert (skills.transfers, skills.answered, skills.wait_total_s, skills.within_target) == (0, 1, 0.0, 1)


def test_abandonment_and_shifts() -> None:
    # The only agent starts at 50 s: the first contact (patience 30 s) gives up, the second is answered.
    contacts = [Contact(1, 0.0, P3, 100.0, 30.0), Contact(2, 10.0, P3, 100.0, 1000.0)]
    sc = scenario([AgentSpec(1, shift=(50.0, 3600.0))])
    r = simulate(sc, "skills", contacts=contacts).by_priority["p3"]
    assert (r.offered, r.abandoned, r.answered, r.wait_total_s) == (2, 1, 1, 40.0)
    assert r.abandonment == 0.5


def test_service_time_distributions_have_their_mean() -> None:
    import random

    rng = random.Random(3)
    for kind in ("exponential", "lognormal", "fixed"):
        dist = ServiceTime(kind, 200, 0.8)  # type: ignore[arg-type]
        mean = sum(dist.draw(rng) for _ in range(40_000)) / 40_000
        assert abs(mean - 200) < 200 * 0.02, (kind, mean)


def test_same_seed_same_run_other_seed_other_run() -> None:
    a = simulate(multi_skill(3000, seed=5), "skills").as_dict()
    b = simulate(multi_skill(3000, seed=5), "skills").as_dict()
    c = simulate(multi_skill(3000, seed=6), "skills").as_dict()
    assert a == b
    assert a != c
    assert [x.arrival for x in draw_contacts(multi_skill(3000, 5))] == [
        x.arrival for x in draw_contacts(multi_skill(3000, 5))
    ]


def test_single_skill_agrees_with_erlang_c() -> None:
    sc = single_skill(150_000, seed=1)
    r = simulate(sc, "skills")
    theory = erlang.evaluate(8.0, 10, 180, 20)
    assert r.total.transfers == 0 and r.total.abandoned == 0
    assert abs(r.total.service_level - theory.service_level) <= 0.02
    assert abs(r.total.asa_s - theory.asa_s) / theory.asa_s <= 0.05
    assert abs(r.occupancy - 0.8) <= 0.01


def test_erlang_check_keys_and_verdicts() -> None:
    out = erlang_check(contacts=20_000, seed=1)  # small: the agreement itself is tested above at 150,000
    for key in (
        "erlang_sl_sim",
        "erlang_sl_theory",
        "erlang_sl_abs_diff",
        "erlang_asa_sim_s",
        "erlang_asa_theory_s",
        "skills_p1_sl",
        "roundrobin_p1_sl",
        "skills_vs_roundrobin_p1_sl_gain",
    ):
        assert isinstance(out[key], float), key
    assert out["erlang_sl_abs_diff"] <= 0.02
    assert out["skills_p1_sl"] > out["roundrobin_p1_sl"]
    assert out["skills_transfers"] == 0 and out["roundrobin_transfers"] > 0
    assert out["skills_vs_roundrobin_p1_sl_gain"] == round(out["skills_p1_sl"] - out["roundrobin_p1_sl"], 4)


def test_cli_json_is_the_last_line() -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--scenario", "single", "--contacts", "3000", "--strategy", "skills", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["scenario"] == "single"
    assert set(out["skills"]["by_priority"]) == {"p3"}
    assert "priority" in result.stdout


def test_cli_refuses_bad_options() -> None:
    result = CliRunner().invoke(app, ["simulate", "--scenario", "single", "--aht", "-5"])
    assert result.exit_code == 2
    assert "--aht" in result.output
    overloaded = CliRunner().invoke(app, ["simulate", "--scenario", "single", "--agents", "8", "--traffic", "8"])
    assert overloaded.exit_code == 2
    assert "the queue grows without bound" in " ".join(overloaded.output.replace("│", " ").split())


def test_overflow_opens_a_teams_contact_to_every_team() -> None:
    # The contact belongs to team 1, whose only agent is busy; team 2's agent may take it after 30 s.
    team1 = ContactType("team1", priority="p3", service=FIXED, team_id=1)
    contacts = [Contact(1, 0.0, team1, 100.0, float("inf")), Contact(2, 5.0, team1, 100.0, float("inf"))]
    agents = [AgentSpec(1, team_ids=frozenset({1})), AgentSpec(2, team_ids=frozenset({2}))]
    sc = scenario(agents, types=[team1], overflow_after_s=30)
    r = simulate(sc, "skills", contacts=contacts).by_priority["p3"]
    assert (r.answered, r.wait_total_s) == (2, 30.0)  # the second waits 30 s, then team 2 takes it
    closed = simulate(scenario(agents, types=[team1]), "skills", contacts=contacts).by_priority["p3"]
    assert (closed.answered, closed.wait_total_s) == (2, 95.0)  # no overflow: waits for team 1's agent
