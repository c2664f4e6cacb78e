"""/api/v1/attachments: agents upload; anyone holding a signed URL downloads (it works in an <img> tag)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Response, UploadFile

from kefu.attachments import service
from kefu.attachments.files import IMAGE_TYPES
from kefu.attachments.models import Attachment
from kefu.attachments.schemas import AttachmentRead
from kefu.auth.deps import CanHandle
from kefu.core.deps import SessionDep, StateDep
from kefu.core.openapi import errors
from kefu.core.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["attachments"])
UploadField = Annotated[UploadFile, File(description="the file: PNG, JPEG, GIF, WebP, PDF or UTF-8 text")]


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes, at most one past the limit (enough to refuse it)."""
    return await file.read(limit + 1)


@router.post("/attachments", response_model=AttachmentRead, status_code=201, responses=errors(413, 415))
async def upload(file: UploadField, session: SessionDep, state: StateDep, principal: CanHandle) -> AttachmentRead:
    """Upload a file, then send it by putting `{"id": …}` in a message's `attachments`. 413 over
    KEFU_MAX_ATTACHMENT_BYTES, 415 for other types (or content that does not match the type), 422 empty."""
    limit = state.settings.max_attachment_bytes
    att = await service.check_store_upload(
        session,
        principal.account_id,
        principal.actor,
        filename=file.filename,
        content_type=file.content_type,
        data=await read_upload(file, limit),
        limit=limit,
    )
    return service.read(att, state.settings.secret_key)


def content_disposition(att: Attachment) -> str:
    kind = "inline" if att.content_type in IMAGE_TYPES else "attachment"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in att.name)
    if fallback == att.name:
        return f'{kind}; filename="{fallback}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(att.name, safe='')}"


@router.get(
    "/attachments/{attachment_id}/{signature}",
    response_class=Response,
    responses={200: {"description": "the file's bytes with its stored content type"}},
)
async def download(attachment_id: Id, signature: str, session: SessionDep, state: StateDep) -> Response:
    """The file of a signed URL from an upload's answer or a message's attachments; 404 when the
    signature is not this attachment's or has expired (fetch the message again for a fresh URL)."""
    att, left = await service.get_download(session, attachment_id, signature, state.settings.secret_key)
    media_type = "text/plain; charset=utf-8" if att.content_type == "text/plain" else att.content_type
    headers = {
        "Content-Disposition": content_disposition(att),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": f"private, max-age={left}",  # the file never changes; the URL expires
    }
    return Response(att.data, media_type=media_type, headers=headers)
