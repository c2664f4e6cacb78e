"""A user of account A can never read or change anything of account B — for every endpoint.

The endpoints come from the app's own OpenAPI document, so a new endpoint with an id in its path is
covered automatically (or fails here until its id is mapped below).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from sqlalchemy import func, select

from kefu.attachments.models import Attachment
from kefu.bot.demo import order_flow_definition
from kefu.core.constants import Role
from kefu.core.eventlog import Event
from kefu.core.listeners_models import DeadLetter, DeadLetterStatus
from kefu.webhooks.models import WebhookDelivery
from tests.support.factories import World, new_account

# Path parameter → which of B's resources to aim at.
PARAM_TO_RESOURCE = {
    "conv_id": "conversation",
    "user_id": "user",
    "team_id": "team",
    "inbox_id": "inbox",
    "contact_id": "contact",
    "token_id": "token",
    "label": "label",
    "faq_id": "faq",
    "article_id": "article",
    "intent_id": "intent",
    "flow_id": "flow",
    "version": "version",
    "attachment_id": "attachment",
    "signature": "signature",
    "letter_id": "dead_letter",
    "policy_id": "sla_policy",
    "calendar_id": "sla_calendar",
    "day_id": "sla_day",
    "ticket_id": "ticket",
    "field_id": "ticket_field",
    "view_id": "ticket_view",
    "skill_id": "skill",
    "requirement_id": "requirement",
    "rule_id": "rule",
    "message_id": "message",
    "webhook_id": "webhook",
    "delivery_id": "webhook_delivery",
    "identity_id": "identity",
}
# Public endpoints addressed by a public key or serving demo data: not account-scoped by id.
PUBLIC_PREFIXES = ("/api/v1/widget/", "/api/v1/help/", "/api/v1/demo/")
# A valid body for each write, so validation passes and the ownership check is what answers.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/conversations/{conv_id}/messages"): {"content": "intrusion"},
    ("post", "/api/v1/conversations/{conv_id}/assignment"): {"assignee_id": None},
    ("post", "/api/v1/conversations/{conv_id}/status"): {"status": "resolved"},
    ("put", "/api/v1/conversations/{conv_id}/labels"): {"labels": ["x"]},
    ("post", "/api/v1/conversations/{conv_id}/labels"): {"label": "x"},
    ("post", "/api/v1/conversations/{conv_id}/typing"): {"typing": True},
    ("patch", "/api/v1/conversations/{conv_id}"): {"priority": "p1"},
    ("patch", "/api/v1/users/{user_id}"): {"name": "hacked"},
    ("patch", "/api/v1/teams/{team_id}"): {"name": "hacked"},
    ("patch", "/api/v1/inboxes/{inbox_id}"): {"name": "hacked"},
    ("patch", "/api/v1/contacts/{contact_id}"): {"name": "hacked"},
    ("patch", "/api/v1/knowledge/faqs/{faq_id}"): {"answer": "hacked"},
    ("patch", "/api/v1/knowledge/articles/{article_id}"): {"body": "hacked"},
    ("patch", "/api/v1/bot/intents/{intent_id}"): {"description": "hacked"},
    ("post", "/api/v1/bot/intents/{intent_id}/examples"): {"examples": ["hacked example"]},
    ("patch", "/api/v1/bot/flows/{flow_id}"): {"enabled": False},
    ("patch", "/api/v1/sla/policies/{policy_id}"): {"warn_fraction": 0.5},
    ("patch", "/api/v1/sla/calendars/{calendar_id}"): {"name": "hacked"},
    ("post", "/api/v1/sla/calendars/{calendar_id}/days"): {"day": "2026-12-25", "kind": "holiday"},
    ("patch", "/api/v1/tickets/{ticket_id}"): {"subject": "hacked"},
    ("post", "/api/v1/tickets/{ticket_id}/status"): {"status": "closed"},
    ("post", "/api/v1/tickets/{ticket_id}/notes"): {"body": "intrusion"},
    ("post", "/api/v1/tickets/{ticket_id}/conversations"): {"conversation_id": 1},
    ("patch", "/api/v1/routing/skills/{skill_id}"): {"name": "hacked"},
    ("patch", "/api/v1/routing/agents/{user_id}"): {"capacity": 1},
    ("post", "/api/v1/conversations/{conv_id}/transfer"): {"to_user_id": 1, "reason": "intrusion"},
    ("post", "/api/v1/routing/queue/{conv_id}/reassign"): {"user_id": 1},
    ("patch", "/api/v1/automation/rules/{rule_id}"): {"name": "hacked"},
    ("patch", "/api/v1/webhooks/{webhook_id}"): {"active": True},
    ("post", "/api/v1/contacts/{contact_id}/identities"): {"kind": "external_id", "value": "intrusion"},
    ("post", "/api/v1/contacts/{contact_id}/merge"): {"other_id": 1},
    ("post", "/api/v1/contacts/{contact_id}/split"): {"merge_id": 1},
}


async def _resources(b: World) -> dict[str, Any]:
    agent = await b.user(Role.AGENT)
    visitor, conv = await b.conversation("B's secret")
    await b.http.post(f"/api/v1/conversations/{conv['id']}/labels", json={"label": "vip"})
    team = (await b.http.post("/api/v1/teams", json={"name": "B team"})).json()
    token = (await b.http.post("/api/v1/api_tokens", json={"name": "B token"})).json()
    faq = await b.http.post(
        "/api/v1/knowledge/faqs", json={"question": "B 的问题", "answer": "B 的答案", "status": "published"}
    )
    article = await b.http.post("/api/v1/knowledge/articles", json={"title": "B article", "body": "B body"})
    flow = await b.http.post(
        "/api/v1/bot/flows", json={"name": "b_orders", "definition": order_flow_definition(b.server.base_url)}
    )
    intent = await b.http.post("/api/v1/bot/intents", json={"name": "b_intent", "examples": ["B 的例子", "b example"]})
    upload = await b.http.post("/api/v1/attachments", files={"file": ("b.txt", b"B's file", "text/plain")})
    ticket = await b.http.post("/api/v1/tickets", json={"subject": "B's ticket", "conversation_id": conv["id"]})
    field = await b.http.post("/api/v1/tickets/fields", json={"key": "b_field", "label": "B", "type": "text"})
    view = await b.http.post("/api/v1/tickets/views", json={"name": "B view", "filters": {"status": "new"}})
    skill = await b.http.post("/api/v1/routing/skills", json={"name": "b_skill"})
    requirement = await b.http.post(
        "/api/v1/routing/requirements", json={"kind": "label", "value": "vip", "skill": "b_skill"}
    )
    rule = await b.http.post(
        "/api/v1/automation/rules",
        json={"name": "B rule", "event_type": "message.created", "actions": [{"type": "add_label", "label": "b"}]},
    )
    for r in (faq, article, flow, intent, upload, ticket, field, view, skill, requirement, rule):
        assert r.status_code == 201, r.text
    await _sla_settled(b, conv["id"])
    message = (await b.http.get(f"/api/v1/conversations/{conv['id']}/messages")).json()[0]
    return {
        "message": message["id"],
        **await _sla_resources(b),
        "ticket": ticket.json()["id"],
        "ticket_field": field.json()["id"],
        "ticket_view": view.json()["id"],
        "skill": skill.json()["id"],
        "requirement": requirement.json()["id"],
        "dead_letter": await _dead_letter(b),
        "attachment": upload.json()["id"],
        "conversation": conv["id"],
        "user": agent.id,
        "team": team["id"],
        "inbox": conv["inbox_id"],
        "contact": visitor.contact_id,
        "identity": (await b.http.get(f"/api/v1/contacts/{visitor.contact_id}/identities")).json()[0]["id"],
        "token": token["id"],
        "label": "vip",
        "faq": faq.json()["id"],
        "article": article.json()["id"],
        "flow": flow.json()["id"],
        "intent": intent.json()["id"],
        "rule": rule.json()["id"],
        **await _webhook_resources(b),
        "version": 1,  # B's entries have a version 1; the entry id makes it B's
    }


async def _webhook_resources(b: World) -> dict[str, int]:
    """B's webhook (off, so nothing is delivered meanwhile) and a delivery of it that failed."""
    assert (await b.http.put("/api/v1/account/outbound_hosts", json={"hosts": ["127.0.0.1:9"]})).status_code == 200
    body = {"url": "http://127.0.0.1:9/b", "events": ["message.created"], "active": False}
    hook = (await b.http.post("/api/v1/webhooks", json=body)).json()
    async with b.server.state.sessionmaker() as session:
        event_id = (await session.execute(select(func.max(Event.id)).where(Event.account_id == b.account_id))).scalar()
        delivery = WebhookDelivery(
            account_id=b.account_id, webhook_id=hook["id"], uid=str(uuid.uuid4()), event_id=event_id,
            event_type="message.created", status="failed", attempts=7,
        )  # fmt: skip
        session.add(delivery)
        await session.commit()
        return {"webhook": hook["id"], "webhook_delivery": delivery.id}


