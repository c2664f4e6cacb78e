"""`kefu bench …` — benchmarks that print numbers next to a baseline (not timed tests)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer

bench_app = typer.Typer(help="Benchmarks (print numbers; not timed tests).", no_args_is_help=True)


@bench_app.command("ingest")
def ingest(
    clients: int = typer.Option(50, help="concurrent widget clients"),
    seconds: float = typer.Option(10.0, help="length of the closed-loop (max throughput) phase"),
    rate: float = typer.Option(500.0, help="offered messages/s in the latency phase"),
    rate_seconds: float = typer.Option(10.0, help="length of the latency phase"),
    sweep: str = typer.Option("", help="more offered rates for the latency phase, e.g. 250,750,1000"),
    workers: int = typer.Option(0, help="kefu serve processes (0 = 1 embedded, 2 with KEFU_REDIS_URL)"),
    port: int = typer.Option(8799),
    raw_concurrency: int = typer.Option(8, help="connections for the raw-insert baseline"),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Widget clients post over HTTP while an agent socket listens; compare with raw driver inserts."""
    from kefu.benchmarks import ingest as b
    from kefu.core.migrate import upgrade
    from kefu.settings import get_settings

    settings = get_settings()
    upgrade(settings.database_url)
    n_workers = workers or (2 if settings.redis_url else 1)
    procs = b.start_servers(settings, n_workers, port)
    base = f"http://127.0.0.1:{port}"

    async def run() -> dict[str, object]:
        await b.wait_up(base)
        s = await b._prepare(settings, base, clients)
        # The baseline first, on a quiet database (after the load its checkpoint would slow it down).
        b._log("raw insert baseline through the driver …")
        await b.warm_target(base, s)
        raw = await b.raw_insert_rate(settings, s.account_id, min(seconds, 10.0), raw_concurrency)
        raw_batched = await b.raw_insert_rate(settings, s.account_id, min(seconds, 5.0), raw_concurrency, batch=50)
        listener = b.Listener()
        task = asyncio.create_task(listener.run(f"{s.ws}/ws/agent", s.token))
        await asyncio.wait_for(listener.ready.wait(), 10)
        b._log(f"warm-up, then closed loop: {clients} clients for {seconds:.0f} s …")
        await b.closed_loop(s, 2.0, listener)
        closed = await b.closed_loop(s, seconds, listener)
        b._log(f"open loop: {rate:.0f} msg/s offered for {rate_seconds:.0f} s …")
        opened = await b.open_loop(s, rate, rate_seconds, listener)
        swept = []
        for extra in [float(x) for x in sweep.split(",") if x.strip()]:
            b._log(f"open loop: {extra:.0f} msg/s offered for {rate_seconds:.0f} s …")
            swept.append(await b.open_loop(s, extra, rate_seconds, listener))
        task.cancel()
        return {
            "database": settings.database_url.split(":", 1)[0],
            "redis": bool(settings.redis_url),
            "server_processes": n_workers,
            "clients": clients,
            "msgs_per_s": round(closed["msgs_per_s"], 1),
            "errors": closed["errors"] + opened["errors"] + sum(o["errors"] for o in swept),
            "first_error": closed["first_error"],
            "offered_per_s": rate,
            "achieved_per_s": round(opened["achieved_per_s"], 1),
            "delivered": opened["delivered"],
            "sent": opened["sent"],
            "p50_ms": round(opened["p50_ms"], 1),
            "p95_ms": round(opened["p95_ms"], 1),
            "p99_ms": round(opened["p99_ms"], 1),
            "raw_insert_per_s": round(raw, 1),
            "ratio": round(closed["msgs_per_s"] / raw, 3) if raw else None,
            "raw_batched_insert_per_s": round(raw_batched, 1),
            "ratio_to_batched": round(closed["msgs_per_s"] / raw_batched, 3) if raw_batched else None,
            "sweep": [
                {k: round(v, 1) if isinstance(v, float) else v for k, v in o.items() if k != "mean_ms"}
                for o in sorted([opened, *swept], key=lambda o: o["offered_per_s"])
            ],
        }

    try:
        result = asyncio.run(run())
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=15)
    _print(result, as_json)


