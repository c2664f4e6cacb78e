"""/api/v1/inboxes."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.auth.deps import CanManageInboxes, CanViewTeam
from kefu.channels import service
from kefu.channels.models import Inbox
from kefu.channels.schemas import EmbedSnippet, InboxCreate, InboxRead, InboxUpdate
from kefu.core.constants import ChannelType
from kefu.core.deps import SessionDep, SettingsDep
from kefu.core.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["inboxes"])


def read(inbox: Inbox, base_url: str) -> InboxRead:
    """An inbox as the API shows it: secrets masked, with the provider's callback URL."""
    out = InboxRead.model_validate(inbox)
    if inbox.channel_type != ChannelType.WEB_WIDGET:
        out.callback_url = service.callback_url(base_url, inbox)
    return out


@router.get("/inboxes", response_model=list[InboxRead])
async def list_inboxes(session: SessionDep, settings: SettingsDep, principal: CanViewTeam) -> list[InboxRead]:
    return [read(i, settings.base_url) for i in await service.list_inboxes(session, principal.account_id)]


@router.post("/inboxes", response_model=InboxRead, status_code=201)
async def create_inbox(
    data: InboxCreate, session: SessionDep, settings: SettingsDep, principal: CanManageInboxes
) -> InboxRead:
    inbox = await service.check_create_inbox(session, principal.account_id, data, principal.actor)
    return read(inbox, settings.base_url)


@router.get("/inboxes/{inbox_id}", response_model=InboxRead)
async def get_inbox(inbox_id: Id, session: SessionDep, settings: SettingsDep, principal: CanViewTeam) -> InboxRead:
    return read(await service.get_inbox(session, principal.account_id, inbox_id), settings.base_url)


@router.patch("/inboxes/{inbox_id}", response_model=InboxRead)
async def update_inbox(
    inbox_id: Id, data: InboxUpdate, session: SessionDep, settings: SettingsDep, principal: CanManageInboxes
) -> InboxRead:
    inbox = await service.check_update_inbox(session, principal.account_id, inbox_id, data, principal.actor)
    return read(inbox, settings.base_url)


@router.get("/inboxes/{inbox_id}/embed", response_model=EmbedSnippet)
async def embed(inbox_id: Id, session: SessionDep, settings: SettingsDep, principal: CanManageInboxes) -> EmbedSnippet:
    inbox = await service.get_inbox(session, principal.account_id, inbox_id)
    snippet, src = service.embed_snippet(settings.base_url, inbox)
    return EmbedSnippet(inbox_id=inbox.id, snippet=snippet, script_url=src)
