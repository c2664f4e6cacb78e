"""Store an upload, serve it by its signed URL, and resolve a message's references to uploads."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from kefu.attachments.files import check_file, clean_name
from kefu.attachments.models import Attachment
from kefu.attachments.schemas import AttachmentRead
from kefu.attachments.urls import signer_for
from kefu.conversations.schemas import AttachmentIn
from kefu.core.constants import ActorType
from kefu.core.errors import NotFound
from kefu.core.events import Actor

_URL_ID = re.compile(r"^/api/v1/attachments/(\d+)/")


def url_of(att: Attachment, secret: str) -> str:
    return signer_for(secret).url(att.id)


def read(att: Attachment, secret: str) -> AttachmentRead:
    return AttachmentRead(
        id=att.id, name=att.name, content_type=att.content_type, size=att.size, url=url_of(att, secret)
    )


async def check_store_upload(
    session: AsyncSession,
    account_id: int,
    uploader: Actor,
    *,
    filename: str | None,
    content_type: str | None,
    data: bytes,
    limit: int,
) -> Attachment:
    """Validate the file (size, type, magic bytes) and store it; nothing is stored when it is refused."""
    ctype = check_file(data, content_type, limit)
    att = Attachment(
        account_id=account_id,
        name=clean_name(filename),
        content_type=ctype,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploader_type=uploader.type,
        uploader_id=uploader.id,
    )
    session.add(att)
    await session.commit()
    return att


async def get_download(
    session: AsyncSession, attachment_id: int, signature: str, secret: str
) -> tuple[Attachment, int]:
    """The attachment with its bytes and the seconds its URL stays valid, when the signature is its own
    and unexpired; otherwise 404 (never 403, so a wrong or old signature does not tell whether the id
    exists). The signature is checked before the database is read."""
    left = signer_for(secret).valid(attachment_id, signature)
    if left is None:
        raise NotFound("attachment", attachment_id)
    att = await session.scalar(
        select(Attachment).where(Attachment.id == attachment_id).options(undefer(Attachment.data))
    )
    if att is None:
        raise NotFound("attachment", attachment_id)
    return att, left


def _referenced_id(item: AttachmentIn) -> int:
    if item.id is not None:
        return item.id
    m = _URL_ID.match(item.url or "")
    if m is None:
        raise NotFound("attachment")
    return int(m.group(1))


async def resolve_references(
    session: AsyncSession, account_id: int, items: Sequence[AttachmentIn], secret: str, *, sender: Actor
) -> list[AttachmentIn]:
    """A message's attachments as stored: each must be an upload of this account (a customer may only
    send their own uploads); its name, type, size and URL come from the stored row, not the request."""
    if not items:
        return []
    ids = [_referenced_id(i) for i in items]
    query = select(Attachment).where(Attachment.account_id == account_id, Attachment.id.in_(ids))
    if sender.type == ActorType.CONTACT:
        query = query.where(Attachment.uploader_type == ActorType.CONTACT, Attachment.uploader_id == sender.id)
    found = {a.id: a for a in await session.scalars(query)}
    out = []
    for ident in ids:
        att = found.get(ident)
        if att is None:
            raise NotFound("attachment", ident)
        out.append(AttachmentIn.model_validate(read(att, secret).model_dump()))
    return out
