"""Roles → permissions. The one table that says who may do what."""

from __future__ import annotations

from enum import StrEnum

from kefu.core.constants import Role


class Perm(StrEnum):
    HANDLE_CONVERSATIONS = "handle_conversations"
    MANAGE_CONTACTS = "manage_contacts"
    VIEW_TEAM = "view_team"
    VIEW_EVENTS = "view_events"
    MANAGE_TEAMS = "manage_teams"
    MANAGE_INBOXES = "manage_inboxes"
    MANAGE_USERS = "manage_users"
    MANAGE_TOKENS = "manage_tokens"
    MANAGE_KNOWLEDGE = "manage_knowledge"
    MANAGE_BOT = "manage_bot"
    MANAGE_OUTBOUND = "manage_outbound"  # the hosts the bot's flow actions may call (SSRF guard)
    MANAGE_LISTENERS = "manage_listeners"  # durable event listeners: cursors, dead letters
    MANAGE_AUTOMATION = "manage_automation"  # automation rules and their run log
    MANAGE_WEBHOOKS = "manage_webhooks"  # outbound webhooks and their delivery log


_AGENT = {Perm.HANDLE_CONVERSATIONS, Perm.MANAGE_CONTACTS, Perm.VIEW_TEAM}
_SUPERVISOR = _AGENT | {Perm.VIEW_EVENTS, Perm.MANAGE_TEAMS, Perm.MANAGE_KNOWLEDGE, Perm.MANAGE_BOT}
_ADMIN = _SUPERVISOR | {Perm.MANAGE_INBOXES, Perm.MANAGE_USERS, Perm.MANAGE_TOKENS, Perm.MANAGE_OUTBOUND}
_ADMIN |= {Perm.MANAGE_LISTENERS}
_ADMIN |= {Perm.MANAGE_AUTOMATION}
_ADMIN |= {Perm.MANAGE_WEBHOOKS}

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.AGENT: frozenset(_AGENT),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
}


def has_perm(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMS.get(Role(role), frozenset())
