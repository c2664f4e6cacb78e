"""/api/v1/automation/rules over HTTP on both databases: CRUD, order, validation errors that save nothing."""

from __future__ import annotations

from typing import Any

from kefu.core.constants import Role
from tests.support.factories import World

RULE: dict[str, Any] = {
    "name": "VIP label",
    "event_type": "message.created",
    "match": "all",
    "conditions": [{"field": "contact.tier", "op": "in", "value": ["vip", "gold"]}],
    "actions": [{"type": "add_label", "label": "vip"}],
}


async def _rules(api: World) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/automation/rules")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_create_read_update_delete(api: World) -> None:
    r = await api.http.post("/api/v1/automation/rules", json=RULE)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["name"], rule["event_type"], rule["match"], rule["enabled"], rule["position"]) == (
        "VIP label",
        "message.created",
        "all",
        True,
        0,
    )
    assert rule["conditions"] == [{"field": "contact.tier", "op": "in", "value": ["vip", "gold"]}]
    assert rule["actions"] == [{"type": "add_label", "label": "vip"}]
    r = await api.http.patch(f"/api/v1/automation/rules/{rule['id']}", json={"enabled": False, "match": "any"})
    assert r.status_code == 200, r.text
    assert (r.json()["enabled"], r.json()["match"]) == (False, "any")
    r = await api.http.get(f"/api/v1/automation/rules/{rule['id']}")
    assert (r.status_code, r.json()["enabled"]) == (200, False)
    r = await api.http.delete(f"/api/v1/automation/rules/{rule['id']}")
    assert r.status_code == 204
    assert await _rules(api) == []
    r = await api.http.get(f"/api/v1/automation/rules/{rule['id']}")
    assert r.status_code == 404


async def test_order(api: World) -> None:
    ids = []
    for name in ("a", "b", "c"):
        r = await api.http.post("/api/v1/automation/rules", json={**RULE, "name": name})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert [r["position"] for r in await _rules(api)] == [0, 1, 2]
    r = await api.http.put("/api/v1/automation/rules/order", json={"rule_ids": [ids[2], ids[0], ids[1]]})
    assert r.status_code == 200, r.text
    assert [x["name"] for x in await _rules(api)] == ["c", "a", "b"]
    r = await api.http.put("/api/v1/automation/rules/order", json={"rule_ids": [ids[2], ids[0]]})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == f"rule_ids must name every rule of the account; missing: [{ids[1]}]"
    assert [x["name"] for x in await _rules(api)] == ["c", "a", "b"]


async def _refused(api: World, body: dict[str, Any], status: int, message: str) -> None:
    r = await api.http.post("/api/v1/automation/rules", json=body)
    assert r.status_code == status, r.text
    assert message in r.text, r.text
    assert await _rules(api) == []


async def test_validation_errors_save_nothing(api: World) -> None:
    await _refused(api, {**RULE, "event_type": "message.deleted"}, 422, "unknown event type 'message.deleted'")
    await _refused(
        api,
        {**RULE, "conditions": [{"field": "contact.shoe", "op": "eq", "value": 1}]},
        422,
        "unknown field 'contact.shoe'",
    )
    await _refused(
        api,
        {**RULE, "conditions": [{"field": "contact.tier", "op": "like", "value": "v"}]},
        422,
        "unknown operator 'like'",
    )
    await _refused(api, {**RULE, "actions": [{"type": "launch_rocket"}]}, 422, "launch_rocket")
    await _refused(api, {**RULE, "actions": []}, 422, "actions")
    await _refused(
        api, {**RULE, "actions": [{"type": "notify", "text": "hi"}]}, 422, "notify needs user_ids or a team_id"
    )
    await _refused(
        api, {**RULE, "actions": [{"type": "assign_team", "team_id": 987654321}]}, 404, "team 987654321 not found"
    )
    await _refused(
        api, {**RULE, "actions": [{"type": "assign_agent", "user_id": 987654321}]}, 404, "user 987654321 not found"
    )


async def test_another_accounts_team_is_not_found_and_agents_cannot_manage(api: World) -> None:
    from tests.support.factories import new_account

    async with new_account(api.server) as other:
        r = await other.http.post("/api/v1/teams", json={"name": "Other team"})
        assert r.status_code == 201, r.text
        team_id = r.json()["id"]
    await _refused(
        api, {**RULE, "actions": [{"type": "assign_team", "team_id": team_id}]}, 404, f"team {team_id} not found"
    )
    agent = await api.user(Role.AGENT)
    r = await agent.client.get("/api/v1/automation/rules")
    assert r.status_code == 403
    r = await agent.client.post("/api/v1/automation/rules", json=RULE)
    assert r.status_code == 403
    assert await _rules(api) == []
