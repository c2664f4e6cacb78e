"""Queue entry and exit through the durable listeners (routing.queue, routing.nudge), on both databases: a
customer's message where no bot answers queues the conversation, a bot handoff queues it with the intent's
skill, an assignment or a resolution ends the wait; the nudge runs the assigner in the job runner."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.accounts.models import Account
from kefu.channels.models import Inbox
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ContactMessageCreate
from kefu.conversations.service import check_receive_contact_message, do_assign, do_change_status
from kefu.core.bus import InProcessBus
from kefu.core.constants import ActorType, ConversationStatus, EventType
from kefu.core.eventlog import Event
from kefu.core.events import Actor, commit, emit
from kefu.core.jobs import InProcessRunner, JobContext
from kefu.core.listeners import Dispatcher, ListenerRegistry
from kefu.routing import listeners, tasks
from kefu.routing.models import QueueEntry, SkillRequirement
from tests.conversations.test_query_counts import listeners_idle
from tests.routing import rows
from tests.support.factories import World, uniq

SM = async_sessionmaker[AsyncSession]


async def _dispatcher(sm: SM, context: JobContext | None = None) -> Dispatcher:
    """The routing listeners under names of this test (a cursor of their own), started at the newest event."""
    registry = ListenerRegistry()
    registry.listener(uniq("routing.queue."), events={*_events(listeners.track_queue)}, start="latest")(
        listeners.track_queue
    )
    registry.listener(uniq("routing.nudge."), events={*_events(listeners.nudge_assigner)}, start="latest")(
        listeners.nudge_assigner
    )
    dispatcher = Dispatcher(sm, registry, gap_grace_s=0, context=context)
    await dispatcher.run_once()
    return dispatcher


def _events(handler: object) -> set[str]:
    from kefu.core.listeners import LISTENERS

    return next(set(spec.events) for spec in LISTENERS if spec.handler is handler)


async def _say(sm: SM, inbox_id: int, contact_id: int, text: str = "hello") -> int:
    async with sm() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        conv, _ = await check_receive_contact_message(
            session, inbox, contact_id, ContactMessageCreate(content=text, client_message_id=uniq("m")), max_chars=5000
        )
        return conv.id


async def _conv(sm: SM, conv_id: int) -> tuple[Conversation, QueueEntry | None]:
    async with sm() as session:
        conv = await session.get(Conversation, conv_id)
        entry = await session.get(QueueEntry, conv_id)
        assert conv is not None
        return conv, entry


async def _requirement(sm: SM, account_id: int, kind: str, value: str, skill_id: int) -> None:
    async with sm() as session:
        session.add(SkillRequirement(account_id=account_id, kind=kind, value=value, skill_id=skill_id))
        await session.commit()


async def _queued_events(sm: SM, conv_id: int) -> list[dict[str, object]]:
    async with sm() as session:
        q = select(Event.payload).where(Event.conversation_id == conv_id, Event.type == EventType.CONVERSATION_QUEUED)
        return list((await session.execute(q.order_by(Event.id))).scalars())


async def test_a_message_where_no_bot_answers_queues_it(sessionmaker: SM, account_id: int) -> None:
    sk = await rows.skills(sessionmaker, account_id, ["wechat"])
    inbox = await rows.inbox(sessionmaker, account_id)
    await _requirement(sessionmaker, account_id, "inbox", str(inbox), sk["wechat"])
    dispatcher = await _dispatcher(sessionmaker)
    conv_id = await _say(sessionmaker, inbox, await rows.contact(sessionmaker, account_id))

    await dispatcher.run_once()

    conv, entry = await _conv(sessionmaker, conv_id)
    assert conv.waiting_since is not None
    assert entry is not None
    assert (entry.reason, entry.required_skills, entry.intent) == ("no_bot", ["wechat"], None)
    assert await _queued_events(sessionmaker, conv_id) == [
        {"id": conv_id, "priority": "p3", "team_id": None, "reason": "no_bot"}
    ]
    # a second message while it waits changes nothing
    since = conv.waiting_since
    await _say(sessionmaker, inbox, conv.contact_id, "still there?")
    await dispatcher.run_once()
    conv, _ = await _conv(sessionmaker, conv_id)
    assert conv.waiting_since == since
    assert len(await _queued_events(sessionmaker, conv_id)) == 1


async def test_the_bot_answers_until_it_hands_off(sessionmaker: SM, account_id: int) -> None:
    sk = await rows.skills(sessionmaker, account_id, ["refunds"])
    await _requirement(sessionmaker, account_id, "intent", "refund", sk["refunds"])
    inbox = await rows.inbox(sessionmaker, account_id, bot=True)
    dispatcher = await _dispatcher(sessionmaker)
    conv_id = await _say(sessionmaker, inbox, await rows.contact(sessionmaker, account_id))
    await dispatcher.run_once()
    conv, entry = await _conv(sessionmaker, conv_id)
    assert conv.waiting_since is None and entry is None  # the bot is active here

    async with sessionmaker() as session:  # what bot/runtime.py writes on a handoff
        row = await session.get(Conversation, conv_id)
        assert row is not None
        row.bot_state = {"active": False}
        emit(
            session,
            account_id,
            EventType.BOT_HANDED_OFF,
            {"reason": "intent", "summary": {"intent": "refund"}},
            actor=Actor(ActorType.BOT),
            conversation_id=conv_id,
            contact_id=row.contact_id,
        )
        await commit(session)
    await dispatcher.run_once()

    conv, entry = await _conv(sessionmaker, conv_id)
    assert conv.waiting_since is not None
    assert entry is not None
    assert (entry.reason, entry.intent, entry.required_skills) == ("handoff", "refund", ["refunds"])


async def test_a_late_handoff_sets_the_intent_of_a_waiting_conversation(sessionmaker: SM, account_id: int) -> None:
    """The customer's message may be read after the bot already handed off: it queues the conversation as
    no_bot, and the handoff that follows still brings its intent's skill."""
    sk = await rows.skills(sessionmaker, account_id, ["refunds"])
    await _requirement(sessionmaker, account_id, "intent", "refund", sk["refunds"])
    inbox = await rows.inbox(sessionmaker, account_id, bot=True)
    dispatcher = await _dispatcher(sessionmaker)
    conv_id = await _say(sessionmaker, inbox, await rows.contact(sessionmaker, account_id))
    async with sessionmaker() as session:
        row = await session.get(Conversation, conv_id)
        assert row is not None
        row.bot_state = {"active": False}
        emit(
            session,
            account_id,
            EventType.BOT_HANDED_OFF,
            {"reason": "intent", "summary": {"intent": "refund"}},
            actor=Actor(ActorType.BOT),
            conversation_id=conv_id,
            contact_id=row.contact_id,
        )
        await commit(session)
    await dispatcher.run_once()  # message.created (bot no longer active: no_bot), then bot.handed_off

    conv, entry = await _conv(sessionmaker, conv_id)
    assert conv.waiting_since is not None
    assert entry is not None
    assert (entry.reason, entry.intent, entry.required_skills) == ("handoff", "refund", ["refunds"])
    assert len(await _queued_events(sessionmaker, conv_id)) == 1


