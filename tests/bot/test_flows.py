"""Flows: definition validation (path of the bad field), slot filling turn by turn, and the HTTP action
against a real server on 127.0.0.1 (JSON fills the template; timeout and denied host give up cleanly)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from kefu.bot.flows import (
    FlowState,
    GiveUp,
    Prompt,
    Ready,
    action_url,
    advance,
    fills_slot,
    final_reply,
    give_up_text,
    render,
    run_action,
    validate_definition,
)
from kefu.bot.texts import TextKey
from kefu.core.http import HttpPolicy, OutboundHttp
from kefu.nlp.entities import extract_entities
from tests.bot.httpserver import serve


def order_flow(base: str = "http://127.0.0.1:8000", **action: Any) -> dict[str, Any]:
    return {
        "slots": [
            {
                "name": "order_id",
                "entity": "order_id",
                "regex": r"[A-Za-z]{0,4}\d{6,20}",
                "prompt": {"zh": "请提供您的订单号", "en": "What is your order number?"},
                "retry_prompt": {"zh": "订单号格式不对，请再发一次（例如 KF20261125001）"},
            }
        ],
        "action": {"method": "GET", "url": base + "/orders/{order_id}", "timeout_s": 2, **action},
        "reply": {
            "zh": "订单 {order_id} 状态：{status}，预计 {eta} 送达",
            "en": "Order {order_id}: {status_en}, ETA {eta}",
        },
        "not_found_reply": {"zh": "没有找到订单 {order_id}，请核对订单号。", "en": "No order {order_id} was found."},
        "max_retries": 1,
    }


def step(defn: Any, state: FlowState, text: str, lang: str = "zh") -> Any:
    return advance(defn, state, text, extract_entities(text), lang)


def errors_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as err:
        validate_definition(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.value.errors()]


# ---- validation -----------------------------------------------------------------------------------


def test_valid_definition() -> None:
    defn = validate_definition(order_flow())
    assert defn.slots[0].name == "order_id"
    assert defn.action is not None and defn.action.timeout_s == 2


def test_bad_definitions_name_the_bad_field() -> None:
    bad = order_flow()
    bad["slots"][0]["entity"] = "passport"
    assert errors_of(bad) == [
        (
            "slots.0.entity",
            "Value error, unknown entity type 'passport'; use one of: order_id, tracking, "
            "tracking_number, phone, email, date, time, datetime, money, text",
        ),
    ]
    bad = order_flow()
    bad["slots"][0]["regex"] = "([a-z"
    assert errors_of(bad)[0][0] == "slots.0.regex"
    bad = order_flow()
    bad["action"]["url"] = "http://{order_id}.evil.example/x"
    assert errors_of(bad) == [
        ("action.url", "Value error, url needs a fixed host: placeholders may only appear in the path or query")
    ]
    bad = order_flow()
    bad["action"]["url"] = "http://erp.lan/orders/{order}"
    assert errors_of(bad) == [("", "Value error, action.url uses {order}, which is not a slot (order_id)")]
    bad = order_flow(timeout_s=60)
    assert errors_of(bad) == [("action.timeout_s", "Input should be less than or equal to 30")]
    too_few = "List should have at least 1 item after validation, not 0"
    assert errors_of({"slots": [], "reply": {"zh": "x"}})[0] == ("slots", too_few)
    assert ("reply", "Field required") in errors_of({"slots": order_flow()["slots"]})
    assert errors_of({**order_flow(), "stray": 1}) == [("stray", "Extra inputs are not permitted")]


# ---- slot filling (pure) ----------------------------------------------------------------------------


def test_order_id_in_the_first_message_needs_no_question() -> None:
    defn = validate_definition(order_flow())
    state = FlowState(1, "order")
    assert step(defn, state, "我的订单 KF20261125001 到哪了") == Ready({"order_id": "KF20261125001"})


def test_prompt_then_fill_from_a_bare_id_then_ready() -> None:
    defn = validate_definition(order_flow())
    state = FlowState(1, "order")
    assert step(defn, state, "查一下我的订单") == Prompt("order_id", "请提供您的订单号", retry=False)
    assert state.awaiting == "order_id"
    assert step(defn, state, "ｋｆ２０２６１１２５００１") == Ready({"order_id": "KF20261125001"})  # full-width, lower


def test_english_prompts_and_retry_then_give_up() -> None:
    defn = validate_definition(order_flow())
    state = FlowState(1, "order")
    assert step(defn, state, "where is my order", "en") == Prompt("order_id", "What is your order number?", False)
    # retry_prompt has only zh: the zh text is used rather than nothing
    retry = "订单号格式不对，请再发一次（例如 KF20261125001）"
    assert step(defn, state, "I don't know", "en") == Prompt("order_id", retry, True)
    assert state.retries == 1
    assert step(defn, state, "still no idea", "en") == GiveUp("order_id", 2)


def test_an_off_topic_failed_try_says_so_and_asks_the_slots_own_question() -> None:
    defn = validate_definition(order_flow())
    state = FlowState(1, "order")
    step(defn, state, "查订单")
    weather = "今天天气怎么样"
    off = advance(defn, state, weather, extract_entities(weather), "zh", off_topic=True)
    assert off == Prompt("order_id", "请提供您的订单号", True, TextKey.FLOW_OFF_TOPIC)
    assert state.retries == 1  # still a failed try
    joke = "tell me a joke"
    assert advance(defn, state, joke, [], "en", off_topic=True) == GiveUp("order_id", 2)
    state = FlowState(1, "order")
    step(defn, state, "where is my order", "en")
    off = advance(defn, state, joke, [], "en", off_topic=True)
    assert off == Prompt("order_id", "What is your order number?", True, TextKey.FLOW_OFF_TOPIC)


def test_fills_slot_looks_only_at_the_awaited_slot() -> None:
    defn = validate_definition(order_flow())
    state = FlowState(1, "order", awaiting="order_id")
    assert fills_slot(defn, state, "订单号 KF20261125001", extract_entities("订单号 KF20261125001"))
    assert fills_slot(defn, state, "kf20261125001", [])  # the slot's regex, without an entity
    assert not fills_slot(defn, state, "今天天气怎么样", extract_entities("今天天气怎么样"))
    assert not fills_slot(defn, FlowState(1, "order"), "KF20261125001", [])  # nothing awaited
    assert state == FlowState(1, "order", awaiting="order_id")  # not changed


def test_give_up_reply_is_the_flows_own_else_empty_for_the_bots_own_text() -> None:
    own = validate_definition({**order_flow(), "give_up_reply": {"zh": "先查到这里，需要帮助请回复转人工"}})
    assert give_up_text(own, "zh") == "先查到这里，需要帮助请回复转人工"
    assert give_up_text(own, "en") == "先查到这里，需要帮助请回复转人工"  # only zh given: zh rather than nothing
    default = validate_definition(order_flow())
    assert give_up_text(default, "zh") == give_up_text(default, "en") == ""  # the runtime says flow_gave_up
    assert errors_of({**order_flow(), "give_up_reply": {"fr": "désolé"}}) == [
        ("give_up_reply", "Value error, texts are keyed by language: zh or en, not fr")
    ]


def test_state_round_trips_through_json() -> None:
    state = FlowState(3, "order", {"a": "1"}, "b", 1)
    assert FlowState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_two_slots_with_phone_and_free_text() -> None:
    defn = validate_definition(
        {
            "slots": [
                {"name": "phone", "entity": "phone", "prompt": {"zh": "请留下手机号"}},
                {"name": "issue", "entity": "text", "prompt": {"zh": "请描述问题"}},
            ],
            "reply": {"zh": "已记录：{phone} / {issue}"},
        }
    )
    state = FlowState(2, "callback")
    assert step(defn, state, "我要回电 13812345678") == Prompt("issue", "请描述问题", False)
    ready = step(defn, state, "洗衣机漏水")
    assert ready == Ready({"phone": "+8613812345678", "issue": "洗衣机漏水"})
    assert final_reply(defn, None, ready.slots, "zh") == "已记录：+8613812345678 / 洗衣机漏水"


def test_render_fills_nested_values_and_marks_missing_ones() -> None:
    assert render("{a} {b.c} {d.0} {x} {a.b}", {"a": 1, "b": {"c": "深"}, "d": ["z"]}) == "1 深 z — —"
    assert render("{__class__} {0}", {"a": 1}) == "— {0}"


def test_slot_values_are_url_encoded_in_the_action_url() -> None:
    defn = validate_definition(order_flow())
    assert defn.action is not None
    assert action_url(defn.action, {"order_id": "../admin?x=1"}) == "http://127.0.0.1:8000/orders/..%2Fadmin%3Fx%3D1"


# ---- the action against a real server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def local() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    with serve() as srv:
        yield srv


HTTP = OutboundHttp()


def listed(base: str) -> HttpPolicy:
    """The local test server's host:port, as an admin would list it."""
    return HttpPolicy.of([base.removeprefix("http://")])


