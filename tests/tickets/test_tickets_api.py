"""/api/v1/tickets over HTTP on both databases: create, lifecycle, timeline, notes, links, custom fields,
search, saved views, agents' scope, bad input (4xx, nothing half-saved)."""

from __future__ import annotations

from typing import Any

from kefu.core.constants import Role
from tests.support.factories import World, new_account


async def _ticket(api: World, **body: Any) -> dict[str, Any]:
    r = await api.http.post("/api/v1/tickets", json={"subject": "退款未到账", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _timeline(api: World, ticket_id: int) -> list[tuple[str, dict[str, Any], str]]:
    r = await api.http.get(f"/api/v1/tickets/{ticket_id}/timeline")
    assert r.status_code == 200, r.text
    return [(e["kind"], e["data"], e["actor_type"]) for e in r.json()]


async def test_a_ticket_from_a_conversation_takes_its_contact_priority_and_link(api: World) -> None:
    visitor, conv = await api.conversation("我的退款还没到账")
    await api.http.patch(f"/api/v1/conversations/{conv['id']}", json={"priority": "p2"})
    first = await _ticket(api, conversation_id=conv["id"], description="客户 12 月 1 日申请退款")
    second = await _ticket(api, subject="Invoice wrong")
    assert (first["number"], second["number"]) == (1001, 1002)
    assert first["status"] == "new" and first["priority"] == "p2" and first["contact_id"] == visitor.contact_id
    assert first["conversation_ids"] == [conv["id"]] and first["source"] == "conversation"
    assert (second["priority"], second["contact_id"], second["conversation_ids"]) == ("p3", None, [])
    assert await _timeline(api, first["id"]) == [
        ("created", {"number": 1001, "source": "conversation", "conversation_id": conv["id"]}, "user")
    ]
    events = (await api.http.get("/api/v1/events", params={"type": "ticket.created"})).json()
    payload = next(e["payload"] for e in events if e["payload"]["id"] == first["id"])
    assert (payload["status"], payload["previous_status"], payload["conversation_id"]) == ("new", None, conv["id"])
    assert (payload["priority"], payload["tier"], payload["contact_id"]) == ("p2", "normal", visitor.contact_id)
    await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"tier": "vip"})
    await api.http.post(f"/api/v1/tickets/{first['id']}/status", json={"status": "open"})
    changed = (await api.http.get("/api/v1/events", params={"type": "ticket.status_changed"})).json()
    assert [e["payload"]["tier"] for e in changed if e["payload"]["id"] == first["id"]] == ["vip"]


async def test_lifecycle_over_the_api_with_409_on_an_illegal_change(api: World) -> None:
    ticket = await _ticket(api)
    tid = ticket["id"]
    for status in ("open", "pending", "on_hold", "solved"):
        r = await api.http.post(f"/api/v1/tickets/{tid}/status", json={"status": status})
        assert r.status_code == 200 and r.json()["status"] == status, r.text
    assert r.json()["solved_at"] is not None
    refused = await api.http.post(f"/api/v1/tickets/{tid}/status", json={"status": "pending"})
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "conflict",
        "message": "a solved ticket cannot become pending (allowed: open, closed)",
        "details": {"from": "solved", "to": "pending", "allowed": ["open", "closed"]},
    }
    closed = await api.http.post(f"/api/v1/tickets/{tid}/status", json={"status": "closed"})
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    again = await api.http.post(f"/api/v1/tickets/{tid}/status", json={"status": "closed"})
    assert again.status_code == 200  # the same status: a no-op, no timeline entry
    assert (await api.http.post(f"/api/v1/tickets/{tid}/status", json={"status": "open"})).status_code == 409
    edit = await api.http.patch(f"/api/v1/tickets/{tid}", json={"subject": "late edit"})
    assert edit.status_code == 409 and edit.json()["error"]["message"] == "ticket #1001 is closed: it cannot be edited"
    statuses = [(d["from"], d["to"]) for kind, d, _ in await _timeline(api, tid) if kind == "status"]
    assert statuses == [("new", "open"), ("open", "pending"), ("pending", "on_hold"), ("on_hold", "solved"),
                        ("solved", "closed")]  # fmt: skip


