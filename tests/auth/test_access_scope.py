"""restrict(): the account filter by default, and the team and inbox scopes that routing and team
visibility build on — with real rows, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from kefu.auth.access import InboxScope, TeamScope, restrict
from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.constants import Role
from tests.support.factories import World, new_account


async def _conv_in(api: World, inbox: dict[str, Any]) -> int:
    visitor = await api.visitor(inbox)
    return int((await visitor.say("hi"))["conversation_id"])


async def _ids(api: World, query: Any) -> list[int]:
    async with api.server.state.sessionmaker() as session:
        return sorted((await session.execute(query)).scalars())


async def test_team_and_inbox_scopes(api: World) -> None:
    agent = await api.user(Role.AGENT)
    loner = await api.user(Role.AGENT)  # in no team
    team_a = (await api.http.post("/api/v1/teams", json={"name": "A", "member_ids": [agent.id]})).json()
    team_b = (await api.http.post("/api/v1/teams", json={"name": "B", "member_ids": [loner.id]})).json()
    await api.http.patch(f"/api/v1/teams/{team_b['id']}", json={"member_ids": []})
    inbox_a = await api.inbox(team_id=team_a["id"])
    inbox_b = await api.inbox(team_id=team_b["id"])
    inbox_none = await api.inbox()
    in_a, in_b, in_none, handed = (
        await _conv_in(api, inbox_a),
        await _conv_in(api, inbox_b),
        await _conv_in(api, inbox_none),
        await _conv_in(api, await api.inbox()),
    )
    r = await api.http.patch(f"/api/v1/conversations/{handed}", json={"team_id": team_a["id"]})
    assert r.status_code == 200, r.text

    async with new_account(api.server) as other:  # another account's rows never show up
        other_inbox = await other.inbox()
        await _conv_in(other, other_inbox)

    convs = select(Conversation.id)
    every = sorted([in_a, in_b, in_none, handed])
    assert await _ids(api, restrict(convs, Conversation, api.account_id)) == every
    # The team scope: conversations in team A's inboxes, and the one handed to team A.
    assert await _ids(api, restrict(convs, Conversation, api.account_id, TeamScope(agent.id))) == sorted([in_a, handed])
    assert await _ids(api, restrict(convs, Conversation, api.account_id, TeamScope(loner.id))) == []
    # A member id of this account scoped to another account sees nothing of it.
    assert await _ids(api, restrict(convs, Conversation, other.account_id, TeamScope(agent.id))) == []
    # Inboxes themselves.
    inboxes = select(Inbox.id)
    assert await _ids(api, restrict(inboxes, Inbox, api.account_id, TeamScope(agent.id))) == [inbox_a["id"]]
    scope_b = InboxScope.of([inbox_b["id"], other_inbox["id"]])
    assert await _ids(api, restrict(inboxes, Inbox, api.account_id, scope_b)) == [inbox_b["id"]]
    # The inbox scope.
    assert await _ids(api, restrict(convs, Conversation, api.account_id, scope_b)) == [in_b]
    both = InboxScope.of([inbox_a["id"], inbox_none["id"]])
    assert await _ids(api, restrict(convs, Conversation, api.account_id, both)) == sorted([in_a, in_none])
    assert await _ids(api, restrict(convs, Conversation, api.account_id, InboxScope.of([]))) == []


def test_a_scope_that_cannot_apply_is_an_error() -> None:
    with pytest.raises(TypeError, match="Contact has no inbox or team to scope by"):
        restrict(select(Contact.id), Contact, 1, TeamScope(1))
    with pytest.raises(TypeError, match="Contact has no inbox to scope by"):
        restrict(select(Contact.id), Contact, 1, InboxScope.of([1]))


def test_the_default_is_the_account_filter_only() -> None:
    sql = str(restrict(select(Conversation.id), Conversation, 7).compile(compile_kwargs={"literal_binds": True}))
    assert sql.endswith("WHERE conversations.account_id = 7")
