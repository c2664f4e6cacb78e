"""The staffing chart as plain SVG (no JS, no chart library): agents needed per hour of the week as bars,
the forecast contacts as a line on the same scale ratio, a label per day. Every number drawn is one the
table beside it prints."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from kefu.routing.staffing import Plan

WIDTH, HEIGHT = 840, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 20, 40


def svg(plan: Plan, day_labels: Sequence[str], title: str, agents_label: str, contacts_label: str) -> str:
    n = max(len(plan.intervals), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max(plan.peak_agents, 1)
    top_contacts = max((i.contacts for i in plan.intervals), default=0.0) or 1.0
    bar_w = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="staffing-chart" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#9aa5b1"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i in plan.intervals:
        h = plot_h * i.agents / peak
        x = LEFT + i.index * bar_w
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(bar_w - 0.5, 0.5):.1f}" '
            f'height="{h:.1f}" fill="#2f6fde"><title>{i.agents}</title></rect>'
        )
    points = " ".join(
        f"{LEFT + (i.index + 0.5) * bar_w:.1f},{TOP + plot_h - plot_h * i.contacts / top_contacts:.1f}"
        for i in plan.intervals
    )
    if points:
        parts.append(f'<polyline points="{points}" fill="none" stroke="#f0a030" stroke-width="1.5"/>')
    if n % 24 == 0:
        for day in range(n // 24):
            x = LEFT + day * 24 * bar_w
            label = day_labels[day % len(day_labels)] if day_labels else str(day + 1)
            parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#e3e7ec"/>')
            parts.append(
                f'<text x="{x + 12 * bar_w:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                f'font-size="12">{escape(label)}</text>'
            )
    legend_y = HEIGHT - 6
    parts += [
        f'<rect x="{LEFT}" y="{legend_y - 9}" width="10" height="10" fill="#2f6fde"/>',
        f'<text x="{LEFT + 14}" y="{legend_y}" font-size="12">{escape(agents_label)}</text>',
        f'<line x1="{LEFT + 200}" y1="{legend_y - 4}" x2="{LEFT + 214}" y2="{legend_y - 4}" stroke="#f0a030" '
        f'stroke-width="2"/>',
        f'<text x="{LEFT + 218}" y="{legend_y}" font-size="12">{escape(contacts_label)}</text>',
        "</svg>",
    ]
    return "\n".join(parts)
