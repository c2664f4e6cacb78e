"""Rules running on real events through the durable listener of the live server (both databases): each
action on real rows, the run log and the timeline note, loop protection and the chain depth limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kefu.core.constants import Role
from tests.support.factories import World, recv_until, uniq


async def _rule(
    api: World,
    event_type: str,
    actions: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
    name: str | None = None,
) -> int:
    body = {"name": name or uniq("rule "), "event_type": event_type, "conditions": conditions or [], "actions": actions}
    r = await api.http.post("/api/v1/automation/rules", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _until(probe: Callable[[], Awaitable[Any]], timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.2)


async def _runs(api: World, rule_id: int) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/automation/runs", params={"rule_id": rule_id})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["items"]))  # oldest first


async def _conv(api: World, conv_id: int) -> dict[str, Any]:
    r = await api.http.get(f"/api/v1/conversations/{conv_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _notes(api: World, conv_id: int) -> list[str]:
    r = await api.http.get(f"/api/v1/conversations/{conv_id}/messages")
    assert r.status_code == 200, r.text
    return [m["content"] for m in r.json() if m["kind"] == "note"]


async def test_a_customer_message_runs_the_matching_rule_in_order(api: World) -> None:
    name = uniq("Lin ")
    match = [
        {"field": "message.direction", "op": "eq", "value": "incoming"},
        {"field": "contact.name", "op": "eq", "value": name},
    ]
    first = await _rule(
        api,
        "message.created",
        [{"type": "add_label", "label": "refund"}],
        [*match, {"field": "message.content", "op": "contains", "value": "REFUND"}],
        name="Refunds",
    )
    second = await _rule(api, "message.created", [{"type": "set_priority", "priority": "p1"}], match)
    unmatched = await _rule(
        api,
        "message.created",
        [{"type": "add_label", "label": "never"}],
        [*match, {"field": "contact.churn_risk", "op": "eq", "value": True}],
    )
    inbox = await api.inbox()
    visitor = await api.visitor(inbox, name=name)
    msg = await visitor.say("I want a refund please")
    conv_id = msg["conversation_id"]

    async def done() -> dict[str, Any] | None:
        conv = await _conv(api, conv_id)
        return conv if conv["priority"] == "p1" and conv["labels"] == ["refund"] else None

    conv = await _until(done)
    assert conv["priority_reasons"] == [f"rule:{second}"]
    (run,) = await _runs(api, first)
    assert (run["outcome"], run["event_type"], run["conversation_id"]) == ("ran", "message.created", conv_id)
    assert run["results"] == [{"action": "add_label", "ok": True, "detail": "label refund"}]
    (run2,) = await _runs(api, second)
    assert run2["results"] == [{"action": "set_priority", "ok": True, "detail": "priority p3 → p1"}]
    assert await _runs(api, unmatched) == []
    notes = await _until(lambda: _notes(api, conv_id))
    assert notes[0] == "⚙ Refunds — add_label: label refund"
    # the customer does not see the notes
    assert [m["content"] for m in (await visitor.messages())["messages"]] == ["I want a refund please"]


async def test_a_rule_never_runs_on_an_event_its_own_action_caused(api: World) -> None:
    _, conv = await api.conversation()
    rule = await _rule(api, "conversation.labels_changed", [{"type": "add_label", "label": "again"}])
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/labels", json={"label": "first"})
    assert r.status_code == 200, r.text

    async def two_runs() -> list[dict[str, Any]] | None:
        runs = await _runs(api, rule)
        return runs if len(runs) >= 2 else None

    ran, skipped = await _until(two_runs)
    assert ran["outcome"] == "ran"
    assert skipped["outcome"] == "skipped"
    assert skipped["results"] == [{"action": "-", "ok": False, "detail": "skipped: its own actions caused this event"}]
    await asyncio.sleep(1.5)
    assert len(await _runs(api, rule)) == 2
    assert (await _conv(api, conv["id"]))["labels"] == ["again", "first"]


async def test_a_chain_of_rules_stops_at_the_depth_limit(api: World) -> None:
    _, conv = await api.conversation()
    labels = "conversation.labels"
    r1 = await _rule(
        api,
        "conversation.labels_changed",
        [{"type": "set_priority", "priority": "p4"}],
        [{"field": labels, "op": "contains", "value": "start"}],
    )
    r2 = await _rule(
        api,
        "conversation.priority_changed",
        [{"type": "add_label", "label": "two"}],
        [{"field": "conversation.priority", "op": "eq", "value": "p4"}],
    )
    r3 = await _rule(
        api,
        "conversation.labels_changed",
        [{"type": "set_priority", "priority": "p2"}],
        [{"field": labels, "op": "contains", "value": "two"}],
    )
    r4 = await _rule(
        api,
        "conversation.priority_changed",
        [{"type": "add_label", "label": "four"}],
        [{"field": "conversation.priority", "op": "eq", "value": "p2"}],
    )
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/labels", json={"label": "start"})
    assert r.status_code == 200, r.text
    (skipped,) = await _until(lambda: _runs(api, r4))
    assert skipped["outcome"] == "skipped"
    assert skipped["results"][0]["detail"] == "skipped: chain of 3 rules reached"
    assert [x["outcome"] for x in await _runs(api, r1)] == ["ran", "skipped"]
    assert [x["outcome"] for x in await _runs(api, r2)] == ["ran"]
    assert [x["outcome"] for x in await _runs(api, r3)] == ["ran"]
    final = await _conv(api, conv["id"])
    assert (final["labels"], final["priority"]) == (["start", "two"], "p2")


async def test_every_action_on_real_rows(api: World) -> None:
    supervisor = await api.user(Role.SUPERVISOR, name="Sup")
    agent = await api.user(Role.AGENT, name="Ann")
    r = await api.http.post("/api/v1/teams", json={"name": uniq("Billing "), "member_ids": [agent.id]})
    assert r.status_code == 201, r.text
    team_id = r.json()["id"]
    name = uniq("Zhou ")
    cond = [
        {"field": "contact.name", "op": "eq", "value": name},
        {"field": "message.direction", "op": "eq", "value": "incoming"},
    ]
    actions = [
        {"type": "assign_team", "team_id": team_id},
        {"type": "assign_agent", "user_id": agent.id},
        {"type": "send_reply", "text": "您好 {{contact.name}}，我们马上处理。"},
        {"type": "escalate"},
        {"type": "notify", "team_id": team_id, "text": "Look at {{contact.name}}"},
        {"type": "create_ticket", "subject": "From {{contact.name}}"},
    ]
    rule = await _rule(api, "message.created", actions, cond, name="All")
    inbox = await api.inbox()
    visitor = await api.visitor(inbox, name=name)
    async with api.agent_ws(token=agent.token) as ws:
        await recv_until(ws, "hello")
        msg = await visitor.say("hello")
        escalated = await recv_until(ws, "automation.notify", timeout=45)
        notice = await recv_until(ws, "automation.notify", timeout=45)
    supervisors = sorted([api.admin.id, supervisor.id])
    assert (escalated["user_ids"], escalated["text"]) == (supervisors, "escalated: priority p3 → p2")
    assert (notice["user_ids"], notice["text"], notice["rule_id"]) == ([agent.id], f"Look at {name}", rule)
    conv_id = msg["conversation_id"]
    (run,) = await _until(lambda: _runs(api, rule))
    conv = await _conv(api, conv_id)
    assert (conv["team_id"], conv["assignee_id"], conv["priority"]) == (team_id, agent.id, "p2")
    results = [(x["action"], x["ok"], x["detail"]) for x in run["results"]]
    reply_id = results[2][2].split()[1]
    ticket_id = results[5][2].split()[1]
    assert results == [
        ("assign_team", True, f"team {team_id}"),
        ("assign_agent", True, f"agent {agent.id}"),
        ("send_reply", True, f"reply {reply_id}"),
        ("escalate", True, "priority p3 → p2; notified 2 supervisors"),
        ("notify", True, "notified 1 users"),
        ("create_ticket", True, f"ticket {ticket_id}"),
    ]
    assert run["outcome"] == "ran"
    ticket = (await api.http.get(f"/api/v1/tickets/{ticket_id}")).json()
    assert (ticket["subject"], ticket["source"], ticket["conversation_ids"]) == (f"From {name}", "rule", [conv_id])
    seen = [m["content"] for m in (await visitor.messages())["messages"]]
    assert seen == ["hello", f"您好 {name}，我们马上处理。"]
    notes = await _notes(api, conv_id)
    assert notes[:2] == ["escalated: priority p3 → p2", f"Look at {name}"]
    assert notes[2].startswith("⚙ All — assign_team: team")


async def test_a_failing_action_is_undone_and_reported_and_the_others_stand(api: World) -> None:
    agent = await api.user(Role.AGENT)
    name = uniq("Qian ")
    cond = [
        {"field": "contact.name", "op": "eq", "value": name},
        {"field": "message.direction", "op": "eq", "value": "incoming"},
    ]
    rule = await _rule(
        api,
        "message.created",
        [{"type": "assign_agent", "user_id": agent.id}, {"type": "add_label", "label": "kept"}],
        cond,
    )
    r = await api.http.patch(f"/api/v1/users/{agent.id}", json={"is_active": False})
    assert r.status_code == 200, r.text
    visitor = await api.visitor(await api.inbox(), name=name)
    msg = await visitor.say("hi")
    (run,) = await _until(lambda: _runs(api, rule))
    assert run["outcome"] == "partial"
    assert run["results"] == [
        {
            "action": "assign_agent",
            "ok": False,
            "detail": f"failed: user {agent.id} is deactivated and cannot be assigned",
        },
        {"action": "add_label", "ok": True, "detail": "label kept"},
    ]
    conv = await _conv(api, msg["conversation_id"])
    assert (conv["assignee_id"], conv["labels"]) == (None, ["kept"])
