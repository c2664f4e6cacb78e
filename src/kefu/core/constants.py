"""Statuses, roles, kinds and event names — enums, not strings scattered around."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class ChannelType(StrEnum):
    WEB_WIDGET = "web_widget"
    API = "api"
    EMAIL = "email"
    WECHAT = "wechat"
    WECOM = "wecom"


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class ContactTier(StrEnum):
    """A contact's customer tier: a closed set, read by routing and the bot's handoff rules."""

    # Stored as its value in contacts.tier; migration 0011 turned any other stored value into NORMAL.

    NORMAL = "normal"
    VIP = "vip"
    GOLD = "gold"
    STRATEGIC = "strategic"
    VALUE = "value"
    POTENTIAL = "potential"
    CHURN_RISK = "churn_risk"


class ContactSegment(StrEnum):
    """The computed customer tier on four dimensions (value, need complexity, channel preference, lifecycle
    stage): contacts.segment, recomputed by kefu.routing.tiers. `tier` stays the simple level a site sets."""

    STRATEGIC = "strategic"
    VALUE = "value"
    POTENTIAL = "potential"
    CHURN_RISK = "churn_risk"


class Priority(StrEnum):
    P1 = "p1"
    P2 = "p2"
    P3 = "p3"
    P4 = "p4"


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class MessageKind(StrEnum):
    TEXT = "text"
    NOTE = "note"
    BOT = "bot"
    SYSTEM = "system"


class ActorType(StrEnum):
    CONTACT = "contact"
    USER = "user"
    BOT = "bot"
    SYSTEM = "system"


class IdentityKind(StrEnum):
    WIDGET_VISITOR = "widget_visitor"
    EMAIL = "email"
    PHONE = "phone"
    WECHAT_OPENID = "wechat_openid"
    WECHAT_UNIONID = "wechat_unionid"
    WECOM_EXTERNAL_USERID = "wecom_external_userid"
    EXTERNAL_ID = "external_id"


class MergeReason(StrEnum):
    """Why two contacts became one (contact_merges.reason)."""

    MANUAL = "manual"  # an agent merged them (API or the profile page)
    IDENTITY = "identity"  # an identity added with "merge": true named another contact
    VERIFIED = "verified"  # the widget's signed identity named another contact


class Continuity(StrEnum):
    """What a message from a contact with an open conversation in another inbox does (account setting)."""

    SAME_CONVERSATION = "same_conversation"  # it goes into that open conversation
    LINKED = "linked"  # a new conversation in its inbox, linked to the open one


class EventType(StrEnum):
    """Domain events: `<entity>.<past_verb>`. Persisted to the append-only event log."""

    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_ASSIGNED = "conversation.assigned"
    CONVERSATION_STATUS_CHANGED = "conversation.status_changed"
    CONVERSATION_LABELS_CHANGED = "conversation.labels_changed"
    MESSAGE_CREATED = "message.created"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_SIGNED_OUT = "contact.signed_out"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_LOGGED_IN = "user.logged_in"
    INBOX_CREATED = "inbox.created"
    INBOX_UPDATED = "inbox.updated"
    TEAM_CREATED = "team.created"
    TEAM_UPDATED = "team.updated"
    API_TOKEN_CREATED = "api_token.created"
    API_TOKEN_REVOKED = "api_token.revoked"
    ACCOUNT_UPDATED = "account.updated"
    BOT_DECIDED = "bot.decided"
    BOT_HANDED_OFF = "bot.handed_off"
    BOT_MODEL_TRAINED = "bot.model_trained"
    CONVERSATION_QUEUED = "conversation.queued"  # waits for a person (kefu.routing)
    CONVERSATION_TRANSFERRED = "conversation.transferred"  # moved to another agent/team, with a reason
    CONVERSATION_PRIORITY_CHANGED = "conversation.priority_changed"  # with the reasons (kefu.routing.priority)
    AGENT_PRESENCE_CHANGED = "agent.presence_changed"
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_LINKED = "ticket.linked"  # a conversation linked to a ticket (by hand or as a repeat contact)
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    AUTOMATION_RULE_RAN = "automation.rule_ran"
    CONTACT_TIER_CHANGED = "contact.tier_changed"
    CONTACT_MERGED = "contact.merged"  # one contact absorbed another (kefu.contacts.merge); an audit entry
    CONTACT_SPLIT = "contact.split"  # a merge undone; an audit entry


class Ephemeral(StrEnum):
    """Realtime-only signals: published on the bus, never stored."""

    TYPING = "typing"