async def test_every_change_is_one_timeline_entry_with_from_and_to(api: World) -> None:
    agent = await api.user(Role.AGENT, "小王")
    team = (await api.http.post("/api/v1/teams", json={"name": "售后"})).json()
    await api.http.post("/api/v1/tickets/fields", json={"key": "order_no", "label": "订单号", "type": "text"})
    tid = (await _ticket(api))["id"]
    changes = {"priority": "p1", "assignee_id": agent.id, "team_id": team["id"], "custom_fields": {"order_no": "A1"}}
    r = await api.http.patch(f"/api/v1/tickets/{tid}", json=changes)
    assert r.status_code == 200, r.text
    assert (r.json()["priority"], r.json()["custom_fields"]) == ("p1", {"order_no": "A1"})
    note = await api.http.post(f"/api/v1/tickets/{tid}/notes", json={"body": "已联系财务"})
    assert note.status_code == 201 and note.json()["body"] == "已联系财务"
    same = await api.http.patch(f"/api/v1/tickets/{tid}", json={"priority": "p1"})
    assert same.status_code == 200
    assert await _timeline(api, tid) == [
        ("created", {"number": 1001, "source": "api", "conversation_id": None}, "user"),
        ("priority", {"from": "p3", "to": "p1"}, "user"),
        ("assignee", {"from": None, "to": agent.id}, "user"),
        ("team", {"from": None, "to": team["id"]}, "user"),
        ("fields", {"changes": {"order_no": {"from": None, "to": "A1"}}}, "user"),
        ("note", {}, "user"),
    ]
    notes = (await api.http.get(f"/api/v1/tickets/{tid}/notes")).json()
    assert [(n["kind"], n["body"], n["actor_id"]) for n in notes] == [("note", "已联系财务", api.admin.id)]


async def test_link_and_unlink_conversations(api: World) -> None:
    _, conv = await api.conversation("第一次")
    _, other = await api.conversation("第二次")
    tid = (await _ticket(api, conversation_id=conv["id"]))["id"]
    linked = await api.http.post(f"/api/v1/tickets/{tid}/conversations", json={"conversation_id": other["id"]})
    assert linked.status_code == 200 and linked.json()["conversation_ids"] == sorted([conv["id"], other["id"]])
    twice = await api.http.post(f"/api/v1/tickets/{tid}/conversations", json={"conversation_id": other["id"]})
    assert twice.status_code == 409
    assert twice.json()["error"]["message"] == f"conversation {other['id']} is already linked to ticket #1001"
    gone = await api.http.delete(f"/api/v1/tickets/{tid}/conversations/{other['id']}")
    assert gone.status_code == 200 and gone.json()["conversation_ids"] == [conv["id"]]
    missing = await api.http.delete(f"/api/v1/tickets/{tid}/conversations/{other['id']}")
    assert missing.status_code == 404
    kinds = [(k, d) for k, d, _ in await _timeline(api, tid) if k in ("linked", "unlinked")]
    assert kinds == [("linked", {"conversation_id": other["id"], "reason": "manual"}),
                     ("unlinked", {"conversation_id": other["id"]})]  # fmt: skip


async def test_custom_fields_are_validated_and_nothing_is_half_saved(api: World) -> None:
    for body in (
        {"key": "order_no", "label": "订单号", "type": "text", "required": True},
        {"key": "channel", "label": "渠道", "type": "select", "options": ["app", "web"]},
        {"key": "amount", "label": "金额", "type": "number"},
    ):
        r = await api.http.post("/api/v1/tickets/fields", json=body)
        assert r.status_code == 201, r.text
    dup = await api.http.post("/api/v1/tickets/fields", json={"key": "amount", "label": "x", "type": "number"})
    assert (
        dup.status_code == 409 and dup.json()["error"]["message"] == "a custom field with the key amount already exists"
    )
    bad_def = await api.http.post("/api/v1/tickets/fields", json={"key": "kind", "label": "类型", "type": "select"})
    assert bad_def.status_code == 422 and "a select field needs at least one option" in bad_def.text
    missing = await api.http.post("/api/v1/tickets", json={"subject": "x", "custom_fields": {"amount": 5}})
    assert missing.status_code == 422
    assert missing.json()["error"]["message"] == "custom fields: custom_fields.order_no: is required"
    wrong = await api.http.post(
        "/api/v1/tickets", json={"subject": "x", "custom_fields": {"order_no": "A", "channel": "phone"}}
    )
    assert wrong.json()["error"]["details"] == [
        {"field": "custom_fields.channel", "message": "must be one of: app, web"}
    ]
    assert (await api.http.get("/api/v1/tickets")).json()["items"] == []  # nothing half-saved
    ok = await _ticket(api, custom_fields={"order_no": "A", "channel": "app", "amount": 9.5})
    assert ok["number"] == 1001 and ok["custom_fields"] == {"order_no": "A", "channel": "app", "amount": 9.5}
    fields = (await api.http.get("/api/v1/tickets/fields")).json()
    assert [(f["key"], f["type"], f["options"], f["required"]) for f in fields] == [
        ("order_no", "text", [], True), ("channel", "select", ["app", "web"], False), ("amount", "number", [], False)
    ]  # fmt: skip


