"""One Pydantic model per event type: what an event's payload must hold, checked when it is emitted and
parsed for durable listeners (`ListenedEvent.data`, `ListenedEvent.payload_as(Model)`).

Most models name the fields listeners rely on and keep the rest of the payload as it was given
(`extra="allow"`). `MessageCreated` is slim: the stored row keeps the message's id and metadata, never
its text or attachments, so erasing a customer's messages leaves nothing behind in the event log. The
realtime bus still carries the full message (built from the message when it is published), and readers of
the log that show messages (socket replay, GET /api/v1/events) join the text back from `messages`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from kefu.core.constants import EventType

# knowledge/events.py (KnowledgeEvent) emits these; core knows them only as names.
KNOWLEDGE_EVENTS = (
    "knowledge.entry_created",
    "knowledge.entry_updated",
    "knowledge.entry_published",
    "knowledge.entry_unpublished",
    "knowledge.entry_deleted",
)


class EventPayload(BaseModel):
    """Base: the named fields are required and typed; anything else is kept."""

    model_config = ConfigDict(extra="allow")
    stored_slim: ClassVar[bool] = False  # True: store `model_dump()` (declared fields only), not the payload as given


class ConversationChanged(EventPayload):
    """conversation.created / updated / assigned / status_changed: the conversation as read."""

    id: int
    inbox_id: int
    contact_id: int
    status: str
    priority: str
    assignee_id: int | None
    team_id: int | None
    previous_assignee_id: int | None = None
    previous_status: str | None = None


class ConversationLabelsChanged(EventPayload):
    id: int
    labels: list[str]
    previous: list[str]


class MessageCreated(EventPayload):
    """A message, referenced: text and attachments stay in `messages` (see the module doc)."""

    model_config = ConfigDict(extra="ignore")
    stored_slim: ClassVar[bool] = True

    id: int
    conversation_id: int
    direction: str
    kind: str
    sender_type: str
    sender_id: int | None
    client_message_id: str | None = None
    created_at: datetime


class Identified(EventPayload):
    """contact.*, user.created/updated, inbox.*, team.*, api_token.revoked: the entity's id (+ its read model)."""

    id: int


class UserLoggedIn(EventPayload):
    user_id: int


class ApiTokenCreated(EventPayload):
    id: int
    name: str


class AccountUpdated(EventPayload):
    """One of the account's settings changed; the key names which (business_hours, outbound hosts)."""


class BotDecided(EventPayload):
    action: str
    reason: str | None = None
    message_id: int | None = None


class BotHandedOff(EventPayload):
    reason: str | None = None
    summary: dict[str, Any] | None = None  # the structured handoff summary (bot/policy.py `summarise`)


class BotModelTrained(EventPayload):
    id: int
    version: int


class KnowledgeEntryChanged(EventPayload):
    kind: str
    id: int
    version: int
    status: str
    title: str


class ConversationQueued(EventPayload):
    """A conversation starts waiting for a person: its priority, the team it waits for, why it queued."""

    id: int
    priority: str
    team_id: int | None
    reason: str


class ConversationTransferred(EventPayload):
    id: int
    from_assignee_id: int | None
    to_assignee_id: int | None
    from_team_id: int | None
    to_team_id: int | None
    reason: str


class PriorityChanged(EventPayload):
    id: int
    priority: str
    previous: str
    reasons: list[str]


class PresenceChanged(EventPayload):
    user_id: int
    presence: str
    previous: str | None = None


class TicketChanged(EventPayload):
    """ticket.created / updated / status_changed / linked: the ticket's id and state (+ what changed)."""

    id: int
    status: str
    previous_status: str | None = None
    conversation_id: int | None = None


class SlaAlert(EventPayload):
    """sla.warning / sla.breached: which clock of which conversation or ticket, and its deadline."""

    subject_type: str  # "conversation" | "ticket"
    subject_id: int
    metric: str  # first_response | next_response | resolution
    due_at: datetime
    priority: str


class RuleRan(EventPayload):
    rule_id: int
    event_id: int
    actions: list[str]


class TierChanged(EventPayload):
    id: int
    tier: str
    previous: str
    churn_risk: bool = False


class ContactMerged(EventPayload):
    """contact.merged: `id` (the kept contact) absorbed `absorbed_id`; contact.split: `merge_id` undone."""

    id: int
    absorbed_id: int
    merge_id: int
    reason: str


EVENT_MODELS: dict[str, type[EventPayload]] = {
    EventType.CONVERSATION_CREATED: ConversationChanged,
    EventType.CONVERSATION_UPDATED: ConversationChanged,
    EventType.CONVERSATION_ASSIGNED: ConversationChanged,
    EventType.CONVERSATION_STATUS_CHANGED: ConversationChanged,
    EventType.CONVERSATION_LABELS_CHANGED: ConversationLabelsChanged,
    EventType.MESSAGE_CREATED: MessageCreated,
    EventType.CONTACT_CREATED: Identified,
    EventType.CONTACT_UPDATED: Identified,
    EventType.CONTACT_SIGNED_OUT: Identified,
    EventType.USER_CREATED: Identified,
    EventType.USER_UPDATED: Identified,
    EventType.USER_LOGGED_IN: UserLoggedIn,
    EventType.INBOX_CREATED: Identified,
    EventType.INBOX_UPDATED: Identified,
    EventType.TEAM_CREATED: Identified,
    EventType.TEAM_UPDATED: Identified,
    EventType.API_TOKEN_CREATED: ApiTokenCreated,
    EventType.API_TOKEN_REVOKED: Identified,
    EventType.ACCOUNT_UPDATED: AccountUpdated,
    EventType.BOT_DECIDED: BotDecided,
    EventType.BOT_HANDED_OFF: BotHandedOff,
    EventType.BOT_MODEL_TRAINED: BotModelTrained,
    EventType.CONVERSATION_QUEUED: ConversationQueued,
    EventType.CONVERSATION_TRANSFERRED: ConversationTransferred,
    EventType.CONVERSATION_PRIORITY_CHANGED: PriorityChanged,
    EventType.AGENT_PRESENCE_CHANGED: PresenceChanged,
    EventType.TICKET_CREATED: TicketChanged,
    EventType.TICKET_UPDATED: TicketChanged,
    EventType.TICKET_STATUS_CHANGED: TicketChanged,
    EventType.TICKET_LINKED: TicketChanged,
    EventType.SLA_WARNING: SlaAlert,
    EventType.SLA_BREACHED: SlaAlert,
    EventType.AUTOMATION_RULE_RAN: RuleRan,
    EventType.CONTACT_TIER_CHANGED: TierChanged,
    EventType.CONTACT_MERGED: ContactMerged,
    EventType.CONTACT_SPLIT: ContactMerged,
    **{name: KnowledgeEntryChanged for name in KNOWLEDGE_EVENTS},
}


class UnknownEventType(KeyError):
    """An event type without a payload model: add one to EVENT_MODELS."""


def payload_model(type_: str) -> type[EventPayload]:
    try:
        return EVENT_MODELS[str(type_)]
    except KeyError:
        raise UnknownEventType(type_) from None


def parse_payload(type_: str, payload: dict[str, Any]) -> EventPayload:
    """The payload checked against its type's model (raises pydantic.ValidationError when it does not fit)."""
    return payload_model(type_).model_validate(payload)


def stored_payload(type_: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What the event log keeps of a payload: checked, and slimmed for types that reference data."""
    model = parse_payload(type_, payload)
    return model.model_dump(mode="json") if model.stored_slim else payload
