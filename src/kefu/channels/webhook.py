"""The webhook every provider-called channel shares: `GET|POST /channels/{public_key}` — an inbox's
`callback_url` (channels/service.py).

GET is the provider's check of the URL (`ChannelAdapter.verify_url`, e.g. WeChat's echostr); POST
carries what the provider sends: the inbox's adapter verifies and parses it (`parse_inbound`, a 4xx and
nothing stored for anything forged, stale or malformed), the one inbound action stores each message once
(a provider's retry carries the same id and is answered without a second message), and the adapter says
what the provider expects back (`inbound_reply`). The widget keeps its own routes (channels/widget/api.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kefu.channels.base import InboundRequest, get_adapter
from kefu.channels.service import get_inbox_by_public_key
from kefu.conversations.inbound import receive_customer_messages
from kefu.core.constants import ChannelType
from kefu.core.errors import NotFound
from kefu.core.openapi import errors
from kefu.core.state import AppState

router = APIRouter(prefix="/channels", tags=["channels"])


async def _request(request: Request, public_key: str) -> tuple[AppState, InboundRequest, str]:
    state: AppState = request.app.state.kefu
    async with state.sessionmaker() as session:
        inbox = await get_inbox_by_public_key(session, public_key)
        kind = inbox.channel_type
    if kind == ChannelType.WEB_WIDGET:
        raise NotFound("channel webhook of inbox", public_key)
    inbound = InboundRequest(
        inbox_key=public_key,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
        query=dict(request.query_params),
    )
    return state, inbound, kind


@router.get("/{public_key}", responses=errors(400, 401, 403, 404), summary="A provider checks the callback URL")
async def verify(public_key: str, request: Request) -> Response:
    state, inbound, kind = await _request(request, public_key)
    text = await get_adapter(kind).verify_url(state, inbound)
    return Response(text, media_type="text/plain")


@router.post(
    "/{public_key}", responses=errors(400, 401, 403, 404, 413, 422, 503), summary="A provider delivers messages"
)
async def receive(public_key: str, request: Request) -> Response:
    state, inbound, kind = await _request(request, public_key)
    adapter = get_adapter(kind)
    messages = await adapter.parse_inbound(state, inbound)
    got = await receive_customer_messages(state, messages)
    await adapter.inbound_stored(state, inbound)
    body, media_type = adapter.inbound_answer(got)
    return Response(body, media_type=media_type)
