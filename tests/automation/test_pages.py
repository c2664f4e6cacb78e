"""Admin → Automation pages over HTTP (both databases): the editor creates and edits a rule, a refused form
saves nothing and says why, enable/disable, order and delete; the run log; the form's pure parsing."""

from __future__ import annotations

from typing import Any

from kefu.automation.form import form_of, rule_body
from kefu.core.constants import Role
from tests.support.factories import World
from tests.web.conftest import login

FORM: dict[str, Any] = {
    "name": "Refund label",
    "event_type": "message.created",
    "match": "all",
    "c0_field": "message.content",
    "c0_op": "contains",
    "c0_value": "退款",
    "c1_field": "contact.tier",
    "c1_op": "in",
    "c1_value": "vip， gold",
    "c2_field": "",
    "a0_type": "add_label",
    "a0_text": "refund",
    "a1_type": "set_priority",
    "a1_priority": "p2",
    "enabled": "on",
}


def test_form_to_body_and_back() -> None:
    body = rule_body({k: str(v) for k, v in FORM.items()})
    assert body == {
        "name": "Refund label",
        "event_type": "message.created",
        "match": "all",
        "conditions": [
            {"field": "message.content", "op": "contains", "value": "退款"},
            {"field": "contact.tier", "op": "in", "value": ["vip", "gold"]},
        ],
        "actions": [{"type": "add_label", "label": "refund"}, {"type": "set_priority", "priority": "p2"}],
        "enabled": True,
    }
    back = form_of(body)
    assert (back["c1_value"], back["a0_text"], back["a1_priority"], back["enabled"]) == (
        "vip, gold",
        "refund",
        "p2",
        True,
    )
    numbers = rule_body({"c0_field": "conversation.inbox_id", "c0_op": "gte", "c0_value": "3", "a0_type": "escalate"})
    assert numbers["conditions"] == [{"field": "conversation.inbox_id", "op": "gte", "value": 3}]
    assert numbers["actions"] == [{"type": "escalate"}]
    flags = rule_body(
        {
            "c0_field": "contact.churn_risk",
            "c0_op": "eq",
            "c0_value": "true",
            "a0_type": "notify",
            "a0_agent": "7",
            "a0_text": "hi",
        }
    )
    assert flags["conditions"][0]["value"] is True
    assert flags["actions"] == [{"type": "notify", "user_ids": [7], "team_id": None, "text": "hi"}]


async def _rules(api: World) -> list[dict[str, Any]]:
    return (await api.http.get("/api/v1/automation/rules")).json()  # type: ignore[no-any-return]


async def test_the_editor_creates_edits_toggles_orders_and_deletes(api: World) -> None:
    browser = await login(api, api.admin)
    r = await browser.http.get("/admin/automation/new")
    assert r.status_code == 200 and 'id="rule-form"' in r.text
    r = await browser.post_form("/admin/automation/new", FORM)
    assert r.status_code == 303 and r.headers["location"] == "/admin/automation?saved=1"
    (rule,) = await _rules(api)
    assert rule["conditions"][1] == {"field": "contact.tier", "op": "in", "value": ["vip", "gold"]}
    r = await browser.post_form("/admin/automation/new", {**FORM, "name": "Second", "a1_type": ""})
    assert r.status_code == 303
    page = await browser.http.get("/admin/automation")
    assert page.text.index("Refund label") < page.text.index("Second")
    r = await browser.post_form(f"/admin/automation/{rule['id']}/move", {"step": "down"})
    assert r.status_code == 303
    assert [x["name"] for x in await _rules(api)] == ["Second", "Refund label"]
    r = await browser.post_form(f"/admin/automation/{rule['id']}/enabled", {})
    assert r.status_code == 303
    assert [x["enabled"] for x in await _rules(api)] == [True, False]
    r = await browser.post_form(f"/admin/automation/{rule['id']}", {**FORM, "name": "Renamed", "match": "any"})
    assert r.status_code == 303
    edited = (await api.http.get(f"/api/v1/automation/rules/{rule['id']}")).json()
    assert (edited["name"], edited["match"], edited["enabled"]) == ("Renamed", "any", True)
    r = await browser.http.get(f"/admin/automation/{rule['id']}")
    assert r.status_code == 200 and 'value="Renamed"' in r.text
    r = await browser.post_form(f"/admin/automation/{rule['id']}/delete", {})
    assert r.status_code == 303
    assert [x["name"] for x in await _rules(api)] == ["Second"]
    r = await browser.http.get("/admin/automation/runs")
    assert r.status_code == 200 and 'id="runs"' in r.text