async def test_action_json_fills_the_reply_template(local: Any) -> None:
    base, seen = local
    defn = validate_definition(order_flow(base))
    assert defn.action is not None
    result = await run_action(HTTP, defn.action, {"order_id": "KF20261125001"}, listed(base))
    assert (result.ok, result.status) == (True, 200)
    slots = {"order_id": "KF20261125001"}
    assert final_reply(defn, result, slots, "zh") == "订单 KF20261125001 状态：已发货，预计 11月28日 送达"
    assert final_reply(defn, result, slots, "en") == "Order KF20261125001: shipped, ETA 11月28日"
    assert ("GET", "/orders/KF20261125001", b"") in seen


async def test_unknown_order_gets_the_not_found_reply(local: Any) -> None:
    defn = validate_definition(order_flow(local[0]))
    assert defn.action is not None
    result = await run_action(HTTP, defn.action, {"order_id": "KF404"}, listed(local[0]))
    assert (result.ok, result.error, result.status) == (False, "not_found", 404)
    assert final_reply(defn, result, {"order_id": "KF404"}, "zh") == "没有找到订单 KF404，请核对订单号。"


async def test_timeout_and_server_errors_leave_no_reply_so_a_human_takes_over(local: Any) -> None:
    base = local[0]
    defn = validate_definition(order_flow(base, url=base + "/slow/{order_id}", timeout_s=0.3))
    assert defn.action is not None
    result = await run_action(HTTP, defn.action, {"order_id": "KF1"}, listed(base))
    assert (result.ok, result.error) == (False, "timeout")
    assert result.message == f"GET {base}/slow/KF1 timed out after 0.3 s"
    assert final_reply(defn, result, {"order_id": "KF1"}, "zh") is None
    defn = validate_definition(order_flow(base, url=base + "/boom?o={order_id}"))
    assert defn.action is not None
    result = await run_action(HTTP, defn.action, {"order_id": "KF1"}, listed(base))
    assert (result.ok, result.error, result.status) == (False, "http_500", 500)


