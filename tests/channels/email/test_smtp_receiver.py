"""The built-in SMTP receiver end to end: a live kefu server started with KEFU_SMTP_LISTEN, a real SMTP
client (aiosmtplib) on loopback. Mail to an email inbox's address lands in it once; other recipients are
refused with 550, oversized mail with 552, a mail without a sender with 554."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from tests.channels.email.conftest import fixture
from tests.channels.email.helpers import all_messages, email_inbox, mail
from tests.conftest import free_port
from tests.support.factories import World, new_account
from tests.support.server import LiveServer, start_server

MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
async def mail_server(backend: dict[str, str | None]) -> AsyncIterator[LiveServer]:
    smtp_port = free_port()
    async with start_server(
        backend,
        port=free_port(),
        redis_prefix=f"kefu-test-{uuid.uuid4().hex[:8]}:",
        smtp_listen=f"127.0.0.1:{smtp_port}",
        email_max_bytes=MAX_BYTES,
        knowledge_warmup=False,
    ) as live:
        yield live


@pytest.fixture
async def world(mail_server: LiveServer) -> AsyncIterator[World]:
    async with new_account(mail_server) as w:
        yield w


def _port(world: World) -> int:
    listen = world.server.settings.smtp_listen
    assert listen is not None
    return int(listen.rsplit(":", 1)[1])


async def _send(world: World, raw: bytes, to: list[str]) -> tuple[dict[str, object], str]:
    return await aiosmtplib.send(
        raw, sender="li.wei@example.com", recipients=to, hostname="127.0.0.1", port=_port(world)
    )


async def test_mail_to_an_inbox_address_is_stored_once(world: World) -> None:
    address = f"help-{uuid.uuid4().hex[:8]}@shop.example"
    inbox = await email_inbox(world, address=address)
    for _ in range(2):  # the sending server retries after a lost answer: one message
        _, answer = await _send(world, fixture("gbk_chinese.eml"), [address.upper()])
        assert answer.startswith("OK")
    [msg] = await all_messages(world, inbox)
    assert (msg["content"], msg["meta"]["subject"]) == (
        "你好，\n\n我的订单还没有收到，啰嗦一句：请尽快处理。",
        "关于订单的问题（朱镕基路店）",
    )


async def test_unknown_recipients_oversized_and_senderless_mail_are_refused(world: World) -> None:
    address = f"help-{uuid.uuid4().hex[:8]}@shop.example"
    inbox = await email_inbox(world, address=address)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _send(world, fixture("plain.eml"), ["nobody@shop.example"])
    assert [(r.code, r.message) for r in refused.value.recipients] == [(550, "5.1.1 no mailbox here by that name")]
    big = mail(message_id="<big-1@example.com>", body="\r\n".join(["x" * 70] * (MAX_BYTES // 70 + 10)))
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as declared:  # the client declares the SIZE
        await _send(world, big, [address])
    assert (declared.value.code, declared.value.message) == (
        552,
        "Error: message size exceeds fixed maximum message size",
    )
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=_port(world))
    async with client:  # a client that does not declare it is refused at the end of DATA
        await client.mail("li.wei@example.com")
        await client.rcpt(address)
        with pytest.raises(aiosmtplib.SMTPDataError) as undeclared:
            await client.data(big)
    assert (undeclared.value.code, undeclared.value.message) == (552, "Error: Too much mail data")
    with pytest.raises(aiosmtplib.SMTPDataError) as no_sender:
        await _send(world, b"Subject: hi\r\nMessage-ID: <ns@x>\r\n\r\nwho am I", [address])
    assert (no_sender.value.code, no_sender.value.message) == (554, "5.6.0 the mail names no sender address (From)")
    assert await all_messages(world, inbox) == []
