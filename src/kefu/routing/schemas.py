"""Request and response models of the routing API (docs/api.md "Routing")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kefu.routing.policies import Presence

SkillName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Level = Annotated[int, Field(ge=1, le=5)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SkillCreate(_In):
    name: SkillName
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class SkillUpdate(_In):
    name: SkillName | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class SkillRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str


class RequirementCreate(_In):
    kind: Literal["intent", "label", "inbox"]
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    skill: SkillName


class RequirementRead(BaseModel):
    id: int
    kind: str
    value: str
    skill: str


class AgentUpdate(_In):
    """Capacity, per-channel capacities and skills (name → level 1–5; the whole set) of one agent."""

    capacity: Annotated[int, Field(ge=0, le=1000)] | None = None
    channel_capacity: (
        dict[Annotated[str, StringConstraints(min_length=1, max_length=20)], Annotated[int, Field(ge=0, le=1000)]]
        | None
    ) = None
    skills: dict[SkillName, Level] | None = None


class AgentRead(BaseModel):
    user_id: int
    name: str
    role: str
    presence: Presence
    capacity: int
    channel_capacity: dict[str, int]
    load: int
    skills: dict[str, int]
    team_ids: list[int]
    last_assigned_at: datetime | None
    presence_changed_at: datetime | None


class PresenceUpdate(_In):
    presence: Presence


class OverflowRule(_In):
    after_s: Annotated[int, Field(ge=0, le=7 * 86400)]
    team_id: Id


class RoutingSettings(_In):
    auto_assign: bool = True  # false: only people (or POST /routing/assign) assign waiting conversations
    sticky: bool = True
    default_capacity: Annotated[int, Field(ge=0, le=1000)] = 5
    overflow: dict[str, OverflowRule] = Field(default_factory=dict)  # team id → rule


class TransferCreate(_In):
    to_user_id: Id | None = None
    to_team_id: Id | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class TransferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    conversation_id: int
    from_user_id: int | None
    to_user_id: int | None
    from_team_id: int | None
    to_team_id: int | None
    reason: str
    actor_type: str
    actor_id: int | None
    created_at: datetime


class ReassignRequest(_In):
    user_id: Id


class QueueItemRead(BaseModel):
    id: int
    contact_id: int
    priority: str
    priority_reasons: list[str]
    contact_name: str
    subject: str
    team_id: int | None
    waiting_since: datetime
    wait_s: int
    sla_due_at: datetime | None
    required_skills: list[str]
    reason: str | None
    overflow_team_id: int | None


class TransferRateDay(BaseModel):
    day: date
    assigned: int
    transfers: int
    rate: float  # transfers / assigned conversations (0 when none assigned)


class QueueRead(BaseModel):
    waiting: list[QueueItemRead]
    oldest_wait_s: int
    by_priority: dict[str, int]
    agents: list[AgentRead]
    transfer_rate: list[TransferRateDay]