async def test_assignment_and_resolution_end_the_wait(sessionmaker: SM, account_id: int) -> None:
    inbox = await rows.inbox(sessionmaker, account_id)
    agent = await rows.agent(sessionmaker, account_id, presence="away")
    dispatcher = await _dispatcher(sessionmaker)
    first = await _say(sessionmaker, inbox, await rows.contact(sessionmaker, account_id))
    second = await _say(sessionmaker, inbox, await rows.contact(sessionmaker, account_id))
    await dispatcher.run_once()
    assert (await _conv(sessionmaker, first))[0].waiting_since is not None

    async with sessionmaker() as session:
        await do_assign(session, account_id, first, agent, Actor(ActorType.USER, agent))
    async with sessionmaker() as session:
        await do_change_status(
            session, account_id, second, ConversationStatus.RESOLVED, None, Actor(ActorType.USER, agent)
        )
    await dispatcher.run_once()

    assert (await _conv(sessionmaker, first))[0].waiting_since is None
    assert (await _conv(sessionmaker, second))[0].waiting_since is None


async def _auto_assign(sm: SM, account_id: int, on: bool) -> None:
    async with sm() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        account.settings = {"routing": {"auto_assign": on}}
        await session.commit()


async def test_the_assign_job_respects_automatic_assignment_off(sessionmaker: SM, account_id: int) -> None:
    inbox = await rows.inbox(sessionmaker, account_id)
    agent = await rows.agent(sessionmaker, account_id)
    conv_id = await rows.waiting(sessionmaker, account_id, inbox)
    ctx = JobContext(sessionmaker, InProcessBus(), settings=None)  # type: ignore[arg-type]
    assert await tasks.assign(ctx, account_id) == 0  # the fixture's account has it off
    assert (await _conv(sessionmaker, conv_id))[0].assignee_id is None
    assert await tasks.assign(ctx, account_id, force=True) == 1  # a supervisor's "Assign now"
    assert (await _conv(sessionmaker, conv_id))[0].assignee_id == agent


