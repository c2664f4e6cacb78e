"""A channel adapter for tests: its webhook takes `{"contact_id", "content", "client_message_id"}` signed
with the inbox's `secret` (header `X-Test-Secret`), and it records what it is asked to send. How a send
goes is scripted by the reply's text: `fail:N …` raises (a channel outage) on the first N attempts, then
sends; `reject …` is a permanent failure."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select, update

from kefu.channels import base
from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage
from kefu.channels.models import Inbox
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from kefu.core.errors import BadRequest, NotFound, Unauthorized
from kefu.core.state import AppState

KIND = "test_recording"


class RecordingConfig(BaseModel):
    secret: str = Field(min_length=8)


class RecordingAdapter(ChannelAdapter):
    kind = KIND
    config_schema = RecordingConfig

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.attempts: Counter[int] = Counter()

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        async with state.sessionmaker() as session:
            q = select(Inbox).where(Inbox.public_key == request.inbox_key, Inbox.channel_type == KIND)
            inbox = (await session.execute(q)).scalar_one_or_none()
        if inbox is None:
            raise NotFound("inbox", request.inbox_key)
        if request.headers.get("x-test-secret") != RecordingConfig.model_validate(inbox.config).secret:
            raise Unauthorized("bad signature")
        try:
            body = json.loads(request.body)
            data = ContactMessageCreate(content=body["content"], client_message_id=body.get("client_message_id"))
            contact_id = int(body["contact_id"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise BadRequest(f"not a test message: {exc}") from None
        return [InboundMessage(InboxRef(inbox.id, inbox.account_id, inbox.public_key), contact_id, data)]

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        self.attempts[outbound.message_id] += 1
        failing = re.match(r"fail:(\d+)", outbound.content)
        if failing and self.attempts[outbound.message_id] <= int(failing.group(1)):
            raise ConnectionError("channel unreachable")
        if outbound.content.startswith("reject"):
            return DeliveryResult.failed("recipient rejected by the channel")
        self.sent.append(outbound)
        return DeliveryResult.sent(external_id=f"ext-{outbound.message_id}")


@contextmanager
def registered() -> Iterator[RecordingAdapter]:
    adapter = base.register(RecordingAdapter())
    try:
        yield adapter
    finally:
        base.unregister(KIND)


async def make_recording_inbox(state: AppState, inbox_id: int, secret: str = "s3cret-test") -> None:
    """Turn an inbox made through the API into one of this channel."""
    async with state.sessionmaker() as session:
        await session.execute(
            update(Inbox).where(Inbox.id == inbox_id).values(channel_type=KIND, config={"secret": secret})
        )
        await session.commit()
