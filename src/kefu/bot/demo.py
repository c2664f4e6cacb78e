"""The demo's bot: intents (zh + en examples), an order-status flow, and the order API it calls —
`GET /api/v1/demo/orders/{order_id}`, served by kefu itself so the demo needs no other system. The API is
mounted only where the demo runs (`KEFU_DEMO=1`, set by `make run`) and is not in the OpenAPI document.

`seed_bot(session, account_id, base_url)` is idempotent (called by `kefu seed-demo`); it puts the base
URL's exact host:port on the account's outbound hosts, so the flow may call kefu's own order API.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.service import do_add_outbound_host
from kefu.bot import nlu
from kefu.bot.models import BotFlow, BotIntent
from kefu.bot.schemas import BotSettingsIn, FlowCreate, IntentCreate
from kefu.bot.service import (
    check_create_flow,
    check_create_intent,
    do_put_settings,
    do_store_model,
    intent_extras,
    training_examples,
)
from kefu.bot.tasks import examples_hash
from kefu.core.constants import ActorType
from kefu.core.errors import NotFound
from kefu.core.events import Actor
from kefu.core.http import AllowedHost

router = APIRouter(prefix="/api/v1/demo", tags=["demo"])

_STATUSES = [
    ("已发货", "shipped", "SF Express 顺丰"),
    ("运输中", "in transit", "JD Logistics 京东物流"),
    ("派送中", "out for delivery", "YTO 圆通"),
    ("待发货", "awaiting shipment", None),
    ("已签收", "delivered", "SF Express 顺丰"),
]


def demo_order(order_id: str) -> dict[str, Any] | None:
    """A made-up but stable order for ids like KF20261125001 (KF + 11 digits); others do not exist."""
    oid = order_id.strip().upper()
    if not (oid.startswith("KF") and len(oid) == 13 and oid[2:].isdigit()):
        return None
    n = int(hashlib.sha256(oid.encode()).hexdigest(), 16)
    status, status_en, carrier = _STATUSES[n % len(_STATUSES)]
    day = 26 + n % 4
    return {
        "order_id": oid,
        "status": status,
        "status_en": status_en,
        "carrier": carrier,
        "eta": f"11月{day}日",
        "eta_en": f"Nov {day}",
    }


@router.get("/orders/{order_id}")
async def get_demo_order(order_id: str) -> dict[str, Any]:
    order = demo_order(order_id)
    if order is None:
        raise NotFound("order", order_id)
    return order


ORDER_FLOW: dict[str, Any] = {
    "description": "订单状态查询 Order status by order number",
    "slots": [
        {
            "name": "order_id",
            "entity": "order_id",
            "regex": r"[A-Za-z]{0,4}\d{6,20}",
            "prompt": {"zh": "请提供您的订单号（例如 KF20261125001）。",
                       "en": "What is your order number (e.g. KF20261125001)?"},
            "retry_prompt": {"zh": "没有识别到订单号，请再发一次，例如 KF20261125001。",
                             "en": "I could not find an order number. Please send it again, e.g. KF20261125001."},
        }
    ],
    "action": {"method": "GET", "url": "{base}/api/v1/demo/orders/{{order_id}}", "timeout_s": 3},
    "reply": {"zh": "订单 {order_id} 状态：{status}，预计 {eta} 送达。",
              "en": "Order {order_id}: {status_en}, expected {eta_en}."},
    "not_found_reply": {"zh": "没有找到订单 {order_id}，请核对订单号后再试。",
                        "en": "No order {order_id} was found. Please check the number."},
    "max_retries": 2,
}  # fmt: skip

INTENTS: list[dict[str, Any]] = [
    {
        "name": "order_status",
        "description": "查订单 / 物流状态 Where is my order",
        "examples": ["我的订单到哪了", "查一下订单状态", "订单什么时候发货", "帮我查下物流", "我的快递怎么还没到",
                     "订单 KF20261125001 到哪了", "Where is my order?", "Check my order status",
                     "When will my order arrive?", "Has my package shipped yet?", "track my order"],
        "flow": True,
    },
    {
        "name": "refund",
        "description": "退款 / 退货 Refunds and returns",
        "examples": ["我要退款", "怎么申请退款", "退款多久到账", "我想退货", "钱什么时候退回来", "不想要了能退吗",
                     "I want a refund", "How do I return an item?", "When will I get my money back?",
                     "refund my order please", "Can I send it back?"],
    },
    {
        "name": "human",
        "description": "要求人工 Asks for a person",
        "examples": ["转人工", "我要找人工客服", "人工服务", "让真人来回答", "找你们客服", "我要投诉",
                     "I want to talk to a human", "connect me to an agent", "real person please",
                     "let me speak to someone", "I want to complain"],
        "handoff": True,
    },
    {
        "name": "greeting",
        "description": "打招呼 Greetings",
        "examples": ["你好", "您好", "在吗", "哈喽", "早上好", "有人吗", "hi", "hello", "hey there", "good morning",
                     "anyone there?"],
        "reply": {"zh": "您好！我是智能客服，可以帮您查订单、解答退款等问题。",
                  "en": "Hi! I'm the virtual assistant — I can check orders and answer questions about refunds."},
    },
]  # fmt: skip


def order_flow_definition(base_url: str) -> dict[str, Any]:
    definition: dict[str, Any] = copy.deepcopy(ORDER_FLOW)
    definition["action"]["url"] = definition["action"]["url"].format(base=base_url.rstrip("/"))
    return definition


def demo_api_host(base_url: str) -> AllowedHost:
    """The exact host:port of kefu's own demo API (the port made explicit: allowed on loopback too)."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return AllowedHost.parse(
        f"{parts.hostname}:{port}" if ":" not in (parts.hostname or "") else f"[{parts.hostname}]:{port}"
    )


async def seed_bot(session: AsyncSession, account_id: int, base_url: str, *, train: bool = True) -> bool:
    """Create the demo intents, flow and settings unless the account already has intents; list the demo
    API's host:port as an outbound host of the account either way."""
    await do_add_outbound_host(session, account_id, demo_api_host(base_url), Actor(ActorType.SYSTEM))
    existing = await session.execute(select(BotIntent.id).where(BotIntent.account_id == account_id).limit(1))
    if existing.scalar_one_or_none() is not None:
        return False
    flow_q = select(BotFlow).where(BotFlow.account_id == account_id, BotFlow.name == "order_status")
    flow = (await session.execute(flow_q)).scalar_one_or_none()
    if flow is None:
        data = FlowCreate.model_validate({"name": "order_status", "definition": order_flow_definition(base_url)})
        flow = await check_create_flow(session, account_id, data)
    for spec in INTENTS:
        fields = {k: v for k, v in spec.items() if k != "flow"}
        if spec.get("flow"):
            fields["flow_id"] = flow.id
        await check_create_intent(session, account_id, IntentCreate.model_validate(fields))
    await do_put_settings(session, account_id, BotSettingsIn.model_validate({"handoff": {"vip_tiers": ["vip"]}}))
    if train:
        await train_now(session, account_id)
    return True


async def train_now(session: AsyncSession, account_id: int) -> None:
    """Train the intent model in this process (the CLI has no job runner)."""
    examples = await training_examples(session, account_id)
    extras = await intent_extras(session, account_id)
    await session.commit()
    blob, metrics = await asyncio.to_thread(nlu.train_intent_model, examples, extra_examples=extras)
    metrics["examples_hash"] = examples_hash(examples, extras)
    await do_store_model(session, account_id, blob, metrics)
