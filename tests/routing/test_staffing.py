"""Erlang C staffing: the seasonal forecast and the plan on exact inputs, then the API and the page on a
synthetic history of real conversation rows (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.conversations.models import Conversation
from kefu.core import clock
from kefu.routing import erlang
from kefu.routing.staffing import Targets, history_window, plan, seasonal_average

SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)  # type: ignore[misc]


def test_seasonal_average_by_weekday_and_hour_in_the_accounts_zone() -> None:
    created = [local(2026, 11, 23, 9, m) for m in (1, 2, 3)] + [local(2026, 11, 30, 9, 5)]
    created += [local(2026, 12, 6, 23, 59)]  # Sunday 23:00 local is Sunday 15:00 UTC
    forecast = seasonal_average(created, SH, weeks=2)
    assert len(forecast) == 168
    assert forecast[9] == 2.0  # Monday 09:00: 4 over 2 weeks
    assert forecast[6 * 24 + 23] == 0.5
    assert sum(forecast) == 2.5


def test_history_window_is_whole_weeks_before_this_one() -> None:
    start, end = history_window(local(2026, 12, 9, 10, 0), SH, weeks=2)
    assert (start, end) == (local(2026, 11, 23, 0, 0), local(2026, 12, 7, 0, 0))


def test_plan_matches_erlang_c() -> None:
    # Call Centre Helper's example: 100 contacts in 30 minutes, 180 s, 80 % in 20 s → 14 agents.
    p = plan([100, 0, 200], Targets(0.8, 20, 180), interval_s=1800)
    assert [i.agents for i in p.intervals] == [14, 0, erlang.agents_needed(20, 180, 0.8, 20).agents]
    assert p.intervals[0].traffic == 10
    assert round(p.intervals[0].service_level, 3) == 0.888
    assert p.peak_agents == p.intervals[2].agents
    assert p.agent_hours == (14 + p.intervals[2].agents) / 2


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (Targets(1.2, 20, 180), "target service level must be between 0 and 1 (exclusive), not 1.2"),
        (Targets(0.8, 20, -5), "handle time must be > 0 seconds, not -5"),
        (Targets(0.8, -1, 180), "target seconds must be ≥ 0, not -1"),
    ],
)
def test_plan_refuses_bad_targets(targets: Targets, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        plan([10], targets)
    assert str(exc.value) == message


def test_cli_staffing_json() -> None:
    import json

    result = CliRunner().invoke(app, ["staffing", "--rates", "100,0", "--interval-min", "30", "--aht", "180", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert [i["agents"] for i in out["intervals"]] == [14, 0]
    assert out["peak_agents"] == 14
    bad = CliRunner().invoke(app, ["staffing", "--rates", "10", "--aht", "-1"])
    assert bad.exit_code == 2
    assert "handle time must be > 0 seconds" in bad.output


# ---- over HTTP, on real rows ------------------------------------------------------------------------


async def _history(api: Any) -> None:
    clock.freeze(local(2026, 12, 9, 10, 0))  # a Wednesday
    _, conv = await api.conversation()  # this week: not in the history
    stamps = [local(2026, 11, 23, 9, m) for m in range(6)] + [local(2026, 11, 30, 9, m) for m in range(4)]
    stamps += [local(2026, 12, 1, 14, m) for m in range(3)]
    stamps += [local(2026, 11, 16, 9, 0)]  # three weeks back: outside a 2-week window
    async with api.server.state.sessionmaker() as session:
        for at in stamps:
            session.add(
                Conversation(
                    account_id=api.account_id,
                    inbox_id=conv["inbox_id"],
                    contact_id=conv["contact_id"],
                    created_at=at,
                    last_activity_at=at,
                )
            )
        await session.commit()


async def test_staffing_api_from_history(api: Any) -> None:
    await _history(api)
    r = await api.http.get("/api/v1/routing/staffing", params={"weeks": 2, "aht_s": 360, "target_s": 20})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "Asia/Shanghai"
    assert len(body["intervals"]) == 168
    monday9, tuesday14 = body["intervals"][9], body["intervals"][24 + 14]
    assert (monday9["weekday"], monday9["hour"], monday9["contacts"], monday9["traffic"]) == (0, 9, 5.0, 0.5)
    assert monday9["agents"] == erlang.agents_needed(0.5, 360, 0.8, 20).agents
    assert (tuesday14["contacts"], tuesday14["agents"]) == (1.5, erlang.agents_needed(0.15, 360, 0.8, 20).agents)
    busy = {i["index"] for i in body["intervals"] if i["agents"]}
    assert busy == {9, 38}
    assert body["peak_agents"] == monday9["agents"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"target_sl": 1.5}, "target_sl"),
        ({"aht_s": -5}, "aht_s"),
        ({"weeks": 0}, "weeks"),
        ({"target_sl": 0}, "target_sl"),
    ],
)
async def test_staffing_api_bad_input(api: Any, params: dict[str, float], field: str) -> None:
    r = await api.http.get("/api/v1/routing/staffing", params=params)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"].split(".")[-1] == field


async def test_staffing_page_renders_table_and_chart(api: Any) -> None:
    await _history(api)
    r = await api.http.get("/app/staffing", params={"weeks": 2, "aht_s": 360})
    assert r.status_code == 200, r.text
    assert 'id="staffing-table"' in r.text
    assert r.text.count('class="bar"') == 168
    capped = await api.http.get("/app/staffing", params={"weeks": 2, "aht_s": 360, "max_occupancy": 40})
    assert capped.status_code == 200, capped.text
    # Monday 09:00 carries 0.5 Erlangs: at most 40 % occupancy takes 2 agents; Tuesday 14:00 (0.15) takes 1
    assert capped.text.count('data-agents="2"') == 1
    assert capped.text.count('data-agents="1"') == 1
    bad = await api.http.get("/app/staffing", params={"aht_s": -5})
    assert bad.status_code == 422
    assert "handle time must be &gt; 0 seconds, not -5.0" in bad.text
