"""Automation rules over the API: conditions and actions are checked field by field (422 with the reason)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from kefu.automation.evaluator import RULE_EVENTS, Condition, Match, condition_error
from kefu.core.constants import Priority
from kefu.core.schemas import Id, Label, PatchModel, ReadModel, ShortName, StrictModel

MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_REPLY = 2000


class ActionType(StrEnum):
    ASSIGN_TEAM = "assign_team"
    ASSIGN_AGENT = "assign_agent"
    SET_PRIORITY = "set_priority"
    ADD_LABEL = "add_label"
    SEND_REPLY = "send_reply"
    CREATE_TICKET = "create_ticket"
    ESCALATE = "escalate"
    NOTIFY = "notify"


class RunOutcome(StrEnum):
    RAN = "ran"  # every action did its work
    PARTIAL = "partial"  # some actions were skipped or failed (see the results)
    SKIPPED = "skipped"  # loop protection or chain depth: nothing ran


class ConditionIn(StrictModel):
    field: str = Field(max_length=64, description="a context field, e.g. conversation.priority (docs/automation.md)")
    op: str = Field(max_length=16, description="eq, ne, in, not_in, contains, gt, gte, lt, lte, exists")
    value: Any = None

    @model_validator(mode="after")
    def _known(self) -> ConditionIn:
        error = condition_error(Condition(self.field, self.op, self.value))
        if error is not None:
            raise ValueError(error)
        return self

    def as_condition(self) -> Condition:
        return Condition(self.field, self.op, self.value)


class AssignTeam(StrictModel):
    type: Literal[ActionType.ASSIGN_TEAM]
    team_id: Id


class AssignAgent(StrictModel):
    type: Literal[ActionType.ASSIGN_AGENT]
    user_id: Id


class SetPriority(StrictModel):
    type: Literal[ActionType.SET_PRIORITY]
    priority: Priority


class AddLabel(StrictModel):
    type: Literal[ActionType.ADD_LABEL]
    label: Label


class SendReply(StrictModel):
    type: Literal[ActionType.SEND_REPLY]
    text: str = Field(min_length=1, max_length=MAX_REPLY, description="{{contact.name}}-style placeholders only")


class CreateTicket(StrictModel):
    type: Literal[ActionType.CREATE_TICKET]
    subject: str = Field(min_length=1, max_length=200, description="{{contact.name}}-style placeholders only")
    priority: Priority | None = None


class Escalate(StrictModel):
    """Raise the priority one step (p4 → p3 → p2 → p1) and notify the account's supervisors."""

    type: Literal[ActionType.ESCALATE]
    text: str = Field("", max_length=MAX_REPLY)


class Notify(StrictModel):
    """A realtime message to the users and/or the members of a team, and a note on the conversation."""

    type: Literal[ActionType.NOTIFY]
    user_ids: list[Id] = Field(default_factory=list, max_length=50)
    team_id: Id | None = None
    text: str = Field(min_length=1, max_length=MAX_REPLY)

    @model_validator(mode="after")
    def _someone(self) -> Notify:
        if not self.user_ids and self.team_id is None:
            raise ValueError("notify needs user_ids or a team_id")
        return self


def _action_type(value: Any) -> str | None:
    got = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return None if got is None else str(got)


Action = Annotated[
    Annotated[AssignTeam, Tag(ActionType.ASSIGN_TEAM)]
    | Annotated[AssignAgent, Tag(ActionType.ASSIGN_AGENT)]
    | Annotated[SetPriority, Tag(ActionType.SET_PRIORITY)]
    | Annotated[AddLabel, Tag(ActionType.ADD_LABEL)]
    | Annotated[SendReply, Tag(ActionType.SEND_REPLY)]
    | Annotated[CreateTicket, Tag(ActionType.CREATE_TICKET)]
    | Annotated[Escalate, Tag(ActionType.ESCALATE)]
    | Annotated[Notify, Tag(ActionType.NOTIFY)],
    Discriminator(_action_type),
]


def _event_type(value: str) -> str:
    if value not in RULE_EVENTS:
        raise ValueError(f"unknown event type {value!r}; rules can run on: {', '.join(RULE_EVENTS)}")
    return value


class RuleCreate(StrictModel):
    name: ShortName
    event_type: str = Field(max_length=64, description="the domain event the rule runs on")
    match: Match = Match.ALL
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    enabled: bool = True
    position: int | None = Field(None, ge=0, le=10_000, description="order of the account's rules; default: last")

    _check_event = field_validator("event_type")(_event_type)


class RuleUpdate(PatchModel):
    name: ShortName | None = None
    event_type: str | None = Field(None, max_length=64)
    match: Match | None = None
    conditions: list[ConditionIn] | None = Field(None, max_length=MAX_CONDITIONS)
    actions: list[Action] | None = Field(None, min_length=1, max_length=MAX_ACTIONS)
    enabled: bool | None = None
    position: int | None = Field(None, ge=0, le=10_000)

    @field_validator("event_type")
    @classmethod
    def _check_event(cls, value: str | None) -> str | None:
        return None if value is None else _event_type(value)


class RuleRead(ReadModel):
    id: int
    name: str
    event_type: str
    match: Match
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    enabled: bool
    position: int
    created_at: datetime
    updated_at: datetime


class RuleOrder(StrictModel):
    rule_ids: list[Id] = Field(min_length=1, max_length=500, description="every rule of the account, in order")


class ActionResult(BaseModel):
    action: str
    ok: bool
    detail: str


class RunRead(ReadModel):
    id: int
    rule_id: int
    event_id: int
    event_type: str
    conversation_id: int | None
    outcome: RunOutcome
    results: list[ActionResult]
    created_at: datetime
