"""The flow builder (/admin/bot/flows/new, /admin/bot/flows/{id}) over the live server: the form makes the
definition the JSON API stores, errors stand next to their fields in the UI language with what was typed
kept, the JSON view edits the same definition, and "Test it" calls the action through the bot's client."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from kefu.bot.demo import order_flow_definition
from tests.bot.httpserver import serve
from tests.support.factories import World

B = "/api/v1/bot"
HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def order_api() -> Iterator[str]:
    """A real order API on a loopback port."""
    with serve() as (base, _):
        yield base


@pytest.fixture
async def orders(api: World, order_api: str) -> str:
    """The order API, listed (host:port) in the account's outbound hosts as an admin would."""
    r = await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [urlsplit(order_api).netloc]})
    assert r.status_code == 200, r.text
    return order_api


def demo_form(base_url: str, **over: Any) -> dict[str, Any]:
    """The builder's fields for the demo order flow, as a person fills them in."""
    d = order_flow_definition(base_url)
    s = d["slots"][0]
    return {
        "view": "form",
        "name": "order_status",
        "enabled": "true",
        "description": d["description"],
        "slot_name": [s["name"]],
        "slot_entity": [s["entity"]],
        "slot_regex": [s["regex"]],
        "slot_prompt_zh": [s["prompt"]["zh"]],
        "slot_prompt_en": [s["prompt"]["en"]],
        "slot_retry_zh": [s["retry_prompt"]["zh"]],
        "slot_retry_en": [s["retry_prompt"]["en"]],
        "slot_sample": [""],
        "action_method": "GET",
        "action_url": d["action"]["url"],
        "action_timeout": "3",
        "reply_zh": d["reply"]["zh"],
        "reply_en": d["reply"]["en"],
        "not_found_zh": d["not_found_reply"]["zh"],
        "not_found_en": d["not_found_reply"]["en"],
        "max_retries": "2",
        **over,
    }


def field_error(key: str, message: str) -> str:
    return f'<span class="field-error" data-error-for="{key}">{message}</span>'


async def flows(api: World) -> list[dict[str, Any]]:
    return (await api.http.get(B + "/flows")).json()  # type: ignore[no-any-return]


async def test_the_form_saves_the_definition_exactly_as_the_json_api_stores_it(api: World) -> None:
    base = api.server.base_url
    r = await api.http.post("/admin/bot/flows", data=demo_form(base))
    assert r.status_code == 303, r.text
    [saved] = await flows(api)
    assert r.headers["location"] == f"/admin/bot/flows/{saved['id']}"
    by_api = await api.http.post(B + "/flows", json={"name": "same", "definition": order_flow_definition(base)})
    assert by_api.status_code == 201, by_api.text
    assert saved["definition"] == by_api.json()["definition"]
    assert (saved["name"], saved["enabled"]) == ("order_status", True)

    # Reopened, the form shows every value again.
    page = html.unescape((await api.http.get(r.headers["location"])).text)
    d = order_flow_definition(base)
    for name, value in [
        ("name", "order_status"),
        ("slot_name", "order_id"),
        ("slot_regex", d["slots"][0]["regex"]),
        ("slot_prompt_zh", d["slots"][0]["prompt"]["zh"]),
        ("slot_retry_en", d["slots"][0]["retry_prompt"]["en"]),
        ("action_url", d["action"]["url"]),
        ("action_timeout", "3"),
        ("reply_en", d["reply"]["en"]),
        ("not_found_zh", d["not_found_reply"]["zh"]),
        ("max_retries", "2"),
    ]:
        assert f'name="{name}" value="{value}"' in page, name
    assert '<option value="order_id" selected>' in page
    assert '<option value="GET" selected>' in page


