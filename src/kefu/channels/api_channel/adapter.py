"""The API channel as a channel adapter (channels/base.py; docs/channels/api.md).

Inbound: `POST /channels/{public_key}` (channels/webhook.py) with `Authorization: Bearer <the inbox's
secret>` (compared in constant time) and a JSON body — a customer's message or a phone-call record
(api_channel/schemas.py). The inbox (404), the token (401), the size (413), the JSON (400) and its fields
(422) are checked before anything is stored. The message's `id` (a call's `call:<id>`) is its
client_message_id, so a retry stores nothing new; the answer lists each stored message, its conversation
and whether it was a retry (`"duplicate": true`).

Outbound: a reply is POSTed to the inbox's `webhook_url`, signed like outbound webhooks (kefu.core.signing)
with the inbox's secret, through kefu.core.http under the account's outbound hosts: 2xx → sent; 5xx, 408,
429, a timeout or a failed connection → retried; another 4xx or a URL the policy refuses → failed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from kefu.channels.api_channel.contacts import contact_for, e164, identities
from kefu.channels.api_channel.schemas import CallPost, MessagePost
from kefu.channels.base import ChannelAdapter, DeliveryResult, InboundRequest, OutboundMessage, register
from kefu.channels.service import get_inbox_by_key
from kefu.conversations.ingest import Received
from kefu.conversations.schemas import ContactMessageCreate, InboundMessage, InboxRef
from kefu.conversations.service import check_size
from kefu.core import clock
from kefu.core.constants import ChannelType
from kefu.core.errors import BadRequest, TooLarge, Unauthorized
from kefu.core.http import OutboundDenied, OutboundError, OutboundHttp
from kefu.core.signing import encode_body, signed_headers
from kefu.core.state import AppState

MAX_BODY_BYTES = 256 * 1024
CALL_PREFIX = "call:"
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]


class ApiInboxConfig(BaseModel):
    """`secret` authenticates inbound requests (Bearer) and signs outbound replies; replies go to
    `webhook_url` (none: replies are stored but not delivered — they show as failed)."""

    webhook_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    secret: Secret


def _bad_fields(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)])


def _parse(body: bytes) -> MessagePost | CallPost:
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BadRequest("the body must be a JSON object")
    model: type[MessagePost] | type[CallPost] = CallPost if raw.get("type") == "call" else MessagePost
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _bad_fields(exc) from None


def _duration(seconds: int) -> str:
    minutes, s = divmod(seconds, 60)
    return f"{minutes} min {s} s" if minutes else f"{s} s"


class ApiAdapter(ChannelAdapter):
    kind = str(ChannelType.API)
    config_schema = ApiInboxConfig
    secret_fields = frozenset({"secret"})
    timeout_s: ClassVar[float] = 10.0
    http: OutboundHttp | None = None  # tests may inject one

    async def parse_inbound(self, state: AppState, request: InboundRequest) -> list[InboundMessage]:
        async with state.sessionmaker() as session:
            inbox = await get_inbox_by_key(session, request.inbox_key, ChannelType.API)
            ref = InboxRef(inbox.id, inbox.account_id, inbox.public_key, inbox.channel_type)
            config = dict(inbox.config or {})
        self._authenticate(request, str(config.get("secret") or ""))
        if len(request.body) > MAX_BODY_BYTES:
            raise TooLarge(f"the body is {len(request.body):,} bytes; the limit is {MAX_BODY_BYTES:,}")
        post = _parse(request.body)
        content = (post.call.transcript or "") if isinstance(post, CallPost) else post.message.content
        check_size(content, state.settings.max_message_chars)  # before a contact is created for it
        if isinstance(post, CallPost):
            return [await self._call(state, ref, post)]
        return [await self._message(state, ref, post)]

    @staticmethod
    def _authenticate(request: InboundRequest, secret: str) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the inbox's secret as Authorization: Bearer <secret>")
        if not secret or not hmac.compare_digest(token.strip().encode(), secret.encode()):
            raise Unauthorized("the bearer token is not this inbox's secret")

    async def _message(self, state: AppState, ref: InboxRef, post: MessagePost) -> InboundMessage:
        pairs = identities(post.contact)
        try:
            data = ContactMessageCreate(content=post.message.content, client_message_id=post.message.id)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", "message", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        async with state.sessionmaker() as session:
            contact_id = await contact_for(session, ref.account_id, ref.id, pairs, post.contact.name or "")
        meta: dict[str, Any] = {"api": {"message_id": post.message.id}}
        if post.message.attachments:
            meta["links"] = [a.model_dump(exclude_none=True) for a in post.message.attachments]
        return InboundMessage(ref, contact_id, data, meta=meta)

    async def _call(self, state: AppState, ref: InboxRef, post: CallPost) -> InboundMessage:
        call = post.call
        number = e164(call.customer_number, ("call", "callee" if call.direction == "outbound" else "caller"))
        record = call.model_dump(mode="json", exclude_none=True)
        record["caller"] = e164(call.caller, ("call", "caller"))
        if call.callee:
            record["callee"] = e164(call.callee, ("call", "callee"))
        summary = f"☎ {record['caller']} → {record.get('callee', '')} · {_duration(call.duration_s)}"
        content = (call.transcript or "").strip() or summary
        data = ContactMessageCreate(content=content, client_message_id=CALL_PREFIX + call.id)
        name = (post.contact.name if post.contact else None) or ""
        async with state.sessionmaker() as session:
            contact_id = await contact_for(session, ref.account_id, ref.id, identities(post.contact, number), name)
        return InboundMessage(ref, contact_id, data, meta={"call": record})

    def inbound_answer(self, received: Sequence[Received]) -> tuple[str, str]:
        messages = [
            {"id": r.message.id, "conversation_id": r.conversation_id, "duplicate": not r.created} for r in received
        ]
        return json.dumps({"received": len(received), "messages": messages}), "application/json"

    async def send(self, outbound: OutboundMessage, config: BaseModel) -> DeliveryResult:
        assert isinstance(config, ApiInboxConfig)
        if not config.webhook_url:
            return DeliveryResult.failed("the API inbox has no webhook_url to deliver replies to")
        body = encode_body(_reply_body(outbound))
        headers = signed_headers(config.secret, f"message-{outbound.message_id}", int(clock.now().timestamp()), body)
        http = self.http or OutboundHttp(timeout_s=self.timeout_s)
        try:
            resp = await http.request(
                "POST",
                config.webhook_url,
                content=body,
                headers=headers,
                policy=outbound.policy,
                timeout_s=self.timeout_s,
            )
        except OutboundDenied as exc:
            return DeliveryResult.failed(str(exc))
        except OutboundError as exc:
            return DeliveryResult.retry_later(str(exc))
        if resp.ok:
            return DeliveryResult.sent()
        error = f"the webhook answered HTTP {resp.status_code}"
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            return DeliveryResult.retry_later(error)
        return DeliveryResult.failed(error)


def _reply_body(outbound: OutboundMessage) -> dict[str, Any]:
    return {
        "id": f"message-{outbound.message_id}",
        "event": "message.created",
        "created_at": clock.now().isoformat(),
        "data": {
            "message": {
                "id": outbound.message_id,
                "content": outbound.content,
                "attachments": outbound.attachments,
            },
            "conversation_id": outbound.conversation_id,
            "contact": {"id": outbound.contact_id, "identities": outbound.identities},
        },
    }


API = register(ApiAdapter())