async def _sla_settled(b: World, conv_id: int) -> None:
    """Wait until the SLA listener has timed B's conversation (it sets sla_due_at after the commit), so the
    snapshots before and after compare settled rows."""
    for _ in range(100):
        if (await b.http.get(f"/api/v1/conversations/{conv_id}")).json()["sla_due_at"] is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the SLA listener never timed B's conversation")


async def _sla_resources(b: World) -> dict[str, int]:
    """B's SLA calendar (with a holiday) and a policy on it."""
    week = {"mon": [{"start": "09:00", "end": "18:00"}]}
    cal = (await b.http.post("/api/v1/sla/calendars", json={"name": "B hours", "week": week})).json()
    day = (
        await b.http.post(f"/api/v1/sla/calendars/{cal['id']}/days", json={"day": "2026-10-01", "kind": "holiday"})
    ).json()
    body = {"priority": "p1", "first_response_min": 5, "next_response_min": 5, "resolution_min": 60}
    policy = (await b.http.post("/api/v1/sla/policies", json={**body, "calendar_id": cal["id"]})).json()
    return {"sla_calendar": cal["id"], "sla_day": day["id"], "sla_policy": policy["id"]}


async def _dead_letter(b: World) -> int:
    """A dead letter of B's (an event listener gave up on one of B's events)."""
    async with b.server.state.sessionmaker() as session:
        event_id = (await session.execute(select(func.max(Event.id)).where(Event.account_id == b.account_id))).scalar()
        letter = DeadLetter(
            listener="b.sync", event_id=event_id, account_id=b.account_id, attempts=5, last_error="B's error",
            status=DeadLetterStatus.DEAD,
        )  # fmt: skip
        session.add(letter)
        await session.commit()
        return letter.id