async def test_slots_headers_and_a_post_body_in_the_posted_order(api: World) -> None:
    form = demo_form(
        api.server.base_url,
        slot_name=["order_id", "phone"],
        slot_entity=["order_id", "phone"],
        slot_regex=["", ""],
        slot_prompt_zh=["订单号？", "手机号？"],
        slot_prompt_en=["", "Phone?"],
        slot_retry_zh=["", ""],
        slot_retry_en=["", ""],
        slot_sample=["", ""],
        action_method="POST",
        action_url="https://erp.example.com/lookup",
        action_timeout="2.5",
        header_name=["X-Token", "", "Accept"],
        header_value=["s3cret", "", "application/json"],
        action_body='{"order": "{order_id}", "phone": "{phone}", "n": 1}',
        not_found_zh="",
        not_found_en="",
        max_retries="",
    )
    r = await api.http.post("/admin/bot/flows", data=form)
    assert r.status_code == 303, r.text
    [saved] = await flows(api)
    assert saved["definition"] == {
        "description": "订单状态查询 Order status by order number",
        "slots": [
            {"name": "order_id", "entity": "order_id", "prompt": {"zh": "订单号？"}},
            {"name": "phone", "entity": "phone", "prompt": {"zh": "手机号？", "en": "Phone?"}},
        ],
        "action": {
            "method": "POST",
            "url": "https://erp.example.com/lookup",
            "timeout_s": 2.5,
            "headers": {"X-Token": "s3cret", "Accept": "application/json"},
            "body": {"order": "{order_id}", "phone": "{phone}", "n": 1},
        },
        "reply": order_flow_definition("")["reply"],
        "max_retries": 2,
    }
    page = html.unescape((await api.http.get(r.headers["location"])).text)
    assert page.index('value="order_id"') < page.index('value="phone"')
    assert 'name="header_name" value="X-Token"' in page and 'name="header_value" value="s3cret"' in page


async def test_no_action_and_a_disabled_flow(api: World) -> None:
    form = demo_form(api.server.base_url, action_method="", reply_zh="好的，订单 {order_id}", reply_en="")
    form.pop("enabled")
    r = await api.http.post("/admin/bot/flows", data=form)
    assert r.status_code == 303, r.text
    [saved] = await flows(api)
    assert saved["enabled"] is False
    assert "action" not in saved["definition"]
    assert saved["definition"]["reply"] == {"zh": "好的，订单 {order_id}"}


async def test_errors_stand_next_to_their_fields_in_chinese_and_nothing_is_stored(api: World) -> None:
    form = demo_form(
        api.server.base_url,
        name=" ",
        slot_name=["1order"],
        slot_regex=["(("],
        slot_prompt_zh=[""],
        slot_prompt_en=[""],
        action_url="ftp://erp.example.com/{order_id}",
        action_timeout="soon",
        max_retries="9",
        reply_zh="",
        reply_en="",
        header_name=[""],
        header_value=["orphan"],
    )
    r = await api.http.post("/admin/bot/flows", data=form)
    assert r.status_code == 422
    assert '<div class="alert error" role="alert" id="flow-errors">' in r.text
    page = html.unescape(r.text)
    for key, message in [
        ("name", "此项必填。"),
        ("slots.0.name", "只能使用字母、数字和 _，且不能以数字开头（最多 41 个字符）。"),
        ("slots.0.regex", "正则表达式无法编译：missing ), unterminated subpattern at position 1"),
        ("slots.0.prompt", "请至少用一种语言填写提问。"),
        ("action.url", "URL 必须以 http:// 或 https:// 开头。"),
        ("action.timeout_s", "请输入数字。"),
        ("action.headers", "请求头需要名称。"),
        ("max_retries", "不能大于 5。"),
        ("reply", "请至少用一种语言填写回复。"),
    ]:
        assert field_error(key, message) in page, key
    # what was typed is shown again
    for name, value in [
        ("slot_name", "1order"),
        ("slot_regex", "(("),
        ("action_timeout", "soon"),
        ("max_retries", "9"),
    ]:
        assert f'name="{name}" value="{value}"' in page, name
    assert 'name="header_value" value="orphan"' in page
    assert await flows(api) == []


