"""/api/v1/conversations and their messages, assignment, status, labels, typing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kefu.auth.deps import CanHandle
from kefu.conversations import service
from kefu.conversations.schemas import (
    AssignIn,
    ConversationRead,
    ConversationUpdate,
    LabelIn,
    LabelsIn,
    MessageCreate,
    MessageRead,
    StatusIn,
    TypingIn,
)
from kefu.core.constants import ConversationStatus
from kefu.core.deps import SessionDep, StateDep
from kefu.core.errors import BadRequest
from kefu.core.openapi import errors
from kefu.core.pagination import MAX_LIMIT, Cursor, TimeCursorParam
from kefu.core.schemas import AfterId, Id, Page
from kefu.realtime.typing import publish_typing

router = APIRouter(prefix="/api/v1", tags=["conversations"])

StatusFilter = Annotated[str | None, Query(pattern="^(open|pending|snoozed|resolved|all)$")]
AssigneeFilter = Annotated[
    str | None, Query(pattern=r"^(me|unassigned|all|\d+)$", description="me, unassigned, all, or a user id")
]


@router.get("/conversations", response_model=Page[ConversationRead])
async def list_conversations(
    session: SessionDep,
    principal: CanHandle,
    status: StatusFilter = None,
    assignee: AssigneeFilter = None,
    team_id: Id | None = None,
    label: Annotated[str | None, Query(max_length=64)] = None,
    inbox_id: Id | None = None,
    contact_id: Id | None = None,
    cursor: TimeCursorParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
) -> Page[ConversationRead]:
    rows, nxt = await service.list_conversations(
        session,
        principal.account_id,
        status=status,
        assignee=assignee,
        team_id=team_id,
        label=label,
        inbox_id=inbox_id,
        contact_id=contact_id,
        me_id=principal.user.id,
        cursor=Cursor.decode(cursor),
        limit=limit,
    )
    items = await service.read_conversations(session, rows)
    return Page(items=items, next_cursor=nxt.encode() if nxt else None)


@router.get("/conversations/{conv_id}", response_model=ConversationRead)
async def get_conversation(conv_id: Id, session: SessionDep, principal: CanHandle) -> ConversationRead:
    conv = await service.get_conversation(session, principal.account_id, conv_id)
    return await service.read_conversation(session, conv)


@router.patch("/conversations/{conv_id}", response_model=ConversationRead)
async def update_conversation(
    conv_id: Id, data: ConversationUpdate, session: SessionDep, principal: CanHandle
) -> ConversationRead:
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequest("nothing to change: send priority, team_id or subject")
    conv = await service.do_update_conversation(session, principal.account_id, conv_id, changes, principal.actor)
    return await service.read_conversation(session, conv)


@router.get("/conversations/{conv_id}/messages", response_model=list[MessageRead])
async def list_messages(
    conv_id: Id,
    session: SessionDep,
    principal: CanHandle,
    after_id: AfterId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[MessageRead]:
    conv = await service.get_conversation(session, principal.account_id, conv_id)
    rows = await service.list_messages(session, conv, after_id=after_id, limit=limit, include_notes=True)
    return [MessageRead.model_validate(m) for m in rows]


@router.post(
    "/conversations/{conv_id}/messages",
    response_model=MessageRead,
    status_code=201,
    responses={
        200: {"model": MessageRead, "description": "a retry: the message stored the first time"},
        **errors(409, 413),
    },
)
async def post_message(
    conv_id: Id,
    data: MessageCreate,
    response: Response,
    session: SessionDep,
    state: StateDep,
    principal: CanHandle,
) -> MessageRead:
    _, posted = await service.check_post_agent_message(
        session,
        principal.account_id,
        conv_id,
        data,
        principal.actor,
        max_chars=state.settings.max_message_chars,
        secret=state.settings.secret_key,
        jobs=state.jobs,
    )
    if not posted.created:
        response.status_code = 200
    return MessageRead.model_validate(posted.message)


@router.post(
    "/conversations/{conv_id}/messages/{message_id}/retry",
    response_model=MessageRead,
    responses=errors(409),
    summary="Send a reply whose delivery failed again",
)
async def retry_delivery(
    conv_id: Id, message_id: Id, session: SessionDep, state: StateDep, principal: CanHandle
) -> MessageRead:
    _, msg = await service.do_retry_delivery(session, principal.account_id, conv_id, message_id, state.jobs)
    return MessageRead.model_validate(msg)


@router.post("/conversations/{conv_id}/assignment", response_model=ConversationRead)
async def assign(conv_id: Id, data: AssignIn, session: SessionDep, principal: CanHandle) -> ConversationRead:
    conv = await service.do_assign(session, principal.account_id, conv_id, data.assignee_id, principal.actor)
    return await service.read_conversation(session, conv)


@router.post("/conversations/{conv_id}/status", response_model=ConversationRead)
async def change_status(
    conv_id: Id, data: StatusIn, session: SessionDep, state: StateDep, principal: CanHandle
) -> ConversationRead:
    conv = await service.do_change_status(
        session, principal.account_id, conv_id, data.status, data.snoozed_until, principal.actor, jobs=state.jobs
    )
    return await service.read_conversation(session, conv)


@router.post("/conversations/{conv_id}/resolve", response_model=ConversationRead)
async def resolve(conv_id: Id, session: SessionDep, principal: CanHandle) -> ConversationRead:
    conv = await service.do_change_status(
        session, principal.account_id, conv_id, ConversationStatus.RESOLVED, None, principal.actor
    )
    return await service.read_conversation(session, conv)


@router.put("/conversations/{conv_id}/labels", response_model=list[str])
async def set_labels(conv_id: Id, data: LabelsIn, session: SessionDep, principal: CanHandle) -> list[str]:
    return await service.do_set_labels(session, principal.account_id, conv_id, data.labels, principal.actor)


@router.post("/conversations/{conv_id}/labels", response_model=list[str])
async def add_label(conv_id: Id, data: LabelIn, session: SessionDep, principal: CanHandle) -> list[str]:
    return await service.do_set_labels(
        session, principal.account_id, conv_id, [data.label], principal.actor, mode="add"
    )


@router.delete("/conversations/{conv_id}/labels/{label}", response_model=list[str])
async def remove_label(conv_id: Id, label: str, session: SessionDep, principal: CanHandle) -> list[str]:
    return await service.do_set_labels(session, principal.account_id, conv_id, [label], principal.actor, mode="remove")


@router.post("/conversations/{conv_id}/typing", status_code=204)
async def typing(conv_id: Id, data: TypingIn, session: SessionDep, state: StateDep, principal: CanHandle) -> None:
    conv = await service.get_conversation(session, principal.account_id, conv_id)
    await publish_typing(
        state.bus,
        conv,
        sender={"type": "user", "id": principal.user.id, "name": principal.user.name},
        typing=data.typing,
    )