async def _snapshot(b: World, ids: dict[str, Any]) -> list[Any]:
    paths = [
        f"/api/v1/conversations/{ids['conversation']}",
        f"/api/v1/conversations/{ids['conversation']}/messages",
        f"/api/v1/users/{ids['user']}",
        f"/api/v1/teams/{ids['team']}",
        f"/api/v1/inboxes/{ids['inbox']}",
        f"/api/v1/contacts/{ids['contact']}",
        f"/api/v1/contacts/{ids['contact']}/identities",
        f"/api/v1/contacts/{ids['contact']}/merges",
        "/api/v1/api_tokens",
        f"/api/v1/knowledge/faqs/{ids['faq']}",
        f"/api/v1/knowledge/articles/{ids['article']}",
        f"/api/v1/bot/flows/{ids['flow']}",
        f"/api/v1/bot/intents/{ids['intent']}",
        f"/api/v1/sla/policies/{ids['sla_policy']}",
        f"/api/v1/sla/calendars/{ids['sla_calendar']}",
        f"/api/v1/tickets/{ids['ticket']}",
        f"/api/v1/tickets/{ids['ticket']}/timeline",
        "/api/v1/tickets/fields",
        "/api/v1/tickets/views",
        "/api/v1/routing/skills",
        "/api/v1/routing/requirements",
        "/api/v1/routing/agents",
        f"/api/v1/conversations/{ids['conversation']}/transfers",
        f"/api/v1/automation/rules/{ids['rule']}",
        f"/api/v1/automation/runs?rule_id={ids['rule']}",
        f"/api/v1/webhooks/{ids['webhook']}",
        f"/api/v1/webhooks/{ids['webhook']}/deliveries",
    ]
    async with b.server.state.sessionmaker() as session:
        stored = await session.get(Attachment, ids["attachment"])
        assert stored is not None and stored.size == len(b"B's file")
        letter = await session.get(DeadLetter, ids["dead_letter"])
        assert letter is not None and (letter.status, letter.attempts) == (DeadLetterStatus.DEAD, 5)
    return [(await b.http.get(p)).json() for p in paths]