async def test_errors_in_english_and_model_level_checks_on_their_fields(api: World) -> None:
    form = demo_form(
        api.server.base_url,
        slot_name=["order_id", "order_id"],
        slot_entity=["order_id", "text"],
        slot_regex=["", ""],
        slot_prompt_zh=["订单号？", "备注？"],
        slot_prompt_en=["", ""],
        slot_retry_zh=["", ""],
        slot_retry_en=["", ""],
        slot_sample=["", ""],
        action_method="POST",
        action_url="https://erp.example.com/orders/{order}",
        action_body="[1, 2]",
    )
    r = await api.http.post("/admin/bot/flows?lang=en", data=form)
    assert r.status_code == 422
    page = html.unescape(r.text)
    assert field_error("action.body", "The body must be a JSON object: {…}.") in page
    assert field_error("slots.0.name", "Another slot has the same name.") in page
    assert field_error("slots.1.name", "Another slot has the same name.") in page
    assert await flows(api) == []

    # unique names, but the URL uses a placeholder that is no slot (checked once the fields pass)
    form.update(slot_name=["order_id", "note"], action_body='{"o": "{order_id}"}')
    r = await api.http.post("/admin/bot/flows?lang=en", data=form)
    assert r.status_code == 422
    assert field_error("action.url", "The URL uses {order}, which is not a slot.") in html.unescape(r.text)
    assert await flows(api) == []


async def test_a_taken_name_is_a_409_next_to_the_name_and_a_rejected_edit_changes_nothing(api: World) -> None:
    base = api.server.base_url
    assert (await api.http.post("/admin/bot/flows", data=demo_form(base))).status_code == 303
    r = await api.http.post("/admin/bot/flows", data=demo_form(base, reply_zh="另一个"))
    assert r.status_code == 409
    assert field_error("name", "已有名为 order_status 的流程。") in html.unescape(r.text)
    [saved] = await flows(api)
    assert saved["definition"]["reply"]["zh"] == order_flow_definition(base)["reply"]["zh"]

    r = await api.http.post(f"/admin/bot/flows/{saved['id']}", data=demo_form(base, max_retries="-1"))
    assert r.status_code == 422
    assert field_error("max_retries", "不能小于 0。") in html.unescape(r.text)
    assert (await api.http.get(f"{B}/flows/{saved['id']}")).json() == saved

    r = await api.http.post(f"/admin/bot/flows/{saved['id']}", data=demo_form(base, name="orders", max_retries="3"))
    assert (r.status_code, r.headers["location"]) == (303, f"/admin/bot/flows/{saved['id']}")
    after = (await api.http.get(f"{B}/flows/{saved['id']}")).json()
    assert (after["name"], after["definition"]["max_retries"]) == ("orders", 3)


async def test_the_json_view_edits_the_same_definition(api: World) -> None:
    base = api.server.base_url
    # form → JSON: the JSON shows what the form builds
    r = await api.http.post("/admin/bot/flows/editor?view=json", data=demo_form(base), headers=HX)
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert '<input type="hidden" name="view" value="json">' in text
    shown = text.split('id="flow-json">', 1)[1].split("</textarea>", 1)[0]
    definition = json.loads(shown)
    assert definition["action"] == {
        "method": "GET",
        "url": order_flow_definition(base)["action"]["url"],
        "timeout_s": 3,
    }

    # JSON → form, after an edit in the JSON
    definition["slots"][0]["prompt"]["en"] = "Order number, please?"
    data = {"view": "json", "name": "order_status", "enabled": "true", "definition": json.dumps(definition)}
    r = await api.http.post("/admin/bot/flows/editor?view=form", data=data, headers=HX)
    text = html.unescape(r.text)
    assert '<input type="hidden" name="view" value="form">' in text
    assert 'name="slot_prompt_en" value="Order number, please?"' in text

    # an invalid definition stays in the JSON view, with the reason
    bad = {**definition, "max_retries": 7}
    r = await api.http.post("/admin/bot/flows/editor?view=form&lang=en", data={**data, "definition": json.dumps(bad)})
    text = html.unescape(r.text)
    assert '<input type="hidden" name="view" value="json">' in text
    assert "<li>max_retries: Must be at most 5.</li>" in text

    # saving from the JSON view
    r = await api.http.post("/admin/bot/flows?lang=zh_CN", data={**data, "definition": "{oops"})
    assert r.status_code == 422
    assert "<li>不是有效的 JSON（第 1 行，第 2 列）：Expecting property name enclosed in double quotes</li>" in r.text
    r = await api.http.post("/admin/bot/flows", data=data)
    assert r.status_code == 303, r.text
    [saved] = await flows(api)
    assert saved["definition"]["slots"][0]["prompt"] == {"zh": definition["slots"][0]["prompt"]["zh"],
                                                          "en": "Order number, please?"}  # fmt: skip


