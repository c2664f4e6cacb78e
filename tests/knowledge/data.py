"""A small bilingual FAQ set for the knowledge tests (kept small: every test account embeds it)."""

from __future__ import annotations

from typing import Any

from tests.support.factories import World

FAQS: list[dict[str, Any]] = [
    {
        "question": "如何申请退货？",
        "variants": ["怎么退货", "我想退货", "如何申請退貨？", "怎麼退貨"],
        "answer": "在“我的订单”中找到商品，点击“申请退货”，填写原因后寄回即可，签收后 3 个工作日内审核。",
        "category": "退换货",
        "tags": ["退货"],
        "language": "zh",
    },
    {
        "question": "退款多久到账？",
        "variants": ["退款什么时候到", "退款多久能收到", "退款多久到帳？"],
        "answer": "退货审核通过后，退款原路返回，一般 1-5 个工作日到账。",
        "category": "退款",
        "tags": ["退款"],
        "language": "zh",
    },
    {
        "question": "订单什么时候发货？",
        "variants": ["什么时候发货", "多久发货", "訂單什麼時候出貨？"],
        "answer": "现货商品付款后 48 小时内发货，预售商品以页面标注时间为准。",
        "category": "物流",
        "tags": ["发货"],
        "language": "zh",
    },
    {
        "question": "如何开发票？",
        "variants": ["怎么开发票", "可以开发票吗", "如何開發票？"],
        "answer": "确认收货后在订单详情页点击“申请发票”，电子发票会发送到您的邮箱。",
        "category": "发票",
        "tags": ["发票"],
        "language": "zh",
    },
    {
        "question": "怎么修改收货地址？",
        "variants": ["改地址", "修改地址", "如何修改收貨地址？"],
        "answer": "订单发货前可在订单详情页修改收货地址；已发货的订单请联系客服。",
        "category": "订单",
        "tags": ["地址"],
        "language": "zh",
    },
    {
        "question": "How do I return an item?",
        "variants": ["return policy", "send something back"],
        "answer": "Open My Orders, choose the item and click Return. Items can be returned within 7 days.",
        "category": "returns",
        "tags": ["returns"],
        "language": "en",
    },
    {
        "question": "How can I track my package?",
        "variants": ["where is my order", "tracking number"],
        "answer": "Your tracking number is in the shipping e-mail and on the order page.",
        "category": "shipping",
        "tags": ["shipping"],
        "language": "en",
    },
]


async def create_faqs(world: World, *, publish: bool = True) -> list[dict[str, Any]]:
    out = []
    for faq in FAQS:
        r = await world.http.post("/api/v1/knowledge/faqs", json={**faq, "status": "published" if publish else "draft"})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out
