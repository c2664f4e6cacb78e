"""A customer writes in the widget; an agent sees it live, replies; the customer sees it live."""

from __future__ import annotations

from tests.support.factories import World, recv_json, recv_until


async def test_widget_message_reaches_agent_socket_and_reply_reaches_widget(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox, name="王先生")
    async with api.agent_ws() as agent_ws:
        hello = await recv_json(agent_ws)
        assert hello["type"] == "hello"
        msg = await visitor.say("你好，我的订单还没发货", client_message_id="m-1")
        created = await recv_until(agent_ws, "conversation.created")
        assert created["payload"]["status"] == "open"
        event = await recv_until(agent_ws, "message.created")
        assert event["payload"]["content"] == "你好，我的订单还没发货"
        assert event["payload"]["direction"] == "incoming"
        assert event["payload"]["id"] == msg["id"]
        conv_id = msg["conversation_id"]

    async with visitor.ws() as widget_ws:
        assert (await recv_json(widget_ws))["type"] == "hello"
        r = await api.http.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "您好，马上为您查询"})
        assert r.status_code == 201, r.text
        got = await recv_until(widget_ws, "message.created")
        assert got["payload"]["content"] == "您好，马上为您查询"
        assert got["payload"]["direction"] == "outgoing"

    history = await visitor.messages()
    assert [m["content"] for m in history["messages"]] == ["你好，我的订单还没发货", "您好，马上为您查询"]


async def test_same_client_message_id_is_stored_once(api: World) -> None:
    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    first = await visitor.say("hello", client_message_id="dup-1")
    r = await visitor.client.post(
        f"/api/v1/widget/{inbox['public_key']}/messages",
        json={"content": "hello", "client_message_id": "dup-1"},
        headers=visitor.headers,
    )
    assert r.status_code == 200
    assert r.json()["id"] == first["id"]
    assert [m["content"] for m in (await visitor.messages())["messages"]] == ["hello"]


async def test_concurrent_retries_store_one_message_and_one_conversation(api: World) -> None:
    import asyncio

    inbox = await api.inbox()
    visitor = await api.visitor(inbox)
    url = f"/api/v1/widget/{inbox['public_key']}/messages"

    async def post(cmid: str):  # type: ignore[no-untyped-def]
        return await visitor.client.post(
            url, json={"content": "同时发送", "client_message_id": cmid}, headers=visitor.headers
        )

    answers = await asyncio.gather(*(post("same-id") for _ in range(6)), *(post(f"other-{i}") for i in range(3)))
    same = answers[:6]
    assert sorted(r.status_code for r in same) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in same}) == 1
    assert len({r.json()["conversation_id"] for r in answers}) == 1
    history = (await visitor.messages())["messages"]
    assert [m["client_message_id"] for m in history].count("same-id") == 1 and len(history) == 4