# ---- "Test it" ----------------------------------------------------------------------------------------


def action_form(url: str, sample: str, **over: Any) -> dict[str, Any]:
    return demo_form("", action_url=url, slot_sample=[sample], **over)


async def test_test_it_shows_the_status_the_json_and_the_rendered_reply(api: World, orders: str) -> None:
    r = await api.http.post(
        "/admin/bot/flows/test-action", data=action_form(orders + "/orders/{order_id}", "KF20261125001"), headers=HX
    )
    assert r.status_code == 200, r.text
    text = html.unescape(r.text)
    assert 'data-ok="true"' in text
    assert '<dd id="action-test-status">200</dd>' in text
    answered = text.split('<pre class="code" id="action-test-json">', 1)[1].split("</pre>", 1)[0]
    assert json.loads(answered) == {
        "order_id": "KF20261125001", "status": "已发货", "status_en": "shipped", "eta": "11月28日", "carrier": "SF",
    }  # fmt: skip
    assert "订单 KF20261125001 状态：已发货，预计 11月28日 送达。" in text
    assert "Order KF20261125001: shipped, expected —." in text  # the test server has no eta_en
    assert await flows(api) == []  # nothing saved


async def test_test_it_explains_failures_in_the_ui_language(api: World, orders: str) -> None:
    cases = [
        (orders + "/orders/{order_id}", "KF404", "动作返回 404 Not Found：将使用“未找到”回复。", "not_found"),
        (orders + "/text?o={order_id}", "KF1", "动作返回的不是 JSON。", "bad_json"),
        (orders + "/boom?o={order_id}", "KF1", "动作返回了 HTTP 状态码 500。", "http_500"),
        ("http://10.255.255.1/orders/{order_id}", "KF1",
         "地址被拒绝：该主机不在本账户的外部接口列表中（管理 → 外部接口），"
         "或是未连同端口列出的内网或回环地址。", "denied"),
    ]  # fmt: skip
    for url, sample, message, code in cases:
        r = await api.http.post("/admin/bot/flows/test-action", data=action_form(url, sample), headers=HX)
        text = html.unescape(r.text)
        assert f'data-error="{code}"' in text, (code, text)
        assert f'<span title="{code}">{message}</span>' in text, code
    # 404 renders the not-found reply; the others leave the conversation to a human
    r = await api.http.post(
        "/admin/bot/flows/test-action", data=action_form(orders + "/orders/{order_id}", "KF404"), headers=HX
    )
    assert "没有找到订单 KF404，请核对订单号后再试。" in r.text
    r = await api.http.post(
        "/admin/bot/flows/test-action?lang=en",
        data=action_form(orders + "/slow/{order_id}", "KF1", action_timeout="0.3"),
        headers=HX,
    )
    text = html.unescape(r.text)
    assert '<span title="timeout">The action did not answer in time.</span>' in text
    assert "None: the bot would hand the conversation to a human." in text


async def test_test_it_needs_an_action_sample_values_and_a_valid_flow(api: World, orders: str) -> None:
    url = orders + "/orders/{order_id}"
    r = await api.http.post("/admin/bot/flows/test-action", data=action_form(url, ""), headers=HX)
    assert "<li>请为槽位 order_id 填写示例值。</li>" in r.text
    no_action = action_form(url, "KF1", action_method="")
    r = await api.http.post("/admin/bot/flows/test-action", data=no_action, headers=HX)
    assert "<li>回复：没有 HTTP 动作时，回复只能使用槽位占位符 {slot}。</li>" in r.text
    no_action.update(reply_zh="订单 {order_id}", reply_en="Order {order_id}")
    r = await api.http.post("/admin/bot/flows/test-action", data=no_action, headers=HX)
    assert "<li>此流程没有 HTTP 动作：请先选择 GET 或 POST。</li>" in r.text
    r = await api.http.post(
        "/admin/bot/flows/test-action?lang=en", data=action_form(url, "KF1", slot_regex=["(("]), headers=HX
    )
    assert (
        "<li>Slot order_id: The regular expression does not compile: missing ), unterminated subpattern at position 1"
        "</li>" in html.unescape(r.text)
    )


