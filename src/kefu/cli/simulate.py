"""`kefu simulate` and `kefu staffing` (docs/staffing.md)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import typer

SCENARIOS = ("multi", "single")


class Bar:
    """A one-line progress bar on stderr (nothing when stderr is not a terminal, except the final line)."""

    def __init__(self) -> None:
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1 and now - self.last < 0.2:
            return
        self.last = now
        filled = int(fraction * 30)
        line = f"{stage:<12} [{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%"
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if fraction >= 1 else ""))
        elif fraction >= 1:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _table(result: dict[str, Any]) -> list[str]:
    lines = [f"{'priority':<9}{'offered':>9}{'SL':>8}{'ASA s':>9}{'abandon':>9}{'transfers':>10}"]
    rows = {**result["by_priority"], "all": result["total"]}
    for name, r in rows.items():
        lines.append(
            f"{name:<9}{r['offered']:>9}{r['service_level'] * 100:>7.1f}%{r['asa_s']:>9.1f}"
            f"{r['abandonment'] * 100:>8.1f}%{r['transfers']:>10}"
        )
    lines.append(f"occupancy {result['occupancy'] * 100:.1f}%")
    return lines


def simulate_command(
    erlang_check: bool = typer.Option(False, "--erlang-check", help="run the two checks against Erlang C"),
    scenario: str = typer.Option("multi", help="multi (skills, priorities, shifts, abandonment) or single"),
    strategy: str = typer.Option("both", help="skills, round_robin or both (same arrivals)"),
    contacts: int = typer.Option(0, help="about this many arrivals (0: 300000 for --erlang-check, else 20000)"),
    seed: int = typer.Option(1, help="random seed: the same seed gives the same run"),
    agents: int = typer.Option(10, help="single scenario: agents"),
    traffic: float = typer.Option(8.0, help="single scenario: offered load in Erlangs"),
    aht: float = typer.Option(180.0, help="single scenario: mean handle time, seconds"),
    service: str = typer.Option("exponential", help="single scenario: exponential, lognormal or fixed"),
    cv: float = typer.Option(1.0, help="lognormal service: standard deviation / mean"),
    patience: float = typer.Option(0.0, help="mean patience in seconds before abandoning (0: never)"),
    target: float = typer.Option(20.0, help="service-level target, seconds"),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Discrete-event simulation of the queue, driving kefu.routing.policies (the server's decisions)."""
    from kefu.routing import simulate_checks as checks
    from kefu.routing.simulate import ServiceTime, draw_contacts, simulate

    bar = Bar()
    if erlang_check:
        out = checks.erlang_check(contacts or 300_000, seed, bar)
        _print_checks(out)
    else:
        if scenario not in SCENARIOS or strategy not in ("skills", "round_robin", "both"):
            raise typer.BadParameter("--scenario is multi or single; --strategy skills, round_robin or both")
        if aht <= 0 or traffic <= 0 or agents <= 0 or patience < 0 or target < 0:
            raise typer.BadParameter("--aht, --traffic and --agents must be > 0; --patience, --target ≥ 0")
        n = contacts or 20_000
        if scenario == "single" and traffic >= agents and not patience:
            raise typer.BadParameter(
                f"--traffic {traffic:g} Erlangs on {agents} agents with nobody abandoning: the queue grows without"
                " bound; add agents or give --patience"
            )
        if scenario == "single":
            sc = checks.single_skill(n, seed, agents=agents, traffic=traffic, aht_s=aht)
            kind = service if service in ("exponential", "lognormal", "fixed") else "exponential"
            types = [replace(sc.types[0], service=ServiceTime(kind, aht, cv))]  # type: ignore[arg-type]
            sc = replace(sc, types=types)
        else:
            sc = checks.multi_skill(n, seed)
        sc = replace(sc, sl_target_s=target, patience_mean_s=patience or sc.patience_mean_s)
        drawn = draw_contacts(sc)
        strategies = ("skills", "round_robin") if strategy == "both" else (strategy,)
        out = {"seed": seed, "scenario": scenario, "contacts": len(drawn)}
        for name in strategies:
            result = simulate(sc, name, contacts=drawn, progress=_progress(bar, name)).as_dict()
            out[name] = result
            typer.echo(f"\n{name} — {len(drawn)} contacts, service level within {target:g} s")
            for line in _table(result):
                typer.echo(line)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, default=str))


def _progress(bar: Bar, stage: str) -> Callable[[float], None]:
    return lambda fraction: bar(stage, fraction)


