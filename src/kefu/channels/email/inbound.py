"""One mail into one inbox: what the IMAP poller and the SMTP receiver both call."""

from __future__ import annotations

from kefu.channels.base import InboundRequest
from kefu.channels.email.adapter import EMAIL
from kefu.conversations.inbound import receive_customer_messages
from kefu.conversations.ingest import Received
from kefu.core.state import AppState


async def receive_mail(state: AppState, inbox_key: str, raw: bytes) -> list[Received]:
    """Parse and store the mail (once per Message-ID); a 4xx `KefuError` when it is not a mail we take."""
    messages = await EMAIL.parse_inbound(state, InboundRequest(inbox_key, body=raw))
    return await receive_customer_messages(state, messages)