async def test_bad_input_is_a_4xx_that_says_what_is_wrong(api: World) -> None:
    _, conv = await api.conversation("你好")
    async with new_account(api.server) as b:
        _, b_conv = await b.conversation("B")
        foreign = await api.http.post("/api/v1/tickets", json={"subject": "x", "conversation_id": b_conv["id"]})
        assert foreign.status_code == 404
        assert foreign.json()["error"]["message"] == f"conversation {b_conv['id']} not found"
    other_contact = await api.http.post(
        "/api/v1/tickets", json={"subject": "x", "conversation_id": conv["id"], "contact_id": 2**40}
    )
    assert other_contact.status_code == 400
    assert (await api.http.post("/api/v1/tickets", json={"subject": "   "})).status_code == 422
    assert (await api.http.post("/api/v1/tickets", json={"subject": "x", "priority": "p9"})).status_code == 422
    assert (await api.http.post("/api/v1/tickets", json={"subject": "x", "status": "open"})).status_code == 422
    assert (await api.http.post("/api/v1/tickets", json={"subject": "x", "team_id": 2**40})).status_code == 404
    assert (await api.http.get("/api/v1/tickets")).json()["items"] == []
    tid = (await _ticket(api))["id"]
    assert (await api.http.patch(f"/api/v1/tickets/{tid}", json={})).status_code == 400
    assert (await api.http.patch(f"/api/v1/tickets/{tid}", json={"subject": None})).status_code == 422
    assert (await api.http.post(f"/api/v1/tickets/{tid}/status", json={"status": "reopened"})).status_code == 422
    assert (await api.http.post(f"/api/v1/tickets/{tid}/notes", json={"body": ""})).status_code == 422
    assert await _timeline(api, tid) == [
        ("created", {"number": 1001, "source": "api", "conversation_id": None}, "user")
    ]


