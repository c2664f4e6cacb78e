"""The routing API over HTTP on the live server (both backends): skills, requirements, agents, presence,
settings, transfers, the queue; bad input is a precise 4xx and leaves nothing half-saved; roles."""

from __future__ import annotations

import asyncio
from typing import Any

from kefu.core.constants import Role
from tests.routing.live import listeners_ready
from tests.support.factories import World


async def _skill(w: World, name: str) -> dict[str, Any]:
    r = await w.http.post("/api/v1/routing/skills", json={"name": name, "description": f"{name} questions"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_skills_crud_and_conflicts(api: World) -> None:
    billing = await _skill(api, "billing")
    assert billing["name"] == "billing" and billing["description"] == "billing questions"
    r = await api.http.post("/api/v1/routing/skills", json={"name": "billing"})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "a skill named 'billing' already exists"
    r = await api.http.patch(f"/api/v1/routing/skills/{billing['id']}", json={"name": "payments"})
    assert r.status_code == 200 and r.json()["name"] == "payments"
    assert [s["name"] for s in (await api.http.get("/api/v1/routing/skills")).json()] == ["payments"]
    r = await api.http.post("/api/v1/routing/skills", json={"name": "  "})
    assert r.status_code == 422
    assert (await api.http.delete(f"/api/v1/routing/skills/{billing['id']}")).status_code == 204
    assert (await api.http.get("/api/v1/routing/skills")).json() == []


async def test_agent_skills_capacity_and_bad_input(api: World) -> None:
    await _skill(api, "billing")
    agent = await api.user(Role.AGENT, "Ann")
    url = f"/api/v1/routing/agents/{agent.id}"
    r = await api.http.patch(url, json={"capacity": 3, "channel_capacity": {"email": 1}, "skills": {"billing": 4}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["capacity"], body["channel_capacity"], body["skills"], body["load"]) == (
        3,
        {"email": 1},
        {"billing": 4},
        0,
    )
    assert body["presence"] == "away"

    # an unknown skill: 400 naming it, and nothing changed (capacity neither)
    r = await api.http.patch(url, json={"capacity": 9, "skills": {"billing": 2, "cooking": 3}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "unknown skill: cooking"
    # a level out of range: 422
    r = await api.http.patch(url, json={"skills": {"billing": 6}})
    assert r.status_code == 422
    r = await api.http.patch(url, json={"capacity": -1})
    assert r.status_code == 422
    agents = {a["user_id"]: a for a in (await api.http.get("/api/v1/routing/agents")).json()}
    assert (agents[agent.id]["capacity"], agents[agent.id]["skills"]) == (3, {"billing": 4})


async def test_requirements_and_their_bad_input(api: World) -> None:
    await _skill(api, "refunds")
    r = await api.http.post(
        "/api/v1/routing/requirements", json={"kind": "intent", "value": "refund", "skill": "refunds"}
    )
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("kind", "value", "skill")} == {
        "kind": "intent",
        "value": "refund",
        "skill": "refunds",
    }
    r = await api.http.post(
        "/api/v1/routing/requirements", json={"kind": "intent", "value": "refund", "skill": "refunds"}
    )
    assert r.status_code == 409
    r = await api.http.post("/api/v1/routing/requirements", json={"kind": "label", "value": "vip", "skill": "nope"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "unknown skill: nope"
    r = await api.http.post("/api/v1/routing/requirements", json={"kind": "inbox", "value": "abc", "skill": "refunds"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "an inbox requirement's value is an inbox id, not 'abc'"
    r = await api.http.post(
        "/api/v1/routing/requirements", json={"kind": "inbox", "value": "999999", "skill": "refunds"}
    )
    assert r.status_code == 404
    r = await api.http.post("/api/v1/routing/requirements", json={"kind": "weather", "value": "x", "skill": "refunds"})
    assert r.status_code == 422
    assert len((await api.http.get("/api/v1/routing/requirements")).json()) == 1


async def test_settings_with_a_missing_team(api: World) -> None:
    team = (await api.http.post("/api/v1/teams", json={"name": "Front"})).json()
    backup = (await api.http.post("/api/v1/teams", json={"name": "Backup"})).json()
    before = (await api.http.get("/api/v1/routing/settings")).json()
    assert before == {"auto_assign": True, "sticky": True, "default_capacity": 5, "overflow": {}}
    bad = {"sticky": False, "overflow": {str(team["id"]): {"after_s": 60, "team_id": 999999999}}}
    r = await api.http.put("/api/v1/routing/settings", json=bad)
    assert r.status_code == 404 and r.json()["error"]["message"] == "team 999999999 not found"
    r = await api.http.put(
        "/api/v1/routing/settings", json={"overflow": {str(team["id"]): {"after_s": 60, "team_id": team["id"]}}}
    )
    assert r.status_code == 400 and r.json()["error"]["message"] == f"team {team['id']} cannot overflow to itself"
    assert (await api.http.get("/api/v1/routing/settings")).json() == before
    good = {
        "auto_assign": True,
        "sticky": False,
        "default_capacity": 4,
        "overflow": {str(team["id"]): {"after_s": 60, "team_id": backup["id"]}},
    }
    r = await api.http.put("/api/v1/routing/settings", json=good)
    assert r.status_code == 200
    assert (await api.http.get("/api/v1/routing/settings")).json() == good


async def test_presence_puts_an_agent_online_and_the_queue_is_served(api: World) -> None:
    """A customer writes where no bot answers: the conversation queues; the agent goes online and gets it."""
    await listeners_ready(api)
    agent = await api.user(Role.AGENT, "Ann")
    _, conv = await api.conversation("我要退款")
    for _ in range(300):  # the listener queues it
        queue = (await api.http.get("/api/v1/routing/queue")).json()
        if [c["id"] for c in queue["waiting"]] == [conv["id"]]:
            break
        await asyncio.sleep(0.1)
    assert [c["id"] for c in queue["waiting"]] == [conv["id"]]
    assert queue["by_priority"] == {"p1": 0, "p2": 0, "p3": 1, "p4": 0}

    r = await agent.client.put("/api/v1/routing/presence", json={"presence": "online"})
    assert r.status_code == 200 and r.json()["presence"] == "online"
    for _ in range(300):
        got = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()
        if got["assignee_id"] is not None:
            break
        await asyncio.sleep(0.1)
    assert got["assignee_id"] == agent.id
    assert got["waiting_since"] is None
    r = await agent.client.put("/api/v1/routing/presence", json={"presence": "dancing"})
    assert r.status_code == 422


async def test_transfer_with_a_reason_is_counted(api: World) -> None:
    ann = await api.user(Role.AGENT, "Ann")
    bob = await api.user(Role.AGENT, "Bob")
    _, conv = await api.conversation("hello")
    cid = conv["id"]
    assert (
        await ann.client.post(f"/api/v1/conversations/{cid}/assignment", json={"assignee_id": ann.id})
    ).status_code == 200
    r = await ann.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"to_user_id": bob.id, "reason": "needs billing"}
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["from_user_id"], t["to_user_id"], t["reason"], t["actor_id"]) == (ann.id, bob.id, "needs billing", ann.id)
    assert (await api.http.get(f"/api/v1/conversations/{cid}")).json()["assignee_id"] == bob.id
    # bad input: no reason, no target, a missing team, the same agent
    r = await ann.client.post(f"/api/v1/conversations/{cid}/transfer", json={"to_user_id": ann.id, "reason": ""})
    assert r.status_code == 422
    r = await ann.client.post(f"/api/v1/conversations/{cid}/transfer", json={"reason": "why"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "a transfer needs to_user_id or to_team_id"
    r = await ann.client.post(f"/api/v1/conversations/{cid}/transfer", json={"to_team_id": 999999999, "reason": "why"})
    assert r.status_code == 404 and r.json()["error"]["message"] == "team 999999999 not found"
    r = await ann.client.post(f"/api/v1/conversations/{cid}/transfer", json={"to_user_id": bob.id, "reason": "again"})
    assert r.status_code == 400 and r.json()["error"]["message"] == f"conversation {cid} is already with user {bob.id}"
    transfers = (await api.http.get(f"/api/v1/conversations/{cid}/transfers")).json()
    assert [x["reason"] for x in transfers] == ["needs billing"]
    # transfer rate: today 1 transfer over the conversations assigned today (this one, assigned twice, counts once)
    today = (await api.http.get("/api/v1/routing/transfer_rate")).json()[-1]
    assert (today["assigned"], today["transfers"], today["rate"]) == (1, 1, 1.0)


async def test_agents_may_not_supervise(api: World) -> None:
    agent = await api.user(Role.AGENT, "Ann")
    for method, path, body in [
        ("GET", "/api/v1/routing/queue", None),
        ("POST", "/api/v1/routing/skills", {"name": "x"}),
        ("PUT", "/api/v1/routing/settings", {"sticky": True}),
        ("PATCH", f"/api/v1/routing/agents/{agent.id}", {"capacity": 50}),
    ]:
        r = await agent.client.request(method, path, json=body)
        assert r.status_code == 403, (path, r.text)
    assert (await api.http.get("/api/v1/routing/skills")).json() == []
    agents = {a["user_id"]: a for a in (await api.http.get("/api/v1/routing/agents")).json()}
    assert agents[agent.id]["capacity"] == 5


async def test_a_transfer_to_a_team_waits_for_that_team(api: World) -> None:
    await listeners_ready(api)
    ann = await api.user(Role.AGENT, "Ann")
    bob = await api.user(Role.AGENT, "Bob")
    team = (await api.http.post("/api/v1/teams", json={"name": "Billing", "member_ids": [bob.id]})).json()
    _, conv = await api.conversation("invoice please")
    cid = conv["id"]
    assert (
        await ann.client.post(f"/api/v1/conversations/{cid}/assignment", json={"assignee_id": ann.id})
    ).status_code == 200
    for agent in (ann, bob):
        assert (await agent.client.put("/api/v1/routing/presence", json={"presence": "online"})).status_code == 200
    r = await ann.client.post(
        f"/api/v1/conversations/{cid}/transfer", json={"to_team_id": team["id"], "reason": "billing"}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["from_user_id"], r.json()["to_user_id"], r.json()["to_team_id"]) == (ann.id, None, team["id"])
    for _ in range(300):  # it waits for the team, and the team's online agent gets it
        got = (await api.http.get(f"/api/v1/conversations/{cid}")).json()
        if got["assignee_id"] is not None:
            break
        await asyncio.sleep(0.1)
    assert (got["assignee_id"], got["team_id"], got["waiting_since"]) == (bob.id, team["id"], None)
