"""Imports every model so that Base.metadata is complete (Alembic, tests)."""

from kefu.accounts.models import Account, Team, TeamMember
from kefu.attachments.models import Attachment
from kefu.auth.models import ApiToken, User, UserSession
from kefu.automation.models import AutomationRule, EventCause, RuleRun
from kefu.bot.models import BotFlow, BotIntent, BotModel, BotSettings
from kefu.channels.email.models import EmailMailbox
from kefu.channels.models import ChannelState, Inbox
from kefu.contacts.models import Contact, ContactIdentity, ContactMerge
from kefu.conversations.models import Conversation, ConversationLabel, Message
from kefu.core.db import Base
from kefu.core.eventlog import Event
from kefu.core.listeners_models import DeadLetter, ListenerCursor
from kefu.knowledge.models import Article, FaqEntry, KnowledgeVersion
from kefu.routing.models import AgentRouting, AgentSkill, QueueEntry, Skill, SkillRequirement, Transfer
from kefu.sla.models import SlaCalendar, SlaCalendarDay, SlaClock, SlaPolicy
from kefu.tickets.models import (
    RepeatContact,
    Ticket,
    TicketActivity,
    TicketConversation,
    TicketDailyStat,
    TicketField,
    TicketView,
)
from kefu.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "Account",
    "AgentRouting",
    "AgentSkill",
    "ApiToken",
    "Article",
    "Attachment",
    "AutomationRule",
    "Base",
    "BotFlow",
    "BotIntent",
    "BotModel",
    "BotSettings",
    "ChannelState",
    "Contact",
    "ContactIdentity",
    "ContactMerge",
    "Conversation",
    "ConversationLabel",
    "DeadLetter",
    "EmailMailbox",
    "Event",
    "EventCause",
    "FaqEntry",
    "Inbox",
    "KnowledgeVersion",
    "ListenerCursor",
    "Message",
    "QueueEntry",
    "RepeatContact",
    "RuleRun",
    "Skill",
    "SkillRequirement",
    "SlaCalendar",
    "SlaCalendarDay",
    "SlaClock",
    "SlaPolicy",
    "Team",
    "TeamMember",
    "Ticket",
    "TicketActivity",
    "TicketConversation",
    "TicketDailyStat",
    "TicketField",
    "TicketView",
    "Transfer",
    "User",
    "UserSession",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
