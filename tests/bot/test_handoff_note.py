"""The agent's handoff note: stored text in the account's language only; the workspace shows the
structured summary (meta.handoff) in each viewer's UI language."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from kefu.accounts.models import Account
from kefu.core.constants import Role
from tests.bot.test_live import messages
from tests.support.factories import World
from tests.web.conftest import login


async def handed_off(api: World, text: str) -> int:
    inbox = await api.inbox(bot_enabled=True)
    visitor = await api.visitor(inbox)
    conv_id = int((await visitor.say(text))["conversation_id"])
    for _ in range(300):  # the first message of a process may outlast the request: it loads the models
        if (await messages(api, conv_id))[-1]["kind"] == "note":
            return conv_id
        await asyncio.sleep(0.1)
    raise AssertionError("no handoff note")


async def test_the_note_is_shown_in_the_viewers_language(api: World) -> None:
    conv_id = await handed_off(api, "订单 KF20261125001 转人工")
    note = (await messages(api, conv_id))[-1]
    assert note["content"] == "\n".join(
        [
            "【转人工】客户要求人工",
            "实体：order_id=KF20261125001",
            "情绪：negative",
            "最近消息：",
            "- 订单 KF20261125001 转人工",
        ]
    )
    agent = await login(api, await api.user(Role.AGENT))
    shown = {}
    for lang in ("zh_CN", "zh_TW", "en"):
        r = await agent.http.get(f"/app/c/{conv_id}/messages?lang={lang}")
        assert r.status_code == 200
        start = r.text.index('<div class="handoff-note" data-reason="explicit_request">')
        shown[lang] = r.text[start : r.text.index("</div>", start)].split(">", 1)[1]
    assert shown == {
        "zh_CN": "<strong>机器人转人工: 客户要求人工</strong>\n实体: order_id=KF20261125001\n情绪: negative\n"
        "最近消息:\n- 订单 KF20261125001 转人工",
        "zh_TW": "<strong>機器人轉真人客服: 客戶要求真人客服</strong>\n實體: order_id=KF20261125001\n情緒: negative\n"
        "最近訊息:\n- 订单 KF20261125001 转人工",
        "en": "<strong>Handed off by the bot: Customer asked for a human</strong>\nEntities: order_id=KF20261125001\n"
        "Sentiment: negative\nLast messages:\n- 订单 KF20261125001 转人工",
    }


async def set_locale(api: World, locale: str) -> None:
    async with api.server.state.sessionmaker() as session:
        await session.execute(update(Account).where(Account.id == api.account_id).values(locale=locale))
        await session.commit()


async def test_the_stored_text_follows_the_accounts_language(api: World) -> None:
    await set_locale(api, "en")
    conv_id = await handed_off(api, "I want a human")
    note = (await messages(api, conv_id))[-1]["content"]
    assert note == "[Handoff] customer asked for a human\nSentiment: neutral\nLast messages:\n- I want a human"
    await set_locale(api, "zh_TW")
    conv_id = await handed_off(api, "我要转人工")
    note = (await messages(api, conv_id))[-1]["content"]
    assert note.splitlines()[0] == "【轉真人客服】客戶要求真人客服"
    assert note.splitlines()[-2:] == ["最近訊息：", "- 我要转人工"]  # the customer's words as written