async def test_a_refused_form_says_why_and_saves_nothing(api: World) -> None:
    browser = await login(api, api.admin)
    r = await browser.post_form("/admin/automation/new", {**FORM, "a0_type": "assign_team", "a0_team": "987654321"})
    assert r.status_code == 404
    assert "team 987654321 not found" in r.text and 'value="Refund label"' in r.text
    r = await browser.post_form("/admin/automation/new", {**FORM, "c0_op": "gt"})
    assert r.status_code == 422
    assert "message.content gt: needs a number field and a number value" in r.text
    assert await _rules(api) == []


async def test_agents_get_the_403_page(api: World) -> None:
    agent = await api.user(Role.AGENT)
    browser = await login(api, agent)
    r = await browser.http.get("/admin/automation")
    assert r.status_code == 403


async def test_the_sidebar_shows_segment_reasons_and_churn_flag_in_each_language(api: World) -> None:
    visitor, conv = await api.conversation()
    r = await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"attributes": {"revenue": 20000}})
    assert r.status_code == 200, r.text
    r = await api.http.post(f"/api/v1/contacts/{visitor.contact_id}/tier/recompute")
    assert r.json()["segment"] == "strategic"
    browser = await login(api, api.admin)
    expected = {
        "zh_CN": ("战略客户", "高价值（20000）", "使用单一渠道（web_widget）", "新客户"),
        "zh_TW": ("戰略客戶", "高價值（20000）", "使用單一管道（web_widget）", "新客戶"),
        "en": ("Strategic", "High value (20000)", "Uses one channel (web_widget)", "New customer"),
    }
    for lang, (segment, *reasons) in expected.items():
        r = await browser.http.get(f"/app/c/{conv['id']}/side", params={"lang": lang})
        assert r.status_code == 200, r.text
        side = r.text
        assert f'<span class="badge tier-strategic">{segment}</span>' in side, side
        assert [f"<li>{x}</li>" in side for x in reasons] == [True, True, True]
        assert 'id="churn-flag"' not in side


async def test_the_sidebar_flags_a_customer_gone_quiet(api: World) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from kefu.conversations.models import Conversation
    from kefu.core import clock

    visitor, conv = await api.conversation()
    r = await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"attributes": {"revenue": 10}})
    assert r.status_code == 200, r.text
    async with api.server.state.sessionmaker() as session:
        long_ago = clock.now() - timedelta(days=120)
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conv["id"])
            .values(created_at=long_ago - timedelta(days=1), last_activity_at=long_ago)
        )
        await session.commit()
    r = await api.http.post(f"/api/v1/contacts/{visitor.contact_id}/tier/recompute")
    assert (r.json()["segment"], r.json()["churn_risk"]) == ("potential", True)  # flagged, not worth a segment
    browser = await login(api, api.admin)
    for lang, flag, quiet in [
        ("zh_CN", "流失风险", "已 120 天没有联系"),
        ("zh_TW", "流失風險", "已 120 天沒有聯繫"),
        ("en", "Churn risk", "No contact for 120 days"),
    ]:
        side = (await browser.http.get(f"/app/c/{conv['id']}/side", params={"lang": lang})).text
        assert f'id="churn-flag" title="{flag}">⚠ {flag}</span>' in side, side
        assert f"<li>{quiet}</li>" in side
