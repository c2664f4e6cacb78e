"""The urgency × importance priority matrix: the pure decision on exact inputs, then the configuration API
and the assess endpoint on real rows (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.core.constants import ActorType, EventType, Priority
from kefu.core.events import Actor, commit, emit
from kefu.routing.priority import Customer, MessageSignals, decide
from kefu.routing.priority_config import Matrix, PriorityConfig, UrgencyRules, config_of
from tests.conversations.test_query_counts import listeners_idle

DEFAULT = PriorityConfig()


def test_default_matrix_cells() -> None:
    urgent = MessageSignals("我的退款失败了，怎么办")
    calm = MessageSignals("请问营业时间")
    vip, normal = Customer(tier="vip"), Customer()
    assert decide(DEFAULT, urgent, vip) == ("p1", ["urgent: keyword 退款失败", "important: tier vip"])
    assert decide(DEFAULT, urgent, normal) == ("p2", ["urgent: keyword 退款失败"])
    assert decide(DEFAULT, calm, vip) == ("p2", ["important: tier vip"])
    assert decide(DEFAULT, calm, normal) == ("p3", [])


def test_traditional_and_case_fold_before_keywords() -> None:
    assert decide(DEFAULT, MessageSignals("退款失敗了!!"), Customer()) == ("p2", ["urgent: keyword 退款失败"])
    assert decide(DEFAULT, MessageSignals("PAYMENT FAILED again"), Customer()) == (
        "p2",
        ["urgent: keyword payment failed"],
    )


def test_bot_intent_and_nlp_flags() -> None:
    config = PriorityConfig(urgency=UrgencyRules(keywords=[], intents=["payment_failure"]))
    signals = MessageSignals("hello", intent="payment_failure", anger=True, urgency=True)
    assert decide(config, signals, Customer()) == (
        "p2",
        ["urgent: intent payment_failure", "urgent: anger", "urgent: urgency"],
    )
    off = PriorityConfig(urgency=UrgencyRules(keywords=[], intents=[], anger=False, urgency=False))
    assert decide(off, signals, Customer()) == ("p3", [])
    assert decide(config, MessageSignals("hello", intent="order_status"), Customer()) == ("p3", [])


def test_importance_by_segment_and_value_attribute() -> None:
    calm = MessageSignals("hi")
    assert decide(DEFAULT, calm, Customer(segment="strategic")) == ("p2", ["important: segment strategic"])
    assert decide(DEFAULT, calm, Customer(segment="potential")) == ("p3", [])
    assert decide(DEFAULT, calm, Customer(attributes={"value": 12000})) == ("p2", ["important: value 12000 ≥ 10000"])
    assert decide(DEFAULT, calm, Customer(attributes={"value": "9,999.5"})) == ("p3", [])
    assert decide(DEFAULT, calm, Customer(attributes={"value": True})) == ("p3", [])
    both = Customer(tier="gold", segment="value", attributes={"value": "10000"})
    assert decide(DEFAULT, calm, both) == (
        "p2",
        ["important: tier gold", "important: segment value", "important: value 10000 ≥ 10000"],
    )


def test_custom_matrix() -> None:
    config = PriorityConfig(matrix=Matrix(urgent_important="p1", urgent="p1", important="p3", routine="p4"))
    assert decide(config, MessageSignals("hi"), Customer())[0] == "p4"
    assert decide(config, MessageSignals("系统宕机了"), Customer())[0] == "p1"


def test_config_of_falls_back_to_defaults() -> None:
    assert config_of(None) == DEFAULT
    assert config_of({"priority": {"matrix": {"routine": "p9"}}}) == DEFAULT
    assert config_of({"priority": {"matrix": {"routine": "p4"}}}).matrix.routine == Priority.P4


# ---- over HTTP ------------------------------------------------------------------------------------


async def test_config_defaults_save_and_reload(api: Any) -> None:
    r = await api.http.get("/api/v1/routing/priority")
    assert r.status_code == 200
    assert r.json() == DEFAULT.model_dump(mode="json")
    body = DEFAULT.model_dump(mode="json")
    body["matrix"]["routine"] = "p4"
    body["urgency"]["keywords"] = [" 投诉 ", "投诉", "", "outage"]
    r = await api.http.put("/api/v1/routing/priority", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["urgency"]["keywords"] == ["投诉", "outage"]
    again = await api.http.get("/api/v1/routing/priority")
    assert again.json()["matrix"]["routine"] == "p4"
    assert again.json()["urgency"]["keywords"] == ["投诉", "outage"]


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"matrix": {"routine": "p5"}}, 422, "matrix.routine"),
        ({"importance": {"segments": ["gold"]}}, 422, "unknown segment 'gold'"),
        ({"importance": {"tiers": ["platinum"]}}, 422, "importance.tiers.0"),
        ({"importance": {"value_threshold": -1}}, 422, "importance.value_threshold"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
async def test_bad_config_is_refused_and_nothing_saved(
    api: Any, change: dict[str, Any], status: int, needle: str
) -> None:
    r = await api.http.put("/api/v1/routing/priority", json=change)
    assert r.status_code == status, r.text
    assert needle in r.text
    assert (await api.http.get("/api/v1/routing/priority")).json() == DEFAULT.model_dump(mode="json")


async def test_unknown_intent_is_refused(api: Any) -> None:
    body = {"urgency": {"intents": ["payment_failure"]}}
    r = await api.http.put("/api/v1/routing/priority", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "unknown intent 'payment_failure' in urgency.intents (the bot's intents: none defined)"
    )
    created = await api.http.post("/api/v1/bot/intents", json={"name": "payment_failure", "examples": ["支付失败"]})
    assert created.status_code == 201, created.text
    ok = await api.http.put("/api/v1/routing/priority", json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["urgency"]["intents"] == ["payment_failure"]


async def test_agents_may_not_edit_the_matrix(api: Any) -> None:
    from kefu.core.constants import Role

    agent = await api.user(Role.AGENT)
    r = await agent.client.put("/api/v1/routing/priority", json={"matrix": {"routine": "p4"}})
    assert r.status_code == 403
    assert (await api.http.get("/api/v1/routing/priority")).json()["matrix"]["routine"] == "p3"


async def _events(api: Any, conv_id: int, type_: str) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/events", params={"conversation_id": conv_id, "type": type_})
    assert r.status_code == 200, r.text
    return [e for e in r.json() if e["type"] == type_]


async def test_assess_stores_priority_reasons_and_emits_once(api: Any) -> None:
    visitor, conv = await api.conversation("我的退款失败了")
    await listeners_idle(api)  # the queue's own assessment on entry (routing.queue) comes first
    conv = (await api.http.get(f"/api/v1/conversations/{conv['id']}")).json()
    before = len(await _events(api, conv["id"], "conversation.priority_changed"))
    contact = await api.http.patch(f"/api/v1/contacts/{visitor.contact_id}", json={"tier": "vip"})
    assert contact.status_code == 200, contact.text
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/priority/assess")
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == "p1"
    assert r.json()["priority_reasons"] == ["urgent: keyword 退款失败", "important: tier vip"]
    again = await api.http.post(f"/api/v1/conversations/{conv['id']}/priority/assess")
    assert again.json()["priority"] == "p1"
    changed = (await _events(api, conv["id"], "conversation.priority_changed"))[before:]
    assert len(changed) == 1
    assert changed[0]["payload"] == {
        "id": conv["id"],
        "priority": "p1",
        "previous": conv["priority"],
        "reasons": ["urgent: keyword 退款失败", "important: tier vip"],
    }
    read = await api.http.get(f"/api/v1/conversations/{conv['id']}")
    assert read.json()["priority_reasons"] == ["urgent: keyword 退款失败", "important: tier vip"]


async def test_assess_reads_the_bots_last_decision(api: Any) -> None:
    created = await api.http.post("/api/v1/bot/intents", json={"name": "outage", "examples": ["服务挂了"]})
    assert created.status_code == 201, created.text
    put = await api.http.put("/api/v1/routing/priority", json={"urgency": {"keywords": [], "intents": ["outage"]}})
    assert put.status_code == 200, put.text
    _, conv = await api.conversation("你们的服务是不是有问题")
    async with api.server.state.sessionmaker() as session:
        payload = {"action": "handoff", "reason": "intent", "scores": {"intent": "outage", "anger": True}}
        emit(
            session,
            api.account_id,
            EventType.BOT_DECIDED,
            payload,
            actor=Actor(ActorType.BOT),
            conversation_id=conv["id"],
        )
        await commit(session)
    r = await api.http.post(f"/api/v1/conversations/{conv['id']}/priority/assess")
    assert r.status_code == 200, r.text
    assert (r.json()["priority"], r.json()["priority_reasons"]) == ("p2", ["urgent: intent outage", "urgent: anger"])


async def test_assess_unknown_conversation_is_404(api: Any) -> None:
    r = await api.http.post("/api/v1/conversations/999999999/priority/assess")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "conversation 999999999 not found"


async def test_priority_page_saves_and_refuses(api: Any) -> None:
    r = await api.http.get("/admin/routing/priority")
    assert r.status_code == 200, r.text
    assert 'id="priority-form"' in r.text and 'id="no-intents"' in r.text
    form = {
        "urgent_important": "p1",
        "urgent": "p1",
        "important": "p3",
        "routine": "p4",
        "keywords": "退款失败\n 宕机 ",
        "anger": "1",
        "tiers": ["vip"],
        "segments": ["strategic"],
        "value_attribute": "ltv",
        "value_threshold": "",
    }
    saved = await api.http.post("/admin/routing/priority", data=form)
    assert saved.status_code == 303, saved.text
    config = (await api.http.get("/api/v1/routing/priority")).json()
    assert config["matrix"] == {"urgent_important": "p1", "urgent": "p1", "important": "p3", "routine": "p4"}
    assert config["urgency"] == {"keywords": ["退款失败", "宕机"], "intents": [], "anger": True, "urgency": False}
    assert config["importance"] == {
        "tiers": ["vip"],
        "segments": ["strategic"],
        "value_attribute": "ltv",
        "value_threshold": None,
    }
    bad = await api.http.post("/admin/routing/priority", data={**form, "value_threshold": "-1", "routine": "p3"})
    assert bad.status_code == 422
    assert "importance.value_threshold" in bad.text
    assert (await api.http.get("/api/v1/routing/priority")).json()["matrix"]["routine"] == "p4"
