"""The bot's fixed replies as named texts (kefu.bot.texts): defaults from the translations, per-account
overrides through the API and the admin page, and what a widget customer then receives (both backends)."""

from __future__ import annotations

import asyncio
import html
from typing import Any

from kefu.bot.texts import CATALOGUE, LOCALES, MAX_CHARS, Reply, TextKey, check_text, default, locale_of, render
from kefu.core.constants import Role
from tests.bot.test_live import bot_inbox, knowledge
from tests.support.factories import Visitor, World

HANDOFF_ZH = "正在为您转接人工客服…"


def test_defaults_come_from_the_translations_in_each_locale() -> None:
    assert default(TextKey.HANDOFF, "zh_CN") == HANDOFF_ZH
    assert default(TextKey.HANDOFF, "zh_TW") == "正在為您轉接人工客服…"
    assert default(TextKey.HANDOFF, "en") == "Connecting you to a human agent…"
    assert default(TextKey.FLOW_OFF_TOPIC, "zh_CN") == "这个问题我暂时回答不了（可以回复“转人工”联系人工客服）。"
    for key in TextKey:  # every text is translated: no locale falls back to the English msgid
        assert default(key, "zh_CN") != CATALOGUE[key][1] != default(key, "zh_TW"), key
        assert default(key, "en") == CATALOGUE[key][1]


def test_render_fills_parameters_appends_content_and_prefers_the_accounts_wording() -> None:
    when = "今天 09:00（Asia/Shanghai 时间）"
    closed = Reply(TextKey.WAITING_ACK_CLOSED, {"when": when})
    assert render(closed, "zh_CN") == f"已收到。现在是非工作时间，客服将于{when}回复您。"
    own = {("waiting_ack_closed", "zh_CN"): "收到啦，{when}见 {name}"}  # unknown braces stay as written
    assert render(closed, "zh_CN", own) == f"收到啦，{when}见 {{name}}"
    assert render(closed, "en", own) == f"Got it. We are outside business hours: someone will answer {when}."
    clarify = Reply(TextKey.CLARIFY, after="\n1. A\n2. B")
    assert render(clarify, "en") == "Which of these do you mean? Reply with its number:\n1. A\n2. B"
    assert render(Reply(TextKey.HANDOFF), "zh_CN", {("handoff", "zh_CN"): ""}) == HANDOFF_ZH  # empty = default
    assert [locale_of("en"), locale_of("zh"), locale_of("zh", traditional=True)] == ["en", "zh_CN", "zh_TW"]


def test_an_override_may_hold_newlines_but_no_control_characters_nor_more_than_the_cap() -> None:
    assert check_text("第一行\n第二行\t！") is None
    assert check_text("a\x00b") == "control characters are not allowed"
    assert check_text("x" * MAX_CHARS) is None
    assert check_text("x" * (MAX_CHARS + 1)) == f"at most {MAX_CHARS} characters"


async def _put(api: World, *texts: tuple[str, str, str]) -> Any:
    body = {"texts": [{"key": k, "locale": loc, "text": t} for k, loc, t in texts]}
    return await api.http.put("/api/v1/bot/texts", json=body)


def _text(items: list[dict[str, Any]], key: str, locale: str) -> dict[str, Any]:
    return next(i for i in items if (i["key"], i["locale"]) == (key, locale))


async def test_the_api_lists_every_text_and_stores_clears_and_refuses_overrides(api: World) -> None:
    listed = (await api.http.get("/api/v1/bot/texts")).json()["items"]
    assert len(listed) == len(TextKey) * len(LOCALES)
    assert _text(listed, "handoff", "zh_CN") == {
        "key": "handoff", "locale": "zh_CN", "purpose": "Handoff, within business hours", "default": HANDOFF_ZH,
        "text": "",
    }  # fmt: skip
    r = await _put(api, ("handoff", "zh_CN", "马上为您接通～"), ("fallback", "en", "Say again?"))
    assert r.status_code == 200, r.text
    assert _text(r.json()["items"], "handoff", "zh_CN")["text"] == "马上为您接通～"
    assert _text(r.json()["items"], "fallback", "en")["text"] == "Say again?"
    for bad in ("a\x07b", "x" * (MAX_CHARS + 1)):
        refused = await _put(api, ("handoff", "zh_CN", bad), ("fallback", "en", "changed"))
        assert refused.status_code == 422, refused.text
    unknown = await _put(api, ("greeting", "zh_CN", "hi"))
    assert unknown.status_code == 422
    assert (await _put(api, ("handoff", "fr", "salut"))).status_code == 422
    items = (await api.http.get("/api/v1/bot/texts")).json()["items"]
    assert _text(items, "fallback", "en")["text"] == "Say again?"  # nothing of a refused request was stored
    assert _text(items, "handoff", "zh_CN")["text"] == "马上为您接通～"
    cleared = await _put(api, ("handoff", "zh_CN", "  "))
    assert _text(cleared.json()["items"], "handoff", "zh_CN")["text"] == ""
    agent = await api.user(Role.AGENT)
    assert (await agent.client.get("/api/v1/bot/texts")).status_code == 403


async def _last_said(visitor: Visitor, count: int) -> str:
    """The last message the widget shows once it shows `count` (the bot answers in the background: on a
    busy machine the first answer, which loads the models, can outlast the request)."""
    for _ in range(600):
        shown = (await visitor.messages())["messages"]
        if len(shown) >= count:
            return str(shown[-1]["content"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"the widget shows {len(shown)} messages, not {count}")


async def test_an_override_changes_what_the_widget_customer_receives_and_empty_falls_back(api: World) -> None:
    await knowledge(api)
    inbox = await bot_inbox(api)
    assert (await _put(api, ("handoff", "zh_CN", "稍等，人工客服马上来！"))).status_code == 200
    first = await api.visitor(inbox)
    await first.say("转人工")
    assert await _last_said(first, 2) == "稍等，人工客服马上来！"
    assert (await _put(api, ("waiting_ack", "zh_CN", "收到，请稍候"))).status_code == 200
    await first.say("还在吗")  # handed off: the acknowledgement reads the account's texts too
    assert await _last_said(first, 4) == "收到，请稍候"
    assert (await _put(api, ("handoff", "zh_CN", ""))).status_code == 200
    second = await api.visitor(inbox)
    await second.say("转人工")
    assert await _last_said(second, 2) == HANDOFF_ZH


async def test_the_admin_page_shows_defaults_saves_and_refuses_control_characters(api: World) -> None:
    page = await api.http.get("/admin/bot/texts?lang=zh_CN")
    assert page.status_code == 200
    assert f'placeholder="{HANDOFF_ZH}"' in page.text and "机器人话术" in page.text
    assert 'href="/admin/bot/texts"' in (await api.http.get("/admin/bot/settings")).text
    r = await api.http.post("/admin/bot/texts", data={"handoff.en": "One moment please", "fallback.zh_CN": ""})
    assert r.status_code == 303, r.text
    items = (await api.http.get("/api/v1/bot/texts")).json()["items"]
    assert _text(items, "handoff", "en")["text"] == "One moment please"
    r = await api.http.post("/admin/bot/texts", data={"handoff.en": "bell\x07", "fallback.en": "kept?"})
    assert r.status_code == 422
    assert "handoff (en): control characters are not allowed" in html.unescape(r.text)
    assert "bell" in r.text  # what was typed stays in the form
    items = (await api.http.get("/api/v1/bot/texts")).json()["items"]
    assert (_text(items, "handoff", "en")["text"], _text(items, "fallback", "en")["text"]) == ("One moment please", "")
