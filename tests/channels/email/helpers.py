"""Email inboxes and mail for the tests."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.factories import World, uniq


async def email_inbox(api: World, *, smtp_port: int | None = None, **config: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"address": "support@shop.example", **config}
    if smtp_port is not None:
        cfg.update(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_tls="none")
    return await api.inbox(name=uniq("Mail "), channel_type="email", config=cfg)


async def post_mail(api: World, inbox: dict[str, Any], raw: bytes) -> Any:
    return await api.client().post(f"/channels/{inbox['public_key']}", content=raw)


async def conversations(api: World, inbox: dict[str, Any]) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/conversations", params={"inbox_id": inbox["id"], "status": "all"})
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


async def messages(api: World, conversation_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def settled(api: World, conversation_id: int, message_id: int, timeout: float = 15.0) -> dict[str, Any]:
    """The message once its delivery is no longer pending (or has recorded an error)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        msg = next(m for m in await messages(api, conversation_id) if m["id"] == message_id)
        if msg["delivery_status"] != "pending" or msg["delivery_error"] or loop.time() > end:
            return msg
        await asyncio.sleep(0.05)


def mail(
    *,
    message_id: str,
    sender: str = "Li Wei <li.wei@example.com>",
    to: str = "support@shop.example",
    subject: str = "Where is my order?",
    body: str = "Hello, where is my order?",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


async def all_messages(api: World, inbox: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message in the inbox's conversations, oldest conversation first."""
    out: list[dict[str, Any]] = []
    for conv in reversed(await conversations(api, inbox)):
        out += await messages(api, conv["id"])
    return out
