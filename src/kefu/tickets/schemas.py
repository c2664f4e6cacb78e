"""Request and response shapes of /api/v1/tickets (docs/api.md "Tickets")."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Field, model_validator

from kefu.core.constants import Priority
from kefu.core.schemas import NO_NUL, VISIBLE, Id, PatchModel, ReadModel, ShortName, StrictModel
from kefu.tickets.states import TicketStatus

Subject = Annotated[str, Field(min_length=1, max_length=300), VISIBLE]
Description = Annotated[str, Field(max_length=20_000), NO_NUL]
FieldKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="lower-case letters, digits, _")]
ASSIGNEE_PATTERN = r"^(me|unassigned|[1-9][0-9]{0,17})$"  # me, unassigned or a user id
CustomValues = dict[str, str | int | float | None]


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    SELECT = "select"
    DATE = "date"


class LinkReason(StrEnum):
    CREATED_FROM = "created_from"
    MANUAL = "manual"
    REPEAT_CONTACT = "repeat_contact"


class TicketCreate(StrictModel):
    subject: Subject
    description: Description = ""
    priority: Priority | None = None
    contact_id: Id | None = None
    conversation_id: Id | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    custom_fields: CustomValues = Field(default_factory=dict)


class TicketUpdate(PatchModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"assignee_id", "team_id", "contact_id"})

    subject: Subject | None = None
    description: Description | None = None
    priority: Priority | None = None
    contact_id: Id | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    custom_fields: CustomValues | None = Field(None, description="merged into the stored values; null clears one")


class StatusIn(StrictModel):
    status: TicketStatus


class NoteIn(StrictModel):
    body: Annotated[str, Field(min_length=1, max_length=20_000), VISIBLE]


class LinkIn(StrictModel):
    conversation_id: Id


class TicketRead(ReadModel):
    id: int
    number: int
    subject: str
    description: str
    status: TicketStatus
    priority: Priority
    contact_id: int | None
    assignee_id: int | None
    team_id: int | None
    custom_fields: dict[str, Any]
    source: str
    conversation_ids: list[int] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None


class ActivityRead(ReadModel):
    """One timeline entry: `kind` created | status | priority | assignee | team | contact | subject |
    description | fields | note | linked | unlinked; `data` holds from/to (or the link's conversation)."""

    id: int
    kind: str
    actor_type: str
    actor_id: int | None
    data: dict[str, Any]
    body: str
    created_at: datetime


class LinkRead(ReadModel):
    ticket_id: int
    conversation_id: int
    reason: LinkReason
    created_at: datetime


class FieldCreate(StrictModel):
    key: FieldKey
    label: ShortName
    type: FieldType
    options: list[Annotated[str, Field(min_length=1, max_length=100), VISIBLE]] = Field(
        default_factory=list, max_length=100
    )
    required: bool = False
    position: Annotated[int, Field(ge=0, le=10_000)] = 0

    @model_validator(mode="after")
    def _options_fit_type(self) -> FieldCreate:
        if self.type == FieldType.SELECT and not self.options:
            raise ValueError("a select field needs at least one option")
        if self.type != FieldType.SELECT and self.options:
            raise ValueError(f"only select fields have options, not {self.type} fields")
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be different from each other")
        return self


class FieldRead(ReadModel):
    id: int
    key: str
    label: str
    type: FieldType
    options: list[str]
    required: bool
    position: int


class ViewFilters(StrictModel):
    """A ticket-list filter: every part optional; `q` searches subject, description, number and contact."""

    q: Annotated[str, Field(max_length=200), NO_NUL] | None = None
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee: Annotated[str, Field(pattern=ASSIGNEE_PATTERN)] | None = None
    team_id: Id | None = None
    contact_id: Id | None = None


class ViewCreate(StrictModel):
    name: ShortName
    filters: ViewFilters = Field(default_factory=ViewFilters)


class ViewRead(ReadModel):
    id: int
    name: str
    filters: dict[str, Any]
    created_at: datetime


class TicketSettings(StrictModel):
    repeat_window_days: Annotated[int, Field(ge=1, le=90)] = 7


class DayRate(ReadModel):
    day: date
    conversations: int
    repeat_contacts: int
    rate: float | None  # repeat contacts / new conversations; None on a day without conversations


class RepeatStats(ReadModel):
    days: list[DayRate]
    conversations: int
    repeat_contacts: int
    rate: float | None