async def test_denied_host_is_a_clear_error(local: Any) -> None:
    defn = validate_definition(order_flow(local[0]))
    assert defn.action is not None
    result = await run_action(OutboundHttp(), defn.action, {"order_id": "KF20261125001"})
    assert (result.ok, result.error, result.status) == (False, "denied", None)
    port = local[0].rsplit(":", 1)[1]
    assert result.message == (
        f"127.0.0.1:{port} is not on this account's list of outbound hosts (Admin → Outbound hosts)"
    )
    host_only = HttpPolicy.of(["127.0.0.1"])  # listed without its port: public addresses only
    result = await run_action(OutboundHttp(), defn.action, {"order_id": "KF20261125001"}, host_only)
    assert result.message == (
        f"host '127.0.0.1' resolves to the non-public address 127.0.0.1; list it with its port (127.0.0.1:{port}) "
        "to allow it"
    )


async def test_post_action_sends_slots_in_the_body(local: Any) -> None:
    base, seen = local
    defn = validate_definition(
        {
            **order_flow(base),
            "action": {"method": "POST", "url": base + "/tickets", "body": {"order": "{order_id}", "n": 1}},
            "reply": {"zh": "已提交 {echo.order}"},
        }
    )
    assert defn.action is not None
    result = await run_action(HTTP, defn.action, {"order_id": "KF9"}, listed(base))
    assert final_reply(defn, result, {"order_id": "KF9"}, "zh") == "已提交 KF9"
    assert ("POST", "/tickets", b'{"order":"KF9","n":1}') in seen
