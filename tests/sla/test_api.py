"""/api/v1/sla over HTTP against the live server (SQLite and PostgreSQL): the policy matrix, calendars with
days and iCal import, bad input → 4xx saying what is wrong with nothing saved, and a conversation's clocks
moved by the durable listener as a customer writes and an agent answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from kefu.core.constants import Role
from tests.support.factories import World

FIXTURE = Path(__file__).parent / "fixtures" / "cn_holidays_2026.ics"
OFFICE = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
ICAL = {"Content-Type": "text/calendar"}


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["error"]["message"])


async def test_the_policy_matrix_defaults_and_edits(api: World) -> None:
    r = await api.http.get("/api/v1/sla/policies")
    assert r.status_code == 200
    assert [(p["priority"], p["tier"], p["id"], p["first_response_min"], p["resolution_min"]) for p in r.json()] == [
        ("p1", "any", None, 30, 480),
        ("p2", "any", None, 120, 1440),
        ("p3", "any", None, 480, 4320),
        ("p4", "any", None, 1440, 10080),
    ]
    body = {"priority": "p1", "tier": "vip", "first_response_min": 10, "next_response_min": 15, "resolution_min": 120}
    created = await api.http.post("/api/v1/sla/policies", json=body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["warn_fraction"], policy["calendar_id"]) == (0.8, None)
    assert _error(await api.http.post("/api/v1/sla/policies", json=body), 409) == (
        "a policy for p1 / vip exists already; change that one"
    )
    rows = (await api.http.get("/api/v1/sla/policies")).json()
    assert [(p["priority"], p["tier"]) for p in rows][:2] == [("p1", "any"), ("p1", "vip")]
    r = await api.http.patch(f"/api/v1/sla/policies/{policy['id']}", json={"warn_fraction": 0.5})
    assert (r.status_code, r.json()["warn_fraction"]) == (200, 0.5)
    assert "resolution_min must not be shorter" in _error(
        await api.http.patch(f"/api/v1/sla/policies/{policy['id']}", json={"resolution_min": 5}), 422
    )
    assert (await api.http.get(f"/api/v1/sla/policies/{policy['id']}")).json()["resolution_min"] == 120
    assert (await api.http.delete(f"/api/v1/sla/policies/{policy['id']}")).status_code == 204
    assert len((await api.http.get("/api/v1/sla/policies")).json()) == 4


async def test_impossible_policies_are_refused(api: World) -> None:
    base = {"priority": "p2", "first_response_min": 60, "next_response_min": 60, "resolution_min": 600}
    for change, field in [
        ({"first_response_min": -5}, "first_response_min"),
        ({"resolution_min": 0}, "resolution_min"),
        ({"warn_fraction": 1.0}, "warn_fraction"),
        ({"tier": "platinum"}, "tier"),
        ({"priority": "p9"}, "priority"),
    ]:
        r = await api.http.post("/api/v1/sla/policies", json={**base, **change})
        assert r.status_code == 422, (change, r.text)
        assert field in r.text
    r = await api.http.post("/api/v1/sla/policies", json={**base, "resolution_min": 30})
    assert "resolution_min must not be shorter than first_response_min" in _error(r, 422)
    r = await api.http.post("/api/v1/sla/policies", json={**base, "calendar_id": 999999999})
    assert _error(r, 422) == "calendar 999999999 does not exist"
    assert len((await api.http.get("/api/v1/sla/policies")).json()) == 4  # nothing saved


async def test_calendars_days_and_bad_input(api: World) -> None:
    r = await api.http.post("/api/v1/sla/calendars", json={"name": "Office", "week": OFFICE})
    assert r.status_code == 201, r.text
    cal = r.json()
    assert (cal["timezone"], cal["week"]["mon"], cal["week"]["sat"], cal["days"]) == (
        "Asia/Shanghai", [{"start": "09:00", "end": "18:00"}], [], []
    )  # fmt: skip
    assert _error(await api.http.post("/api/v1/sla/calendars", json={"name": "Office", "week": {}}), 409) == (
        "a calendar named 'Office' exists already"
    )
    overlap = {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}]}
    r = await api.http.post("/api/v1/sla/calendars", json={"name": "Bad", "week": overlap})
    assert r.status_code == 422 and "mon: 09:00-12:00 overlaps 11:00-18:00" in r.text
    r = await api.http.post("/api/v1/sla/calendars", json={"name": "Bad", "week": {}, "timezone": "Mars/Olympus"})
    assert r.status_code == 422 and "unknown time zone 'Mars/Olympus'" in r.text

    days = f"/api/v1/sla/calendars/{cal['id']}/days"
    r = await api.http.post(days, json={"day": "2026-10-10", "kind": "workday", "name": "国庆节 补班"})
    assert r.status_code == 201, r.text
    assert _error(await api.http.post(days, json={"day": "2026-10-10", "kind": "holiday"}), 422) == (
        "2026-10-10 is already a workday (国庆节 补班); remove it before making it a holiday"
    )
    assert _error(await api.http.post(days, json={"day": "2026-10-10", "kind": "workday"}), 409) == (
        "2026-10-10 is already a workday of this calendar"
    )
    r = await api.http.post(
        days, json={"day": "2026-10-01", "kind": "holiday", "hours": [{"start": "09:00", "end": "12:00"}]}
    )
    assert r.status_code == 422 and "a holiday is closed all day: give no hours" in r.text
    listed = (await api.http.get(f"/api/v1/sla/calendars/{cal['id']}")).json()["days"]
    assert [(d["day"], d["kind"]) for d in listed] == [("2026-10-10", "workday")]

    # A policy on the calendar keeps it from being deleted.
    body = {"priority": "p3", "first_response_min": 60, "next_response_min": 60, "resolution_min": 600}
    policy = (await api.http.post("/api/v1/sla/policies", json={**body, "calendar_id": cal["id"]})).json()
    assert _error(await api.http.delete(f"/api/v1/sla/calendars/{cal['id']}"), 409) == (
        "calendar 'Office' is used by the policies p3/any"
    )
    assert (await api.http.delete(f"/api/v1/sla/policies/{policy['id']}")).status_code == 204
    assert (await api.http.delete(f"/api/v1/sla/calendars/{cal['id']}/days/{listed[0]['id']}")).status_code == 204
    assert (await api.http.delete(f"/api/v1/sla/calendars/{cal['id']}")).status_code == 204
    assert (await api.http.get(f"/api/v1/sla/calendars/{cal['id']}")).status_code == 404


async def test_ical_import_all_or_nothing(api: World) -> None:
    cal = (await api.http.post("/api/v1/sla/calendars", json={"name": "CN 2026", "week": OFFICE})).json()
    url = f"/api/v1/sla/calendars/{cal['id']}/import"
    # A stored day that contradicts the file: refused, nothing saved.
    r = await api.http.post(f"/api/v1/sla/calendars/{cal['id']}/days", json={"day": "2026-10-03", "kind": "workday"})
    assert r.status_code == 201
    assert _error(await api.http.post(url, content=FIXTURE.read_bytes(), headers=ICAL), 422) == (
        "2026-10-03 is already a workday (no name); remove it before making it a holiday"
    )
    assert len((await api.http.get(f"/api/v1/sla/calendars/{cal['id']}")).json()["days"]) == 1
    await api.http.delete(f"/api/v1/sla/calendars/{cal['id']}/days/{r.json()['id']}")

    r = await api.http.post(url, content=FIXTURE.read_bytes(), headers=ICAL)
    assert r.status_code == 200, r.text
    assert (r.json()["added"], r.json()["updated"]) == (39, 0)
    days = {d["day"]: (d["kind"], d["name"]) for d in r.json()["calendar"]["days"]}
    assert days["2026-10-01"] == ("holiday", "国庆节 假期")
    assert days["2026-10-10"] == ("workday", "国庆节（班）")
    assert days["2026-09-20"] == ("workday", "国庆节 上班")
    again = await api.http.post(url, content=FIXTURE.read_bytes(), headers=ICAL)
    assert (again.json()["added"], again.json()["updated"]) == (0, 39)

    assert "not an iCalendar file" in _error(await api.http.post(url, content=b"hello", headers=ICAL), 422)
    r = await api.http.post(url, content=FIXTURE.read_bytes(), headers={"Content-Type": "application/json"})
    assert _error(r, 400) == "send the iCalendar file as a text/calendar body"
    assert _error(await api.http.post(url, content=b"  ", headers=ICAL), 400) == (
        "the request body is empty; send an iCalendar file"
    )
    assert len((await api.http.get(f"/api/v1/sla/calendars/{cal['id']}")).json()["days"]) == 39


async def test_agents_cannot_edit_sla_settings(api: World) -> None:
    agent = await api.user(Role.AGENT)
    r = await agent.client.get("/api/v1/sla/policies")
    assert r.status_code == 403
    r = await agent.client.post("/api/v1/sla/calendars", json={"name": "x", "week": {}})
    assert r.status_code == 403
    assert (await api.http.get("/api/v1/sla/calendars")).json() == []


async def _sla(api: World, conv_id: int, until: Any) -> dict[str, Any]:
    """The conversation's SLA once `until(sla)` holds (the durable listener runs after the commit)."""
    for _ in range(100):
        body: dict[str, Any] = (await api.http.get(f"/api/v1/conversations/{conv_id}/sla")).json()
        if until(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"SLA never reached the expected state: {body}")


