"""The built-in SMTP receiver (aiosmtpd) for companies that point MX or a forward at kefu: `kefu serve`
starts it when `KEFU_SMTP_LISTEN=host:port` is set, in the serving process's event loop.

RCPT TO an address of some email inbox is accepted (250), any other address refused (550 5.1.1); DATA
larger than `KEFU_EMAIL_MAX_BYTES` is refused with 552; the mail goes through the same inbound path as
IMAP (stored once per Message-ID, in every inbox among the recipients). A mail the inbound path refuses is
answered 554 with the reason; a failure on our side 451 (the sender's server tries again later)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from kefu.channels.email.inbound import receive_mail
from kefu.channels.models import Inbox
from kefu.core.constants import ChannelType
from kefu.core.errors import KefuError
from kefu.core.state import AppState

log = logging.getLogger("kefu.email.smtp")


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"KEFU_SMTP_LISTEN must be host:port, not {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class _Handler:
    def __init__(self, state: AppState) -> None:
        self.state = state

    async def _inbox_keys(self, address: str) -> list[str]:
        address = address.strip().lower()
        async with self.state.sessionmaker() as session:
            q = select(Inbox.public_key, Inbox.config).where(Inbox.channel_type == ChannelType.EMAIL)
            rows = (await session.execute(q)).all()
        return [key for key, config in rows if str((config or {}).get("address", "")).lower() == address]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not await self._inbox_keys(address):
            return "550 5.1.1 no mailbox here by that name"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        keys: list[str] = []
        for rcpt in envelope.rcpt_tos:
            keys += [k for k in await self._inbox_keys(rcpt) if k not in keys]
        try:
            for key in keys:
                await receive_mail(self.state, key, raw)
        except KefuError as exc:
            if exc.status_code >= 500:
                return "451 4.3.0 the mail could not be stored now; try again later"
            return f"554 5.6.0 {exc.message}"[:500]
        except Exception:
            log.exception("a mail could not be stored")
            return "451 4.3.0 the mail could not be stored; try again later"
        return "250 OK"


class SmtpReceiver:
    def __init__(self, state: AppState, server: asyncio.base_events.Server) -> None:
        self.state = state
        self.server = server

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_smtp_receiver(state: AppState, listen: str | None = None) -> SmtpReceiver:
    host, port = parse_listen(listen or state.settings.smtp_listen or "")
    handler = _Handler(state)
    limit = state.settings.email_max_bytes

    def protocol() -> Any:
        return SMTP(handler, data_size_limit=limit, enable_SMTPUTF8=True, decode_data=False, hostname="kefu")

    # reuse_port: each worker process of `kefu serve --workers N` listens; the kernel shares the connections
    server = await asyncio.get_running_loop().create_server(protocol, host, port, reuse_port=True)
    log.info("SMTP receiver listening on %s:%s", host, port)
    return SmtpReceiver(state, server)
