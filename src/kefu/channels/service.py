"""Inboxes: create, update, look up by public key; the widget embed snippet."""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Team
from kefu.auth.access import get_scoped, restrict
from kefu.channels.configs import CONFIGS, SECRET_MASK
from kefu.channels.models import Inbox
from kefu.channels.schemas import InboxCreate, InboxRead, InboxUpdate
from kefu.core.constants import ChannelType, EventType
from kefu.core.errors import NotFound, Unprocessable
from kefu.core.events import Actor, commit, emit


async def list_inboxes(session: AsyncSession, account_id: int) -> list[Inbox]:
    q = restrict(select(Inbox), Inbox, account_id).order_by(Inbox.id)
    return list((await session.execute(q)).scalars())


async def get_inbox(session: AsyncSession, account_id: int, inbox_id: int) -> Inbox:
    return await get_scoped(session, Inbox, inbox_id, account_id, "inbox")


async def get_inbox_by_key(session: AsyncSession, public_key: str, channel_type: ChannelType) -> Inbox:
    q = select(Inbox).where(Inbox.public_key == public_key, Inbox.channel_type == str(channel_type))
    inbox = (await session.execute(q)).scalar_one_or_none()
    if inbox is None:
        raise NotFound("inbox", public_key)
    return inbox


async def get_inbox_by_public_key(session: AsyncSession, public_key: str) -> Inbox:
    """The inbox a provider's webhook names (/channels/{public_key}), of any channel."""
    inbox = (await session.execute(select(Inbox).where(Inbox.public_key == public_key))).scalar_one_or_none()
    if inbox is None:
        raise NotFound("inbox", public_key)
    return inbox


def checked_config(kind: str, raw: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An inbox's config as its channel's adapter validates it (422 naming the field otherwise). A secret
    field sent back as the mask the API shows keeps its stored value."""
    channel = CONFIGS.get(kind)
    if channel is None:
        return dict(raw)
    merged = dict(raw)
    for name in channel.secret_fields:
        if merged.get(name) == SECRET_MASK:
            merged[name] = (previous or {}).get(name)
    try:
        config = channel.schema.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(["config", *(str(part) for part in first["loc"])])
        raise Unprocessable(
            f"{where}: {first['msg']}", details=exc.errors(include_url=False, include_context=False)
        ) from None
    return config.model_dump(mode="json", exclude_none=False)


async def check_create_inbox(session: AsyncSession, account_id: int, data: InboxCreate, actor: Actor) -> Inbox:
    if data.team_id is not None:
        await get_scoped(session, Team, data.team_id, account_id, "team")
    inbox = Inbox(
        account_id=account_id,
        name=data.name,
        channel_type=str(data.channel_type),
        public_key=secrets.token_urlsafe(18),
        greeting=data.greeting,
        bot_enabled=data.bot_enabled,
        team_id=data.team_id,
        config=checked_config(str(data.channel_type), data.config),
    )
    session.add(inbox)
    await session.flush()
    emit(session, account_id, EventType.INBOX_CREATED, _payload(inbox), actor=actor)
    await commit(session)
    return inbox


async def check_update_inbox(
    session: AsyncSession, account_id: int, inbox_id: int, data: InboxUpdate, actor: Actor
) -> Inbox:
    inbox = await get_inbox(session, account_id, inbox_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("team_id") is not None:
        await get_scoped(session, Team, changes["team_id"], account_id, "team")
    if changes.get("config") is not None:
        changes["config"] = checked_config(inbox.channel_type, changes["config"], inbox.config)
    for field, value in changes.items():
        if value is None and field != "team_id":
            continue
        setattr(inbox, field, value)
    emit(session, account_id, EventType.INBOX_UPDATED, _payload(inbox), actor=actor)
    await commit(session)
    return inbox


def callback_url(base_url: str, inbox: Inbox) -> str:
    """The absolute URL a provider calls for this inbox (channels/webhook.py)."""
    return f"{base_url.rstrip('/')}/channels/{inbox.public_key}"


def embed_snippet(base_url: str, inbox: Inbox) -> tuple[str, str]:
    src = base_url.rstrip("/") + "/widget.js"
    snippet = f'<script src="{html.escape(src)}" data-inbox="{html.escape(inbox.public_key)}" async></script>'
    return snippet, src


def _payload(inbox: Inbox) -> dict[str, object]:
    return InboxRead.model_validate(inbox).model_dump(mode="json")
