from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_serializer, model_validator

from kefu.attachments.urls import fresh_urls
from kefu.conversations.models import DeliveryStatus
from kefu.core.constants import ConversationStatus, Direction, MessageKind, Priority
from kefu.core.schemas import VISIBLE, Id, Label, PatchModel, ReadModel, StrictModel, UtcDateTime


class AttachmentIn(StrictModel):
    """A reference to an upload (POST /attachments or /widget/{key}/attachments): its `id` — the upload's
    answer may be sent as it is. Name, type, size and URL are always taken from the stored upload."""

    id: Id | None = None
    name: str | None = Field(None, max_length=255)
    content_type: str | None = Field(None, max_length=100)
    size: int | None = Field(None, ge=0, lt=2**63)  # a hint only: the stored upload's size is used
    url: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _names_an_upload(self) -> AttachmentIn:
        if self.id is None and not self.url:
            raise ValueError("send the id of an uploaded attachment")
        return self


class ContactMessageCreate(StrictModel):
    content: Annotated[str, Field(min_length=1), VISIBLE]
    client_message_id: str | None = Field(None, min_length=1, max_length=100)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


@dataclass(frozen=True)
class InboxRef:
    """What never changes about an inbox: enough to check a channel's credentials and store a message."""

    id: int
    account_id: int
    public_key: str
    channel_type: str = "unknown"  # widget | email | wechat | … (the metric kefu_messages_received_total's label)


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as every channel hands it over: its adapter has verified where it comes from
    (the inbox, the contact) and parsed it into the one message model."""

    inbox: InboxRef
    contact_id: int
    data: ContactMessageCreate
    # What the channel knows besides the text (an email's subject, headers and sanitised HTML; a WeChat
    # message's type and media id …), stored as the message's `meta`.
    meta: Mapping[str, Any] = field(default_factory=dict)
    # The conversation the channel found the message belongs to (an email reply to one of ours): used
    # when it is this contact's conversation in the inbox's account; else the inbox's usual rule applies.
    conversation_id: int | None = None


class MessageCreate(ContactMessageCreate):
    kind: Literal["text", "note"] = "text"
    inbox_id: Id | None = Field(
        None,
        description="the inbox (channel) to reply on; default: the one the customer last wrote from. "
        "It must be an inbox the customer has written from",
    )


class MessageRead(ReadModel):
    id: int
    conversation_id: int
    direction: Direction
    kind: MessageKind
    sender_type: str
    sender_id: int | None
    content: str
    attachments: list[dict[str, Any]]
    client_message_id: str | None
    meta: dict[str, Any]
    created_at: datetime
    delivery_status: DeliveryStatus | None = Field(
        None, description="for channels that deliver replies themselves (email, WeChat …): pending, sent or failed"
    )
    delivery_error: str | None = Field(None, description="why the last delivery attempt failed")
    inbox_id: int | None = Field(
        None, description="the inbox (channel) the message came through or went out on; null: the conversation's"
    )

    @field_serializer("attachments")
    def _fresh_urls(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return fresh_urls(items)  # stored URLs expire: every answer signs them again


class ContactBrief(BaseModel):
    id: int
    name: str


class ConversationRead(ReadModel):
    id: int
    inbox_id: int
    contact_id: int
    status: ConversationStatus
    priority: Priority
    priority_reasons: list[str] = Field(default_factory=list)
    assignee_id: int | None
    team_id: int | None
    subject: str
    labels: list[str] = Field(default_factory=list)
    waiting_since: datetime | None = None  # in the queue for a person since (kefu.routing)
    sla_due_at: datetime | None = None  # the nearest running SLA deadline (kefu.sla)
    snoozed_until: datetime | None
    last_activity_at: datetime
    last_incoming_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    contact: ContactBrief | None = None
    linked_conversation_id: int | None = Field(
        None, description="the contact's open conversation in another inbox this one was started beside (continuity)"
    )
    last_message: str | None = None
    bot_active: bool = False


class ConversationUpdate(PatchModel):
    NULLABLE = frozenset({"team_id"})  # null: no team
    priority: Priority | None = None
    team_id: Id | None = None
    subject: str | None = Field(None, max_length=300)


class AssignIn(StrictModel):
    assignee_id: Id | None = Field(description="a user id, or null to unassign")


class StatusIn(StrictModel):
    status: ConversationStatus
    snoozed_until: UtcDateTime | None = Field(
        None, description="required when status is snoozed: a time in the future, at most 365 days ahead"
    )


class LabelsIn(StrictModel):
    labels: list[Label] = Field(max_length=50)


class LabelIn(StrictModel):
    label: Label


class TypingIn(StrictModel):
    typing: bool = True