async def test_the_test_action_api(api: World, orders: str) -> None:
    definition = order_flow_definition("")
    definition["action"]["url"] = orders + "/orders/{order_id}"
    r = await api.http.post(
        B + "/flows/test-action", json={"definition": definition, "slots": {"order_id": "KF20261125002"}}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "ok": True,
        "status": 200,
        "error": None,
        "message": "",
        "url": orders + "/orders/KF20261125002",
        "json_text": json.dumps(
            {"order_id": "KF20261125002", "status": "待发货", "status_en": "awaiting shipment", "eta": "12月1日",
             "carrier": None}, ensure_ascii=False, indent=2),
        "truncated": False,
        "reply": {"zh": "订单 KF20261125002 状态：待发货，预计 12月1日 送达。",
                  "en": "Order KF20261125002: awaiting shipment, expected —."},
    }  # fmt: skip

    definition["action"]["url"] = orders + "/big"
    r = await api.http.post(B + "/flows/test-action", json={"definition": definition, "slots": {"order_id": "x"}})
    assert (r.json()["ok"], r.json()["truncated"], len(r.json()["json_text"])) == (True, True, 4000)

    definition["action"]["url"] = "http://169.254.169.254/latest/{order_id}"
    r = await api.http.post(B + "/flows/test-action", json={"definition": definition, "slots": {"order_id": "x"}})
    assert r.status_code == 200
    assert (r.json()["ok"], r.json()["error"], r.json()["reply"], r.json()["json_text"]) == (
        False,
        "denied",
        None,
        None,
    )
    assert r.json()["message"] == (
        "169.254.169.254:80 is not on this account's list of outbound hosts (Admin → Outbound hosts)"
    )

    r = await api.http.post(B + "/flows/test-action", json={"definition": definition, "slots": {}})
    assert r.status_code == 422
    assert r.json()["error"] == {
        "code": "validation_error",
        "message": "give a value for each slot of the flow, and no others: order_id",
        "details": [{"field": "slots.order_id", "message": "a value is needed"}],
    }
    r = await api.http.post(
        B + "/flows/test-action", json={"definition": definition, "slots": {"order_id": "x", "phone": "1"}}
    )
    assert (r.status_code, r.json()["error"]["details"]) == (
        422,
        [{"field": "slots.phone", "message": "not a slot of this flow"}],
    )
    r = await api.http.post(
        B + "/flows/test-action",
        json={
            "definition": {**definition, "action": None, "reply": {"zh": "好的 {order_id}"}},
            "slots": {"order_id": "x"},
        },
    )
    assert (r.status_code, r.json()["error"]["message"]) == (422, "the flow has no HTTP action to test")
    bad = {**definition, "slots": [{**definition["slots"][0], "entity": "passport"}]}
    r = await api.http.post(B + "/flows/test-action", json={"definition": bad, "slots": {"order_id": "x"}})
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (422, "definition.slots.0.entity")
    assert await flows(api) == []


async def test_only_admins_and_supervisors_may_test_actions(api: World, orders: str) -> None:
    from kefu.core.constants import Role

    definition = order_flow_definition("")
    definition["action"]["url"] = orders + "/orders/{order_id}"
    body = {"definition": definition, "slots": {"order_id": "KF20261125001"}}
    agent = await api.user(Role.AGENT)
    r = await agent.client.post(B + "/flows/test-action", json=body)
    assert r.status_code == 403
    assert (
        await agent.client.post("/admin/bot/flows/test-action", data=action_form(definition["action"]["url"], "KF1"))
    ).status_code == 403
    supervisor = await api.user(Role.SUPERVISOR)
    r = await supervisor.client.post(B + "/flows/test-action", json=body)
    assert (r.status_code, r.json()["ok"]) == (200, True)
