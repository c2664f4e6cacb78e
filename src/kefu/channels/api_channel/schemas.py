"""What a system posts to an API inbox (docs/channels/api.md): a customer's message, or a phone-call record.

{"contact": {"external_id"?, "email"?, "phone"?, "name"?},
 "message": {"id", "content", "attachments"?: [{"url", "name"?, "content_type"?}]}}

{"type": "call", "contact"?: {"name"?, "external_id"?, "email"?},
 "call": {"id", "caller", "callee"?, "direction": "inbound" | "outbound", "started_at", "duration_s",
          "recording_url"?, "transcript"?}}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field, StringConstraints, model_validator

from kefu.core.schemas import StrictModel, UtcDateTime

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Link = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^https?://")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]


class ContactIn(StrictModel):
    external_id: ExternalId | None = Field(None, description="the customer's id in your system")
    email: EmailStr | None = None
    phone: Phone | None = Field(None, description="E.164 (+8613800138000); without +, a mainland China number")
    name: str | None = Field(None, max_length=200)


class LinkIn(StrictModel):
    url: Link
    name: str | None = Field(None, max_length=255)
    content_type: str | None = Field(None, max_length=100)


class MessageIn(StrictModel):
    id: ExternalId = Field(description="your id of the message: a retry with the same id stores nothing new")
    content: str = Field(min_length=1)
    attachments: list[LinkIn] = Field(default_factory=list, max_length=10, description="links, kept with the message")


class MessagePost(StrictModel):
    type: Literal["message"] = "message"
    contact: ContactIn
    message: MessageIn

    @model_validator(mode="after")
    def _someone(self) -> MessagePost:
        c = self.contact
        if not (c.external_id or c.email or c.phone):
            raise ValueError("contact needs at least one of external_id, email, phone")
        return self


class CallIn(StrictModel):
    id: ExternalId
    caller: Phone
    callee: Phone | None = None
    direction: Literal["inbound", "outbound"] = "inbound"
    started_at: UtcDateTime
    duration_s: int = Field(ge=0, le=7 * 24 * 3600)
    recording_url: Link | None = None
    transcript: str | None = Field(None, max_length=100_000)

    @model_validator(mode="after")
    def _customer(self) -> CallIn:
        if self.direction == "outbound" and not self.callee:
            raise ValueError("an outbound call needs the callee (the customer's number)")
        return self

    @property
    def customer_number(self) -> str:
        """The customer's number: the caller of an inbound call, the callee of an outbound one."""
        return self.callee if self.direction == "outbound" and self.callee else self.caller


class CallPost(StrictModel):
    type: Literal["call"]
    contact: ContactIn | None = None
    call: CallIn
