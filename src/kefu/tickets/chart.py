"""The repeat-contact rate as bars for a small server-side SVG (templates/tickets/_chart.html) — pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kefu.tickets.schemas import DayRate

WIDTH, HEIGHT, GAP = 28, 80, 6


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    day: str  # MM-DD
    rate: float | None
    conversations: int
    repeat_contacts: int


def rate_bars(days: Sequence[DayRate]) -> list[Bar]:
    """One bar per day, its height the rate (0–100 % of HEIGHT); a day without conversations has none."""
    bars = []
    for i, d in enumerate(days):
        height = round((d.rate or 0.0) * HEIGHT)
        bars.append(
            Bar(
                x=i * (WIDTH + GAP),
                y=HEIGHT - height,
                height=height,
                day=d.day.strftime("%m-%d"),
                rate=d.rate,
                conversations=d.conversations,
                repeat_contacts=d.repeat_contacts,
            )
        )
    return bars