def _print_checks(out: dict[str, Any]) -> None:
    typer.echo(
        f"check 1 — single skill, FCFS, exponential: {out['erlang_agents']} agents, "
        f"{out['erlang_traffic']:g} Erlangs, AHT {out['erlang_aht_s']:g} s, {out['erlang_contacts']} contacts"
    )
    typer.echo(
        f"  service level within {out['erlang_target_s']:g} s: simulated {out['erlang_sl_sim'] * 100:.2f}%  "
        f"Erlang C {out['erlang_sl_theory'] * 100:.2f}%  |diff| {out['erlang_sl_abs_diff'] * 100:.2f} pp (≤ 2)"
    )
    typer.echo(
        f"  ASA: simulated {out['erlang_asa_sim_s']:.2f} s  Erlang C {out['erlang_asa_theory_s']:.2f} s  "
        f"diff {out['erlang_asa_rel_diff'] * 100:.2f}% (≤ 5)  → {'OK' if out['erlang_ok'] else 'DISAGREE'}"
    )
    typer.echo(f"check 2 — multi-skill, same {out['multi_contacts']} arrivals: skills vs round robin")
    typer.echo(
        f"  P1 service level: skills {out['skills_p1_sl'] * 100:.1f}%  round robin "
        f"{out['roundrobin_p1_sl'] * 100:.1f}%  gain {out['skills_vs_roundrobin_p1_sl_gain'] * 100:+.1f} pp  "
        f"transfers {out['skills_transfers']} vs {out['roundrobin_transfers']}"
        f"  → {'OK' if out['skills_ahead_on_p1'] else 'NOT AHEAD'}"
    )
    for name in ("skills", "round_robin"):
        typer.echo(f"  {name}:")
        for line in _table(out[name]):
            typer.echo("    " + line)


def staffing_command(
    rates: str = typer.Option("", help="forecast contacts per interval, comma-separated (e.g. 40,120,95)"),
    account_id: int = typer.Option(0, help="forecast from this account's history instead (KEFU_DATABASE_URL)"),
    weeks: int = typer.Option(4, help="weeks of history for the seasonal average"),
    interval_min: float = typer.Option(60.0, help="interval length in minutes (with --rates)"),
    aht: float = typer.Option(300.0, help="average handle time, seconds"),
    target_sl: float = typer.Option(0.8, help="service level target, 0..1"),
    target_s: float = typer.Option(20.0, help="answered within this many seconds"),
    max_occupancy: float = typer.Option(1.0, help="cap on agent occupancy, 0..1"),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Erlang C staffing: agents needed per interval for a target service level."""
    from kefu.routing.staffing import Targets, plan

    targets = Targets(target_sl, target_s, aht, max_occupancy)
    try:
        if rates:
            forecast = [float(x) for x in rates.split(",") if x.strip()]
            interval_s = interval_min * 60
        elif account_id:
            forecast = _history(account_id, weeks)
            interval_s = 3600.0
        else:
            raise typer.BadParameter("give --rates or --account-id")
        result = plan(forecast, targets, interval_s)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"target {target_sl * 100:g}% within {target_s:g} s, AHT {aht:g} s, interval {interval_s / 60:g} min")
    typer.echo(f"{'interval':>8}{'contacts':>10}{'Erlangs':>9}{'agents':>8}{'SL':>8}{'ASA s':>8}{'occ.':>7}")
    for i in result.intervals:
        if i.contacts == 0 and not rates:
            continue
        label = f"{'MTWTFSS'[i.index // 24]}{i.index % 24:02d}h" if not rates else str(i.index)
        typer.echo(
            f"{label:>8}{i.contacts:>10.1f}{i.traffic:>9.2f}{i.agents:>8}{i.service_level * 100:>7.1f}%"
            f"{i.asa_s:>8.1f}{i.occupancy * 100:>6.1f}%"
        )
    typer.echo(f"peak {result.peak_agents} agents, {result.agent_hours:g} agent-hours")
    if as_json:
        typer.echo(json.dumps(result.as_dict()))


def _history(account_id: int, weeks: int) -> list[float]:
    import asyncio

    from kefu.core.db import make_engine, make_sessionmaker
    from kefu.routing.staffing import forecast_from_history
    from kefu.settings import get_settings

    async def run() -> list[float]:
        engine = make_engine(get_settings().database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await forecast_from_history(session, account_id, weeks)
        finally:
            await engine.dispose()

    return asyncio.run(run())
