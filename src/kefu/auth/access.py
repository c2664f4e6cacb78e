"""Account scoping: every read and write goes through these few, heavily tested functions.

`restrict(query, model, account_id)` keeps the rows of one account — every list does this. A scope narrows
that further, for routing and team visibility (docs/architecture.md, "Access scoping"):

- `TeamScope(user_id)`: rows of the teams the user is a member of — a conversation (or any row with an
  `inbox_id`) in an inbox that belongs to one of those teams, or one handed to one of those teams
  (`team_id`); an inbox that belongs to one of those teams. Rows of no team are outside every team scope.
- `InboxScope(inbox_ids)`: rows of those inboxes only (an empty set keeps nothing).

A scope never widens: the account filter always applies, and the team membership it reads is the
account's own. Which scope a user gets is the caller's decision (a policy), not this module's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, column, false, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import NotFound

T = TypeVar("T")
S = TypeVar("S", bound=Select)

# The two tables team scoping reads, named here rather than imported from accounts/ and channels/
# (auth sits below them).
_TEAM_MEMBERS = table("team_members", column("team_id"), column("user_id"), column("account_id"))
_INBOXES = table("inboxes", column("id"), column("team_id"), column("account_id"))


@dataclass(frozen=True)
class TeamScope:
    """Only rows of the teams `user_id` belongs to."""

    user_id: int


@dataclass(frozen=True)
class InboxScope:
    """Only rows of these inboxes."""

    inbox_ids: frozenset[int]

    @classmethod
    def of(cls, inbox_ids: Iterable[int]) -> InboxScope:
        return cls(frozenset(inbox_ids))


Scope = TeamScope | InboxScope


def restrict(query: S, model: Any, account_id: int, scope: Scope | None = None) -> S:
    """Scope a query to one account (netbox's RestrictedQuerySet.restrict), and to a team's or some
    inboxes' rows when `scope` is given. A model the scope cannot apply to is a TypeError (a bug), never
    an unscoped query."""
    query = query.where(model.account_id == account_id)
    if scope is None:
        return query
    if isinstance(scope, TeamScope):
        return query.where(_team_clause(model, account_id, scope.user_id))
    return query.where(_inbox_clause(model, scope.inbox_ids))


def _is_inbox(model: Any) -> bool:
    return getattr(model, "__tablename__", None) == "inboxes"


def _team_clause(model: Any, account_id: int, user_id: int) -> ColumnElement[bool]:
    tm, inbox = _TEAM_MEMBERS.c, _INBOXES.c
    teams = select(tm.team_id).where(tm.account_id == account_id, tm.user_id == user_id)
    if _is_inbox(model):
        return model.team_id.in_(teams)
    clauses = []
    if hasattr(model, "inbox_id"):
        team_inboxes = select(inbox.id).where(inbox.account_id == account_id, inbox.team_id.in_(teams))
        clauses.append(model.inbox_id.in_(team_inboxes))
    if hasattr(model, "team_id"):
        clauses.append(model.team_id.in_(teams))
    if not clauses:
        raise TypeError(f"{model.__name__} has no inbox or team to scope by")
    return or_(*clauses)


def _inbox_clause(model: Any, inbox_ids: frozenset[int]) -> ColumnElement[bool]:
    column = model.id if _is_inbox(model) else getattr(model, "inbox_id", None)
    if column is None:
        raise TypeError(f"{model.__name__} has no inbox to scope by")
    return column.in_(sorted(inbox_ids)) if inbox_ids else false()


async def get_scoped(session: AsyncSession, model: type[T], ident: int, account_id: int, what: str) -> T:
    """The row `ident` of `model` if it belongs to `account_id`, else NotFound (never Forbidden:
    another account's ids must be indistinguishable from ids that do not exist)."""
    row = await session.get(model, ident)
    if row is None or getattr(row, "account_id", None) != account_id:
        raise NotFound(what, ident)
    return row
