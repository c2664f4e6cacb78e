"""/api/v1/bot over the live server: intents, flows (422 with the bad field's path), settings, permission,
training → a model version the bot uses, the try-it console, and the demo order flow in a live chat."""

from __future__ import annotations

import asyncio
from typing import Any

from kefu.bot.demo import INTENTS, order_flow_definition
from kefu.core.constants import Role
from tests.support.factories import World

B = "/api/v1/bot"


async def post(api: World, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    r = await api.http.post(B + path, json=body)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


async def demo_bot(api: World) -> dict[str, Any]:
    """The demo's flow and intents (its order API listed as an outbound host); waits for the trained model."""
    host = api.server.base_url.removeprefix("http://")
    r = await api.http.put("/api/v1/account/outbound_hosts", json={"hosts": [host]})
    assert r.status_code == 200, r.text
    flow = await post(api, "/flows", {"name": "order_status", "definition": order_flow_definition(api.server.base_url)})
    for spec in INTENTS:
        body = {k: v for k, v in spec.items() if k != "flow"}
        if spec.get("flow"):
            body["flow_id"] = flow["id"]
        await post(api, "/intents", body)
    for _ in range(900):
        models = (await api.http.get(B + "/models")).json()
        if models and models[0]["metrics"].get("n_examples") == sum(len(s["examples"]) for s in INTENTS):
            return {"flow": flow, "model": models[0]}
        await asyncio.sleep(0.1)
    raise AssertionError(f"no trained model: {models}")


async def test_intent_crud_and_examples(api: World) -> None:
    created = await post(api, "/intents", {"name": "refund", "examples": ["我要退款", "refund please", "我要退款"]})
    assert created["examples"] == ["我要退款", "refund please"]
    assert (created["handoff"], created["flow_id"], created["reply"]) == (False, None, {})
    r = await api.http.post(f"{B}/intents/{created['id']}/examples", json={"examples": ["退款多久到账", "我要退款"]})
    assert r.json()["examples"] == ["我要退款", "refund please", "退款多久到账"]
    r = await api.http.patch(f"{B}/intents/{created['id']}", json={"handoff": True, "description": "退款"})
    assert (r.json()["handoff"], r.json()["description"]) == (True, "退款")
    dup = await api.http.post(B + "/intents", json={"name": "refund"})
    assert (dup.status_code, dup.json()["error"]["message"]) == (409, "an intent named 'refund' already exists")
    bad = await api.http.post(B + "/intents", json={"name": "Refund Intent"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "name"
    missing_flow = await api.http.post(B + "/intents", json={"name": "x", "flow_id": 999999})
    assert (missing_flow.status_code, missing_flow.json()["error"]["message"]) == (404, "flow 999999 not found")
    assert [i["name"] for i in (await api.http.get(B + "/intents")).json()] == ["refund"]
    assert (await api.http.delete(f"{B}/intents/{created['id']}")).status_code == 204
    assert (await api.http.get(B + "/intents")).json() == []


async def test_bad_flow_definitions_are_422_with_the_path_of_the_bad_field(api: World) -> None:
    good = order_flow_definition("http://127.0.0.1:8000")
    bad = {**good, "slots": [{**good["slots"][0], "entity": "passport"}]}
    r = await api.http.post(B + "/flows", json={"name": "order", "definition": bad})
    assert r.status_code == 422
    detail = r.json()["error"]["details"][0]
    assert detail["field"] == "definition.slots.0.entity"
    assert detail["message"].startswith("Value error, unknown entity type 'passport'")
    r = await api.http.post(B + "/flows", json={"name": "order", "definition": {**good, "action": {"url": "ftp://x"}}})
    assert r.json()["error"]["details"][0]["field"] == "definition.action.url"
    r = await api.http.post(B + "/flows", json={"name": "order", "definition": {**good, "max_retries": 9}})
    assert r.json()["error"]["details"][0]["field"] == "definition.max_retries"
    assert (await api.http.get(B + "/flows")).json() == []  # nothing half-written
    flow = await post(api, "/flows", {"name": "order", "definition": good})
    r = await api.http.patch(f"{B}/flows/{flow['id']}", json={"definition": {**good, "reply": {}}})
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (422, "definition.reply")
    assert (await api.http.get(f"{B}/flows/{flow['id']}")).json()["definition"]["reply"] == good["reply"]


async def test_settings_round_trip_and_validation(api: World) -> None:
    defaults = (await api.http.get(B + "/settings")).json()
    assert defaults == {
        "answer_min_score": 0.86, "clarify_margin": 0.015, "calibrated_answers": True, "oos_threshold": None,
        "greeting": {},
        "handoff": {"keywords": [], "anger": True, "oos_twice": True, "low_confidence": False, "vip_tiers": []},
    }  # fmt: skip
    new = {**defaults, "answer_min_score": 0.9, "calibrated_answers": False}
    new["handoff"] = {**defaults["handoff"], "keywords": ["找主管"]}
    r = await api.http.put(B + "/settings", json=new)
    assert r.status_code == 200, r.text
    assert (await api.http.get(B + "/settings")).json() == new
    r = await api.http.put(B + "/settings", json={**new, "answer_min_score": 2})
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (422, "answer_min_score")


async def test_agents_may_not_configure_the_bot(api: World) -> None:
    agent = await api.user(Role.AGENT)
    r = await agent.client.post(B + "/intents", json={"name": "refund"})
    assert (r.status_code, r.json()["error"]["message"]) == (403, "your role (agent) may not manage bot")
    assert (await api.http.get(B + "/intents")).json() == []
    supervisor = await api.user(Role.SUPERVISOR)
    assert (await supervisor.client.get(B + "/intents")).status_code == 200


async def test_training_try_it_and_the_order_flow_in_a_live_chat(api: World) -> None:
    bot = await demo_bot(api)
    assert bot["model"]["active"] is True
    assert bot["model"]["metrics"]["labels"] == ["greeting", "human", "order_status", "refund"]
    assert bot["model"]["metrics"]["fine_tuned"] is False  # a handful of examples: the ensemble alone

    tried = await post(api, "/try", {"text": "我的订单到哪了？"}, status=200)
    assert tried["language"] == "zh"
    assert tried["intent"]["name"] == "order_status"
    assert tried["intent"]["ranking"][0]["name"] == "order_status"
    assert tried["decision"]["action"] == "flow"
    assert tried["decision"]["reason"] == "flow_prompt"
    assert tried["decision"]["text"] == "请提供您的订单号（例如 KF20261125001）。"
    assert tried["state"]["flow"]["awaiting"] == "order_id"
    tried = await post(api, "/try", {"text": "KF20261125001", "conversation_state": tried["state"]}, status=200)
    assert tried["entities"] == []
    assert tried["flow"]["action"] == {"ok": True, "status": 200, "error": None, "message": ""}
    assert tried["decision"]["text"].startswith("订单 KF20261125001 状态：")

    inbox = await api.inbox(bot_enabled=True)
    visitor = await api.visitor(inbox)
    conv_id = (await visitor.say("Where is my order?"))["conversation_id"]
    await visitor.say("It's KF20261125002")
    texts = [m["content"] for m in (await visitor.messages())["messages"]]
    assert texts[1] == "What is your order number (e.g. KF20261125001)?"
    assert texts[3].startswith("Order KF20261125002: ")
    decided = (await api.http.get("/api/v1/events", params={"conversation_id": conv_id, "type": "bot.decided"})).json()
    assert [e["payload"]["reason"] for e in decided] == ["flow_prompt", "flow_done"]
    assert decided[1]["payload"]["flow"]["action"]["status"] == 200
    conv = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert conv["bot_active"] is True

    hello = await post(api, "/try", {"text": "hello"}, status=200)
    assert (hello["decision"]["action"], hello["intent"]["name"]) == ("reply", "greeting")


async def test_warm_up_loads_the_intent_models_of_accounts_with_a_bot(api: World) -> None:
    from kefu.bot.runtime import BotRuntime
    from kefu.bot.service import active_model_id

    await demo_bot(api)
    await api.inbox(bot_enabled=True)

    async def active() -> int | None:
        async with api.server.state.sessionmaker() as session:
            found = await active_model_id(session, api.account_id)
            await session.commit()
            return found

    for _ in range(20):  # each intent change queues a retraining: compare against a settled active model
        before = await active()
        runtime = BotRuntime(api.server.state)
        assert runtime.prefetch._models.get(api.account_id) is None
        await runtime.warm_up(limit=10_000)
        await runtime.stop()
        if await active() == before:
            break
        await asyncio.sleep(0.5)
    model_id, model = runtime.prefetch._models[api.account_id]
    assert model_id == before and model is not None


async def test_a_model_whose_intents_changed_while_it_trained_is_not_stored(api: World, monkeypatch: Any) -> None:
    import contextvars

    from kefu.bot import tasks
    from kefu.core.jobs import JobContext

    await post(api, "/intents", {"name": "refund", "examples": ["我要退款", "refund please"]})
    await post(api, "/intents", {"name": "where", "examples": ["我的订单在哪", "where is my order"]})
    real_train = tasks.nlu.train_intent_model
    mine: contextvars.ContextVar[bool] = contextvars.ContextVar("mine", default=False)
    loop = asyncio.get_running_loop()

    def train_while_an_admin_edits(examples: list[tuple[str, str]], **options: Any) -> tuple[bytes, dict[str, Any]]:
        if mine.get():  # only this test's own run (the queued jobs train untouched)
            asyncio.run_coroutine_threadsafe(
                post(api, "/intents", {"name": "hours", "examples": ["几点上班", "opening hours"]}), loop
            ).result(30)
        return real_train(examples, **options)

    state = api.server.state
    for _ in range(900):  # let the trainings queued by the two intents settle, then force one more
        models = (await api.http.get(B + "/models")).json()
        if any(m["active"] and m["metrics"].get("n_examples") == 4 for m in models):
            break
        await asyncio.sleep(0.1)
    real_hash = tasks.active_model_hash

    async def no_active_model_for_this_run(session: Any, account_id: int) -> str | None:
        # This run must train even though a queued job (the worker's, on PostgreSQL) may already have stored
        # the same examples' model — deactivating it instead raced with that job (seen once in CI).
        return None if mine.get() else await real_hash(session, account_id)

    monkeypatch.setattr(tasks, "active_model_hash", no_active_model_for_this_run)
    monkeypatch.setattr(tasks.nlu, "train_intent_model", train_while_an_admin_edits)
    mine.set(True)
    outcome = await tasks.train_intents(JobContext(state.sessionmaker, state.bus, state.settings), api.account_id)
    mine.set(False)
    assert outcome == "stale"
    for _ in range(900):  # the edit queued its own training, which stores the current examples
        models = (await api.http.get(B + "/models")).json()
        active = [m for m in models if m["active"]]
        if active and active[0]["metrics"].get("n_examples") == 6:
            break
        await asyncio.sleep(0.1)
    assert [m["metrics"]["n_examples"] for m in active] == [6]