async def test_the_nudge_runs_the_assigner(sessionmaker: SM, account_id: int) -> None:
    await _auto_assign(sessionmaker, account_id, True)
    inbox = await rows.inbox(sessionmaker, account_id)
    agent = await rows.agent(sessionmaker, account_id)
    assert tasks.ASSIGN_JOB == listeners.ASSIGN_JOB  # the job module is imported: routing.assign is registered
    runner = InProcessRunner(run_periodic=False)
    await runner.start(JobContext(sessionmaker, InProcessBus(), settings=None))  # type: ignore[arg-type]
    try:
        dispatcher = await _dispatcher(sessionmaker, runner._ctx)
        conv_id = await _say(sessionmaker, inbox, await rows.contact(sessionmaker, account_id))
        await dispatcher.run_once()  # queues it
        await dispatcher.run_once()  # conversation.queued → routing.assign
        for _ in range(300):
            conv, entry = await _conv(sessionmaker, conv_id)
            if conv.assignee_id is not None:
                break
            await asyncio.sleep(0.05)
        assert conv.assignee_id == agent
        assert conv.waiting_since is None
        assert entry is not None and entry.assigned_reason == "skills"
    finally:
        await runner.stop()


async def _listening(api: World, name: str) -> None:
    from kefu.core.listeners_models import ListenerCursor

    for _ in range(300):
        async with api.server.state.sessionmaker() as session:
            if await session.get(ListenerCursor, name) is not None:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"listener {name} never ran")


async def test_a_priority_set_by_a_rule_stands_when_the_conversation_queues(api: World) -> None:
    name = uniq("Rule ")
    cond = [
        {"field": "contact.name", "op": "eq", "value": name},
        {"field": "message.direction", "op": "eq", "value": "incoming"},
    ]
    r = await api.http.post(
        "/api/v1/automation/rules",
        json={
            "name": "P1 for this customer",
            "event_type": "message.created",
            "conditions": cond,
            "actions": [{"type": "set_priority", "priority": "p1"}],
        },
    )
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    await _listening(api, "routing.queue")  # a listener that starts at the newest event must exist first
    visitor = await api.visitor(await api.inbox(), name=name)
    conv_id = (await visitor.say("hello"))["conversation_id"]
    params = {"type": "conversation.queued", "conversation_id": conv_id}
    for _ in range(300):  # whichever listener runs first, the conversation queues and the rule sets p1
        if (await api.http.get("/api/v1/events", params=params)).json():
            break
        await asyncio.sleep(0.1)
    await listeners_idle(api)
    every = (await api.http.get("/api/v1/events", params={"conversation_id": conv_id})).json()
    assert len((await api.http.get("/api/v1/events", params=params)).json()) == 1, [e["type"] for e in every]
    conv = (await api.http.get(f"/api/v1/conversations/{conv_id}")).json()
    assert (conv["priority"], conv["priority_reasons"][-1]) == ("p1", f"rule:{rule_id}")