async def test_a_conversations_clocks_follow_the_customer_and_the_agent(api: World) -> None:
    _, conv = await api.conversation("订单一直没到，请尽快处理")
    # the clocks and the conversation's sla_due_at commit together, but the API reads the conversation and
    # then its clocks (two statements: on PostgreSQL a commit may fall between them): wait for both
    sla = await _sla(api, conv["id"], lambda b: len(b["clocks"]) == 2 and b["sla_due_at"] is not None)
    first, resolution = sla["clocks"]
    assert (first["metric"], first["state"], resolution["metric"], resolution["state"]) == (
        "first_response", "running", "resolution", "running"
    )  # fmt: skip
    assert first["priority"] == conv["priority"]
    assert first["target_s"] == {"p1": 1800, "p2": 7200, "p3": 28800, "p4": 86400}[conv["priority"]]
    assert 0 < first["remaining_s"] <= first["target_s"]
    assert sla["sla_due_at"] == first["due_at"]
    r = await api.http.get(f"/api/v1/conversations/{conv['id']}")
    assert r.json()["sla_due_at"] == first["due_at"]

    note = await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "备注", "kind": "note"})
    assert note.status_code == 201, note.text
    await asyncio.sleep(0.5)  # a note is not a reply: the first-response clock keeps running
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}/sla")).json()["clocks"][0]["state"] == "running"
    reply = await api.http.post(f"/api/v1/conversations/{conv['id']}/messages", json={"content": "您好，马上为您查询"})
    assert reply.status_code == 201, reply.text
    sla = await _sla(api, conv["id"], lambda b: b["clocks"][0]["state"] == "stopped")
    assert sla["clocks"][0]["stopped_at"] is not None
    assert sla["sla_due_at"] == sla["clocks"][1]["due_at"]
    assert (await api.http.get("/api/v1/conversations/999999999/sla")).status_code == 404