@bench_app.command("routing")
def routing(
    database_url: str = typer.Option(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test", help="PostgreSQL (migrated to head; own rows)"
    ),
    agents: int = typer.Option(200),
    conversations: int = typer.Option(10_000),
    assigners: int = typer.Option(4, help="concurrent assigners, each with its own sessions"),
    batch: int = typer.Option(100, help="conversations locked per transaction (SKIP LOCKED)"),
    seed: int = typer.Option(11),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Concurrent assigners drain a queue over agents with skills and capacities; one assigner as baseline."""
    from kefu.benchmarks import routing as b
    from kefu.core.migrate import upgrade

    upgrade(database_url)
    r = asyncio.run(
        b.run(database_url, agents=agents, conversations=conversations, assigners=assigners, batch=batch, seed=seed)
    )
    out = sys.stdout
    print(f"routing on {r['database']}: {r['conversations']:,} conversations, {r['agents']} agents", file=out)
    for phase in r["phases"]:
        print(
            f"  {phase['assigners']} assigner(s): {phase['assignments_per_s']:>8} assignments/s  "
            f"p50 {phase['p50_decision_ms']} ms  p99 {phase['p99_decision_ms']} ms  "
            f"double assignments {phase['double_assignments'] + phase['claimed_twice']}  "
            f"capacity violations {phase['capacity_violations']}  left waiting {phase['left_waiting']}",
            file=out,
        )
    if as_json:
        print(json.dumps({k: v for k, v in r.items() if k != "phases"}), file=out)


@bench_app.command("sockets")
def sockets(
    sockets: int = typer.Option(10_000, help="widget sockets to hold (1,000 are measured first as the baseline)"),
    baseline: int = typer.Option(1_000, help="the baseline's sockets"),
    nodes: int = typer.Option(1, help="kefu serve processes sharing the sockets (2+ need KEFU_REDIS_URL)"),
    concurrency: int = typer.Option(100, help="clients connecting at once in the connect storm"),
    idle_s: float = typer.Option(60.0, help="how long every socket idles while CPU is measured"),
    samples: int = typer.Option(200, help="agent replies timed to their visitor's socket"),
    port: int = typer.Option(8811, help="the first node's port (the next ones count up)"),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Idle widget sockets: memory and CPU per socket, connect storm, delivery, mass disconnect."""
    from kefu.benchmarks import sockets as b
    from kefu.settings import get_settings

    settings = get_settings()
    if nodes > 1 and not settings.redis_url:
        raise typer.BadParameter("several nodes need KEFU_REDIS_URL (and PostgreSQL in KEFU_DATABASE_URL)")
    sizes = [baseline, sockets] if baseline and baseline != sockets else [sockets]
    results = b.run(settings, sizes, nodes=nodes, port=port, concurrency=concurrency, idle_s=idle_s, samples=samples)
    out = sys.stdout
    db = settings.database_url.split(":", 1)[0]
    print(f"kefu bench sockets — {db}{' + redis' if settings.redis_url else ''}, {nodes} node(s)", file=out)
    keys = [k for k in results[-1] if k != "sockets"]
    print(f"  {'':<18}" + "".join(f"{r['sockets']:>12,}" for r in results), file=out)
    for key in keys:
        print(f"  {key:<18}" + "".join(f"{r[key]:>12}" for r in results), file=out)
    if as_json:
        last = {k: v for k, v in results[-1].items()}
        last.update({"database": db, "redis": bool(settings.redis_url), "nodes": nodes})
        if len(results) > 1:
            last["baseline"] = results[0]
        print(json.dumps(last), file=out)


@bench_app.command("charts")
def charts(
    results: Path = typer.Option(Path("docs/results"), help="recorded results (bench/record.py)"),
    out: Path = typer.Option(Path("docs/charts"), help="where the SVG charts go"),
) -> None:
    """Draw docs/benchmarks.md's charts (SVG) from the recorded benchmark and eval results."""
    from kefu.benchmarks.charts import write_charts

    for path in write_charts(results, out):
        typer.echo(str(path))


def _print(r: dict[str, object], as_json: bool) -> None:
    out = sys.stdout
    print(
        f"kefu bench ingest — {r['database']} {'+ redis' if r['redis'] else '(embedded)'}, "
        f"{r['server_processes']} server process(es), {r['clients']} clients",
        file=out,
    )
    print(f"  sustained (closed loop):   {r['msgs_per_s']:>9} msg/s", file=out)
    print(
        f"  raw driver inserts:        {r['raw_insert_per_s']:>9} msg/s   (baseline: same rows, a transaction each)",
        file=out,
    )
    print(f"  ratio kefu / raw:          {r['ratio']:>9}", file=out)
    print(
        f"  raw, 50 per transaction:   {r['raw_batched_insert_per_s']:>9} msg/s   "
        f"(the driver's ceiling; kefu / that = {r['ratio_to_batched']})",
        file=out,
    )
    print(
        f"  at {r['offered_per_s']:.0f} msg/s offered ({r['achieved_per_s']} achieved, "
        f"{r['delivered']}/{r['sent']} delivered): POST → agent socket p50 {r['p50_ms']} ms, "
        f"p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms",
        file=out,
    )
    for o in r["sweep"]:  # type: ignore[attr-defined]
        if o["offered_per_s"] != r["offered_per_s"]:
            print(
                f"  at {o['offered_per_s']:.0f} msg/s offered ({o['achieved_per_s']} achieved, "
                f"{o['delivered']}/{o['sent']} delivered): p50 {o['p50_ms']} ms, p95 {o['p95_ms']} ms, "
                f"p99 {o['p99_ms']} ms",
                file=out,
            )
    print(f"  errors: {r['errors']}" + (f" (first: {r['first_error']})" if r["first_error"] else ""), file=out)
    if as_json:
        print(json.dumps(r), file=out)
