"""Bot end to end: a customer's widget message → the bot's answer on the customer's widget socket, over a
live kefu server (SQLite, embedded mode), next to a baseline in the same process: the same message in a
bot-disabled inbox → its receipt on the agent socket.

    .venv/bin/python bench/bot_e2e.py [--messages 200] [--port 8797] [--json]

Prints p50 / p95 / max for both, and the bot's own breakdown (from the `bot.decided` events).
Knowledge: 20 FAQ entries (zh + en); the account has the demo intents, so every message also runs the
intent model. Results are recorded in docs/benchmarks.md ("Bot end to end").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets

from kefu.accounts.service import do_create_account
from kefu.auth.passwords import use_fast_hashing
from kefu.auth.principal import Principal
from kefu.auth.schemas import UserCreate
from kefu.auth.service import check_create_user, do_create_api_token
from kefu.bot.demo import seed_bot
from kefu.core.constants import ActorType, Role
from kefu.core.events import Actor, commit
from kefu.core.migrate import upgrade
from kefu.main import create_app
from kefu.settings import Settings

TOPICS_ZH = [
    ("怎么申请退款？", ["我想退款", "退款怎么操作"], "在订单页点击“申请退款”，1–3 个工作日原路退回。"),
    ("如何开发票？", ["能开发票吗", "开具电子发票"], "在订单详情页申请电子发票。"),
    ("运费怎么算？", ["运费多少钱", "包邮吗"], "满 99 元包邮，不满收 8 元。"),
    ("可以修改收货地址吗？", ["改地址", "地址填错了"], "发货前可在订单页修改地址。"),
    ("支持哪些付款方式？", ["能用花呗吗", "怎么付款"], "支持微信、支付宝、银行卡。"),
    ("保修期多久？", ["保修多长时间", "质保几年"], "整机保修一年。"),
    ("怎么联系售后？", ["售后电话", "售后在哪"], "工作日 9:00–18:00 拨打 400-000-0000。"),
    ("发票抬头写错了怎么办？", ["发票信息错了", "重开发票"], "在发票页申请重开。"),
    ("多久发货？", ["什么时候发货", "几天能发货"], "付款后 48 小时内发货。"),
    ("可以取消订单吗？", ["取消订单", "不想买了"], "未发货的订单可在订单页取消。"),
]
TOPICS_EN = [
    ("How do I get a refund?", ["I want a refund", "refund my order"], "Open the order and tap Refund."),
    ("What are your opening hours?", ["When are you open?"], "We answer 9:00–21:00 every day."),
    ("How much is shipping?", ["shipping cost", "is shipping free"], "Free over ¥99, else ¥8."),
    ("Can I change my address?", ["wrong address", "update shipping address"], "Before shipping, in the order."),
    ("Which payment methods do you accept?", ["how can I pay"], "WeChat Pay, Alipay and cards."),
    ("How long is the warranty?", ["warranty period"], "One year."),
    ("How do I contact support?", ["support phone number"], "Call 400-000-0000, 9:00–18:00."),
    ("Can I cancel my order?", ["cancel order"], "Yes, before it ships."),
    ("When will my order ship?", ["shipping time"], "Within 48 hours of payment."),
    ("Do you ship abroad?", ["international shipping"], "Only within mainland China for now."),
]
QUESTIONS = [v for _, vs, _ in TOPICS_ZH + TOPICS_EN for v in vs]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"n={len(values)}  p50={pct(values, 50):.1f} ms  p95={pct(values, 95):.1f} ms  "
        f"max={max(values):.1f} ms  mean={statistics.fmean(values):.1f} ms"
    )


async def setup(state: Any, base: str) -> tuple[str, int]:
    async with state.sessionmaker() as session:
        account = await do_create_account(session, "bench " + uuid.uuid4().hex[:6])
        await commit(session)
        data = UserCreate(
            email=f"{uuid.uuid4().hex[:8]}@bench.kefu", name="Admin", password="bench-password-1", role=Role.ADMIN
        )
        user = await check_create_user(session, account.id, data, Actor(ActorType.SYSTEM))
        _, token = await do_create_api_token(session, Principal(user=user, via="token"), "bench")
    async with state.sessionmaker() as session:
        await seed_bot(session, account.id, base)
    return token, account.id


async def post_faqs(http: httpx.AsyncClient) -> None:
    for lang, topics in (("zh", TOPICS_ZH), ("en", TOPICS_EN)):
        for question, variants, answer in topics:
            body = {"question": question, "variants": variants, "answer": answer, "language": lang,
                    "status": "published"}  # fmt: skip
            r = await http.post("/api/v1/knowledge/faqs", json=body)
            r.raise_for_status()


async def visitor(http: httpx.AsyncClient, inbox_key: str) -> str:
    r = await http.post(f"/api/v1/widget/{inbox_key}/contacts", json={"name": "bench"})
    r.raise_for_status()
    return str(r.json()["token"])


async def wait_for(ws: Any, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg  # type: ignore[no-any-return]

    return await asyncio.wait_for(loop(), timeout)


async def measure_bot(http: httpx.AsyncClient, ws_base: str, key: str, n: int, actions: dict[str, int]) -> list[float]:
    out: list[float] = []
    token = ""
    for i in range(n):
        if i % 20 == 0 or not token:  # a fresh customer now and then (and after a handoff)
            token = await visitor(http, key)
        r = await http.post(f"/api/v1/widget/{key}/socket_ticket", headers={"X-Contact-Token": token})
        ticket = r.json()["ticket"]
        async with websockets.connect(f"{ws_base}/ws/widget?inbox={key}&ticket={ticket}") as ws:
            await ws.recv()  # hello
            body = {"content": QUESTIONS[i % len(QUESTIONS)], "client_message_id": uuid.uuid4().hex}
            started = time.perf_counter()
            await http.post(f"/api/v1/widget/{key}/messages", json=body, headers={"X-Contact-Token": token})
            got = await wait_for(ws, lambda m: m.get("type") == "message.created" and m["payload"]["kind"] == "bot")
            out.append((time.perf_counter() - started) * 1000)
        action = got["payload"]["meta"]["bot"]["action"]
        actions[action] = actions.get(action, 0) + 1
        if action == "handoff":
            token = ""
    return out


async def measure_baseline(http: httpx.AsyncClient, ws_base: str, api_token: str, key: str, n: int) -> list[float]:
    out: list[float] = []
    token = await visitor(http, key)
    async with websockets.connect(
        f"{ws_base}/ws/agent", additional_headers={"Authorization": f"Bearer {api_token}"}
    ) as ws:
        await ws.recv()
        for i in range(n):
            text = QUESTIONS[i % len(QUESTIONS)]
            cmid = uuid.uuid4().hex
            started = time.perf_counter()
            await http.post(f"/api/v1/widget/{key}/messages", json={"content": text, "client_message_id": cmid},
                            headers={"X-Contact-Token": token})  # fmt: skip
            await wait_for(ws, lambda m, c=cmid: m.get("type") == "message.created"
                           and m["payload"].get("client_message_id") == c)  # fmt: skip
            out.append((time.perf_counter() - started) * 1000)
    return out


async def bot_breakdown(http: httpx.AsyncClient) -> dict[str, list[float]]:
    r = await http.get("/api/v1/events", params={"type": "bot.decided", "limit": 500})
    parts: dict[str, list[float]] = {}
    for event in r.json():
        for k, v in event["payload"].get("timings_ms", {}).items():
            parts.setdefault(k, []).append(float(v))
    return parts


async def main(args: argparse.Namespace) -> None:
    use_fast_hashing()
    url = args.database_url
    base = f"http://127.0.0.1:{args.port}"
    settings = Settings(
        env="test",
        database_url=url,
        base_url=base,
        port=args.port,
        secret_key="bench-" + uuid.uuid4().hex,
        demo=True,  # the order flow calls kefu's own demo order API
        widget_visitors_per_ip=1_000_000,  # every visitor comes from 127.0.0.1
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", ws="websockets-sansio")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        state = app.state.kefu
        api_token, _ = await setup(state, base)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {api_token}"}, timeout=30
        ) as http:
            await post_faqs(http)
            bot_inbox = (await http.post("/api/v1/inboxes", json={"name": "bot", "bot_enabled": True})).json()
            plain_inbox = (await http.post("/api/v1/inboxes", json={"name": "plain", "bot_enabled": False})).json()
            ws_base = base.replace("http://", "ws://")
            print("warm-up (index build, model load) …", file=sys.stderr)
            await measure_bot(http, ws_base, bot_inbox["public_key"], 5, {})
            await measure_baseline(http, ws_base, api_token, plain_inbox["public_key"], 5)
            print(f"measuring {args.messages} messages each …", file=sys.stderr)
            baseline = await measure_baseline(http, ws_base, api_token, plain_inbox["public_key"], args.messages)
            actions: dict[str, int] = {}
            bot = await measure_bot(http, ws_base, bot_inbox["public_key"], args.messages, actions)
            parts = await bot_breakdown(http)
        print("Bot end-to-end (SQLite, embedded; one customer at a time)")
        print(f"  baseline, bot-disabled inbox → agent socket : {summary(baseline)}")
        print(f"  bot answer → widget socket                   : {summary(bot)}")
        print(f"    decisions: {dict(sorted(actions.items()))}")
        for name in ("read", "pipeline", "embed", "intent", "sentiment", "nlu_and_search", "policy_and_flow", "total"):
            if name in parts:
                print(f"    bot {name:<16}: {summary(parts[name])}")
        if args.json:
            out: dict[str, Any] = {"messages": args.messages, "decisions": dict(sorted(actions.items()))}
            for key, values in (("bot", bot), ("baseline", baseline), *((f"bot_{k}", v) for k, v in parts.items())):
                if values:
                    out[f"{key}_p50_ms"] = round(pct(values, 50), 1)
                    out[f"{key}_p95_ms"] = round(pct(values, 95), 1)
            print(json.dumps(out))
    finally:
        server.should_exit = True
        await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    arguments = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kefu-bench-bot-"))
    arguments.database_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    upgrade(arguments.database_url)  # before the event loop: Alembic's env runs its own
    asyncio.run(main(arguments))
