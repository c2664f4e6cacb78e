"""Self-updating knowledge: customers' questions the bot could not answer, grouped into suggested FAQ
entries (docs/knowledge.md#suggestions).

A question is "unanswered" when the bot's decision on it (`bot.decided`) was a fallback, or a handoff for
low confidence or out of scope twice — not an explicit request for a human, anger or a VIP rule, which
say nothing about the knowledge base. Questions of the last `days` are embedded with the node's
embedder and grouped (`kefu.nlp.cluster`); a group the knowledge base now answers (its central question
scores ≥ the bot's answer threshold) is left out, and so are questions an admin dismissed. The suggested
answer is the first reply an agent wrote after the question in the same conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Message
from kefu.core import clock
from kefu.core.constants import ActorType, Direction, EventType, MessageKind
from kefu.core.errors import BadRequest
from kefu.core.eventlog import Event
from kefu.core.events import Actor
from kefu.core.services import ServiceKey
from kefu.knowledge.models import DismissedQuestion
from kefu.knowledge.schemas import SuggestionRead
from kefu.knowledge.search import KnowledgeHit
from kefu.knowledge.search_node import search_backend, search_knowledge
from kefu.nlp.cluster import DEFAULT_MIN_SIMILARITY, cluster_rows

if TYPE_CHECKING:
    from kefu.core.state import AppState

UNANSWERED_HANDOFFS = {"low_confidence", "out_of_scope_twice"}
MAX_QUESTIONS = 2000
MAX_VARIANTS = 10

#: for one account: whether a hit is good enough to answer a customer with. The bot owns that rule and
#: installs it (kefu.bot.knowledge_rule); knowledge builds on nothing above it.
AnswerRule = Callable[[AsyncSession, int], Awaitable[Callable[[KnowledgeHit], bool]]]
ANSWER_RULE: ServiceKey[AnswerRule] = ServiceKey("the knowledge answer rule", "kefu.bot.runtime.install_bot")


def is_unanswered(payload: dict[str, Any]) -> bool:
    action = payload.get("action")
    return action == "fallback" or (action == "handoff" and payload.get("handoff_reason") in UNANSWERED_HANDOFFS)


async def list_suggestions(
    session: AsyncSession,
    state: AppState,
    account_id: int,
    *,
    days: int = 30,
    min_count: int = 2,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[SuggestionRead]:
    questions = await _unanswered(session, account_id, clock.now() - timedelta(days=days))
    if not questions:
        return []
    answers = await state.services.get(ANSWER_RULE)(session, account_id)
    texts = [m.content for m in questions]
    vectors = await asyncio.to_thread(search_backend(state).embedder.embed_queries, texts)
    groups = cluster_rows(vectors, min_similarity=min_similarity, min_size=min_count)
    out: list[SuggestionRead] = []
    for rows in groups:
        members = [questions[i] for i in rows]
        central = members[0]
        hits = await search_knowledge(state, account_id, central.content, 1, session=session, vector=vectors[rows[0]])
        if hits and answers(hits[0]):
            continue  # the knowledge base answers it now
        variants = list(dict.fromkeys(m.content.strip() for m in members[1:] if m.content.strip() != central.content))
        out.append(
            SuggestionRead(
                question=central.content.strip(),
                variants=variants[:MAX_VARIANTS],
                count=len(members),
                message_ids=sorted(m.id for m in members),
                conversation_ids=sorted({m.conversation_id for m in members}),
                last_asked_at=max(m.created_at for m in members),
                suggested_answer=await _agent_answer(session, members),
            )
        )
    return out


async def do_dismiss(session: AsyncSession, account_id: int, message_ids: list[int], actor: Actor) -> int:
    """Leave these questions out of future suggestions; returns how many were newly dismissed. Every id
    must be a customer message of this account."""
    wanted = sorted(set(message_ids))
    q = select(Message.id).where(
        Message.account_id == account_id, Message.id.in_(wanted), Message.direction == Direction.INCOMING
    )
    found = set((await session.execute(q)).scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise BadRequest(f"not customer messages of this account: {', '.join(map(str, missing))}")
    done = set(
        (
            await session.execute(
                select(DismissedQuestion.message_id).where(
                    DismissedQuestion.account_id == account_id, DismissedQuestion.message_id.in_(wanted)
                )
            )
        ).scalars()
    )
    user_id = actor.id if actor.type == ActorType.USER else None
    new = [i for i in wanted if i not in done]
    session.add_all(DismissedQuestion(account_id=account_id, message_id=i, user_id=user_id) for i in new)
    await session.commit()
    return len(new)


async def _unanswered(session: AsyncSession, account_id: int, since: datetime) -> list[Message]:
    q = (
        select(Event.payload)
        .where(Event.account_id == account_id, Event.type == str(EventType.BOT_DECIDED), Event.created_at >= since)
        .order_by(Event.id.desc())
        .limit(MAX_QUESTIONS * 5)
    )
    ids = [int(p["message_id"]) for p in (await session.execute(q)).scalars() if is_unanswered(p)]
    if not ids:
        return []
    dismissed = select(DismissedQuestion.message_id).where(DismissedQuestion.account_id == account_id)
    mq = (
        select(Message)
        .where(Message.account_id == account_id, Message.id.in_(ids[:MAX_QUESTIONS]), Message.id.not_in(dismissed))
        .order_by(Message.id)
    )
    return [m for m in (await session.execute(mq)).scalars() if m.content.strip()]


async def _agent_answer(session: AsyncSession, members: list[Message]) -> str | None:
    """The first reply an agent wrote after one of these questions, in its conversation (the earliest
    question that has one wins). One query for the whole group."""
    first_asked: dict[int, int] = {}
    for m in members:
        first_asked[m.conversation_id] = min(m.id, first_asked.get(m.conversation_id, m.id))
    q = (
        select(Message.conversation_id, Message.id, Message.content)
        .where(
            Message.conversation_id.in_(first_asked),
            Message.id > min(first_asked.values()),
            Message.sender_type == str(ActorType.USER),
            Message.kind == str(MessageKind.TEXT),
        )
        .order_by(Message.id)
    )
    replies: dict[int, tuple[int, str]] = {}  # conversation → its first reply after its first question
    for conv_id, msg_id, content in await session.execute(q):
        if conv_id not in replies and msg_id > first_asked[conv_id] and content:
            replies[conv_id] = (msg_id, content)
    if not replies:
        return None
    earliest = min(replies, key=lambda c: first_asked[c])
    return replies[earliest][1]