async def _settled_snapshot(b: World, ids: dict[str, Any]) -> list[Any]:
    """B's rows once the background work on them (durable listeners: routing queues B's conversation) is
    done: the same snapshot twice, a second apart."""
    last = await _snapshot(b, ids)
    for _ in range(20):
        await asyncio.sleep(1.0)
        now = await _snapshot(b, ids)
        if now == last:
            return now
        last = now
    return last


async def test_every_endpoint_with_an_id_answers_404_for_another_accounts_rows(api: World) -> None:
    async with new_account(api.server) as b:
        ids = await _resources(b)
        # A download URL is its own credential: aim A's own valid signature at B's attachment.
        mine = await api.http.post("/api/v1/attachments", files={"file": ("a.txt", b"A's file", "text/plain")})
        ids["signature"] = mine.json()["url"].rsplit("/", 1)[1]
        before = await _settled_snapshot(b, ids)
        spec = (await api.http.get("/api/v1/openapi.json")).json()
        checked = 0
        for path, ops in spec["paths"].items():
            params = re.findall(r"{(\w+)}", path)
            if not params or not path.startswith("/api/v1/") or path.startswith(PUBLIC_PREFIXES):
                continue
            for method in ops:
                unmapped = [p for p in params if p not in PARAM_TO_RESOURCE]
                assert not unmapped, f"map {unmapped} of {method.upper()} {path} in PARAM_TO_RESOURCE"
                url = path
                for p in params:
                    url = url.replace("{" + p + "}", str(ids[PARAM_TO_RESOURCE[p]]))
                body = BODIES.get((method, path))
                r = await api.http.request(method.upper(), url, json=body)
                assert r.status_code == 404, f"{method.upper()} {path} → {r.status_code} {r.text}"
                checked += 1
        assert checked >= 40
        assert await _snapshot(b, ids) == before


async def test_lists_never_show_another_accounts_rows(api: World) -> None:
    async with new_account(api.server) as b:
        ids = await _resources(b)
        await api.conversation("A's own")
        convs = (await api.http.get("/api/v1/conversations", params={"status": "all"})).json()["items"]
        assert ids["conversation"] not in [c["id"] for c in convs] and len(convs) == 1
        for path, key in [
            ("/api/v1/users", "user"),
            ("/api/v1/teams", "team"),
            ("/api/v1/inboxes", "inbox"),
            ("/api/v1/api_tokens", "token"),
        ]:
            assert ids[key] not in [row["id"] for row in (await api.http.get(path)).json()], path
        for path, key in [
            ("/api/v1/bot/intents", "intent"),
            ("/api/v1/bot/flows", "flow"),
            ("/api/v1/automation/rules", "rule"),
        ]:
            assert ids[key] not in [row["id"] for row in (await api.http.get(path)).json()], path
        for path, key in [("/api/v1/knowledge/faqs", "faq"), ("/api/v1/knowledge/articles", "article")]:
            assert ids[key] not in [row["id"] for row in (await api.http.get(path)).json()["items"]], path
        assert (await api.http.get("/api/v1/knowledge/search", params={"q": "B 的问题"})).json() == []
        assert (await api.http.get("/api/v1/tickets", params={"q": "B"})).json()["items"] == []
        assert (await api.http.get("/api/v1/tickets/fields")).json() == []
        assert (await api.http.get("/api/v1/tickets/views")).json() == []
        contacts = (await api.http.get("/api/v1/contacts")).json()["items"]
        assert ids["contact"] not in [c["id"] for c in contacts]
        events = (await api.http.get("/api/v1/events", params={"limit": 500})).json()
        assert {e["account_id"] for e in events} == {api.account_id}
        labelled = (await api.http.get("/api/v1/conversations", params={"label": "vip", "status": "all"})).json()
        assert labelled["items"] == []


async def test_widget_token_of_account_b_cannot_reach_account_a(api: World) -> None:
    async with new_account(api.server) as b:
        visitor_b, _ = await b.conversation("hello from B")
        inbox_a = await api.inbox()
        r = await visitor_b.client.get(f"/api/v1/widget/{inbox_a['public_key']}/messages", headers=visitor_b.headers)
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "this contact token belongs to another inbox"