async def test_search_and_saved_views(api: World) -> None:
    visitor, conv = await api.conversation("hi")
    await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"name": "张三丰"})
    refund = await _ticket(api, subject="退款未到账", description="支付宝 100% 退款", priority="p1")
    invoice = await _ticket(api, subject="Invoice title wrong", conversation_id=conv["id"])
    await api.http.post(f"/api/v1/tickets/{invoice['id']}/status", json={"status": "open"})

    async def ids(**params: Any) -> list[int]:
        r = await api.http.get("/api/v1/tickets", params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert await ids(q="退款") == [refund["id"]]
    assert await ids(q="invoice") == [invoice["id"]]  # case-insensitive
    assert await ids(q="100%") == [refund["id"]]  # % is a character, not a wildcard
    assert await ids(q="0%") == [refund["id"]]
    assert await ids(q="_") == []
    assert await ids(q="#1002") == [invoice["id"]] and await ids(q="1001") == [refund["id"]]
    assert await ids(q="张三") == [invoice["id"]]  # the contact's name
    assert await ids(status="open") == [invoice["id"]] and await ids(priority="p1") == [refund["id"]]
    assert await ids() == [invoice["id"], refund["id"]]  # most recently updated first
    view = await api.http.post("/api/v1/tickets/views", json={"name": "紧急", "filters": {"priority": "p1"}})
    assert view.status_code == 201 and view.json()["filters"] == {"priority": "p1"}
    assert await ids(view_id=view.json()["id"]) == [refund["id"]]
    assert await ids(view_id=view.json()["id"], q="invoice") == []
    dup = await api.http.post("/api/v1/tickets/views", json={"name": "紧急"})
    assert dup.status_code == 409
    bad = await api.http.post("/api/v1/tickets/views", json={"name": "x", "filters": {"status": "nope"}})
    assert bad.status_code == 422
    agent = await api.user(Role.AGENT)
    assert (await agent.client.get("/api/v1/tickets/views")).json() == []  # views are per user
    assert (await agent.client.get("/api/v1/tickets", params={"view_id": view.json()["id"]})).status_code == 404
    assert (await agent.client.delete(f"/api/v1/tickets/views/{view.json()['id']}")).status_code == 404
    assert (await api.http.delete(f"/api/v1/tickets/views/{view.json()['id']}")).status_code == 204
    assert (await api.http.get("/api/v1/tickets/views")).json() == []


async def test_agents_see_tickets_of_their_teams_no_team_or_their_own(api: World) -> None:
    agent = await api.user(Role.AGENT, "A")
    mine = (await api.http.post("/api/v1/teams", json={"name": "mine", "member_ids": [agent.id]})).json()
    theirs = (await api.http.post("/api/v1/teams", json={"name": "theirs"})).json()
    open_t = await _ticket(api, subject="no team")
    team_t = await _ticket(api, subject="my team", team_id=mine["id"])
    hidden = await _ticket(api, subject="their team", team_id=theirs["id"])
    assigned = await _ticket(api, subject="assigned", team_id=theirs["id"], assignee_id=agent.id)
    seen = [t["id"] for t in (await agent.client.get("/api/v1/tickets")).json()["items"]]
    assert seen == [assigned["id"], team_t["id"], open_t["id"]]
    assert (await agent.client.get(f"/api/v1/tickets/{hidden['id']}")).status_code == 404
    r = await agent.client.post(f"/api/v1/tickets/{hidden['id']}/notes", json={"body": "x"})
    assert r.status_code == 404
    assert (await api.http.get(f"/api/v1/tickets/{hidden['id']}")).status_code == 200  # admins see all
    denied = await agent.client.post("/api/v1/tickets/fields", json={"key": "k", "label": "k", "type": "text"})
    assert denied.status_code == 403 and (await api.http.get("/api/v1/tickets/fields")).json() == []


async def test_settings_of_the_repeat_window(api: World) -> None:
    assert (await api.http.get("/api/v1/tickets/settings")).json() == {"repeat_window_days": 7}
    r = await api.http.put("/api/v1/tickets/settings", json={"repeat_window_days": 14})
    assert r.status_code == 200 and r.json() == {"repeat_window_days": 14}
    bad = await api.http.put("/api/v1/tickets/settings", json={"repeat_window_days": 0})
    assert bad.status_code == 422
    assert (await api.http.get("/api/v1/tickets/settings")).json() == {"repeat_window_days": 14}


async def test_supervisors_delete_a_ticket_agents_cannot(api: World) -> None:
    _, conv = await api.conversation("你好")
    tid = (await _ticket(api, conversation_id=conv["id"]))["id"]
    agent = await api.user(Role.AGENT)
    denied = await agent.client.delete(f"/api/v1/tickets/{tid}")
    assert denied.status_code == 403 and (await api.http.get(f"/api/v1/tickets/{tid}")).status_code == 200
    supervisor = await api.user(Role.SUPERVISOR)
    assert (await supervisor.client.delete(f"/api/v1/tickets/{tid}")).status_code == 204
    assert (await api.http.get(f"/api/v1/tickets/{tid}")).status_code == 404
    assert (await api.http.get(f"/api/v1/tickets/{tid}/timeline")).status_code == 404
    assert (await api.http.get(f"/api/v1/conversations/{conv['id']}")).status_code == 200  # the conversation stays
    events = (await api.http.get("/api/v1/events", params={"type": "ticket.status_changed"})).json()
    last = [(e["payload"]["id"], e["payload"]["status"], e["payload"]["previous_status"]) for e in events
            if e["payload"].get("deleted")]  # fmt: skip
    assert last == [(tid, "closed", "new")]  # its life ends: SLA clocks stop
    assert (await supervisor.client.delete(f"/api/v1/tickets/{tid}")).status_code == 404
