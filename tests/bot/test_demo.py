"""The demo bot: seed_bot (idempotent, trains the model), the demo order API, and a live order question."""

from __future__ import annotations

from kefu.bot.demo import demo_order, seed_bot
from tests.support.factories import World


def test_demo_orders_are_stable_and_only_for_kf_ids() -> None:
    first = demo_order("kf20261125001")
    assert first is not None
    assert first == demo_order("KF20261125001")
    assert first["order_id"] == "KF20261125001"
    assert set(first) == {"order_id", "status", "status_en", "carrier", "eta", "eta_en"}
    assert demo_order("KF123") is None
    assert demo_order("AB20261125001") is None


async def test_seed_bot_then_a_customer_asks_for_an_order_by_number(api: World) -> None:
    r = await api.http.get("/api/v1/demo/orders/KF20261125001")
    assert (r.status_code, r.json()) == (200, demo_order("KF20261125001"))
    missing = await api.http.get("/api/v1/demo/orders/nope")
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "order nope not found")

    async with api.server.state.sessionmaker() as session:
        assert await seed_bot(session, api.account_id, api.server.base_url) is True
    async with api.server.state.sessionmaker() as session:
        assert await seed_bot(session, api.account_id, api.server.base_url) is False
    # The flow may call kefu's own order API: exactly that host:port is listed, nothing else on the host.
    hosts = (await api.http.get("/api/v1/account/outbound_hosts")).json()
    assert hosts == {"hosts": [api.server.base_url.removeprefix("http://")]}
    intents = (await api.http.get("/api/v1/bot/intents")).json()
    assert [i["name"] for i in intents] == ["greeting", "human", "order_status", "refund"]
    models = (await api.http.get("/api/v1/bot/models")).json()
    assert [(m["version"], m["active"]) for m in models] == [(1, True)]

    inbox = await api.inbox(bot_enabled=True)
    visitor = await api.visitor(inbox)
    await visitor.say("你好")
    await visitor.say("我的订单 KF20261125001 到哪了？")
    texts = [m["content"] for m in (await visitor.messages())["messages"]]
    order = demo_order("KF20261125001")
    assert order is not None
    assert texts == [
        "你好",
        "您好！我是智能客服，可以帮您查订单、解答退款等问题。",
        "我的订单 KF20261125001 到哪了？",
        f"订单 KF20261125001 状态：{order['status']}，预计 {order['eta']} 送达。",
    ]
