"""The web-chat widget as a channel adapter (channels/base.py).

Inbound: a POST of one message with the visitor's signed contact token in `X-Contact-Token`. The body
is checked first (400 for bad JSON, 422 for fields, as FastAPI reports them), then the inbox (404) and
the token (401) — from per-process caches, without a database read in the common case.
Outbound: nothing to do; the widget's socket forwards the `message.created` event to the visitor.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError

from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage, register
from kefu.channels.widget import service
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage
from kefu.core.constants import ChannelType
from kefu.core.state import AppState

TOKEN_HEADER = "x-contact-token"


class WidgetInboxConfig(BaseModel):
    """A widget inbox has no channel settings yet (its name, greeting and bot switch are the inbox's)."""

    model_config = ConfigDict(extra="allow")


def parse_message(body: bytes) -> ContactMessageCreate:
    """The message body, validated straight from the JSON bytes; errors reported like FastAPI's."""
    try:
        return ContactMessageCreate.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


class WidgetAdapter(ChannelAdapter):
    kind = str(ChannelType.WEB_WIDGET)
    config_schema = WidgetInboxConfig
    delivers = False

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        data = parse_message(request.body)
        return [await self.verified(state, request, data)]

    async def verified(self, state: AppState, request: InboundRequest, data: ContactMessageCreate) -> InboundMessage:
        """`data` from the visitor the request's token names, in the inbox its key names."""
        inbox = await service.widget_inboxes(state).get(request.inbox_key)
        contact_id = await service.visitor_contact_id(state, inbox, request.headers.get(TOKEN_HEADER))
        return InboundMessage(inbox, contact_id, data)

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        return DeliveryResult.sent()  # the published event is the delivery


WIDGET = register(WidgetAdapter())
