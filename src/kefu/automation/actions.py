"""What a rule's actions do, each through the owning domain's service, inside the listener's transaction
(nothing here commits: the run, its events and the cursor commit together)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import TeamMember
from kefu.auth.models import User
from kefu.automation.context import Subject
from kefu.automation.evaluator import raised, render
from kefu.automation.models import AutomationRule
from kefu.automation.schemas import ActionResult, ActionType
from kefu.conversations import outbound
from kefu.conversations import service as conversations
from kefu.core.constants import EventType, Role
from kefu.core.events import Actor, account_topic, emit
from kefu.core.listeners import listener_context
from kefu.tickets.service import do_create_ticket

log = logging.getLogger("kefu.automation")
NOTIFY_TYPE = "automation.notify"  # realtime only (agent sockets), never stored
_PENDING_NOTICES = "kefu_automation_notices"
_HOOKED = "kefu_automation_hooked"
_TASKS: set[asyncio.Task[None]] = set()


@dataclass
class Run:
    session: AsyncSession
    rule: AutomationRule
    subject: Subject
    actor: Actor


Executor = Callable[[Run, dict[str, Any]], Awaitable[ActionResult]]


def _no_conversation(kind: str) -> ActionResult:
    return ActionResult(action=kind, ok=False, detail="skipped: the event has no conversation")


async def _assign_team(run: Run, action: dict[str, Any]) -> ActionResult:
    conv = run.subject.conversation
    if conv is None:
        return _no_conversation(action["type"])
    await conversations.do_update_conversation(
        run.session, conv.account_id, conv.id, {"team_id": action["team_id"]}, run.actor, commit_now=False
    )
    return ActionResult(action=action["type"], ok=True, detail=f"team {action['team_id']}")


async def _assign_agent(run: Run, action: dict[str, Any]) -> ActionResult:
    conv = run.subject.conversation
    if conv is None:
        return _no_conversation(action["type"])
    await conversations.do_assign(run.session, conv.account_id, conv.id, action["user_id"], run.actor, commit_now=False)
    return ActionResult(action=action["type"], ok=True, detail=f"agent {action['user_id']}")


async def _change_priority(run: Run, priority: str, kind: str) -> ActionResult:
    conv = run.subject.conversation
    if conv is None:
        return _no_conversation(kind)
    previous = conv.priority
    if previous == priority:
        return ActionResult(action=kind, ok=True, detail=f"priority already {priority}")
    reasons = [*(conv.priority_reasons or []), f"rule:{run.rule.id}"]
    await conversations.do_update_conversation(
        run.session,
        conv.account_id,
        conv.id,
        {"priority": priority, "priority_reasons": reasons},
        run.actor,
        commit_now=False,
    )
    payload = {"id": conv.id, "priority": priority, "previous": previous, "reasons": reasons}
    emit(
        run.session,
        conv.account_id,
        EventType.CONVERSATION_PRIORITY_CHANGED,
        payload,
        actor=run.actor,
        conversation_id=conv.id,
        contact_id=conv.contact_id,
    )
    return ActionResult(action=kind, ok=True, detail=f"priority {previous} → {priority}")


async def _set_priority(run: Run, action: dict[str, Any]) -> ActionResult:
    return await _change_priority(run, str(action["priority"]), action["type"])


async def _add_label(run: Run, action: dict[str, Any]) -> ActionResult:
    conv = run.subject.conversation
    if conv is None:
        return _no_conversation(action["type"])
    await conversations.do_set_labels(
        run.session, conv.account_id, conv.id, [action["label"]], run.actor, mode="add", commit_now=False
    )
    return ActionResult(action=action["type"], ok=True, detail=f"label {action['label']}")


async def _send_reply(run: Run, action: dict[str, Any]) -> ActionResult:
    conv = run.subject.conversation
    if conv is None:
        return _no_conversation(action["type"])
    text = render(action["text"], run.subject.context)
    msg = await conversations.do_post_bot_message(
        run.session, conv, text, meta={"rule_id": run.rule.id}, commit_now=False
    )
    _after_commit(run.session, _deliver(msg))
    return ActionResult(action=action["type"], ok=True, detail=f"reply {msg.id}")


async def _create_ticket(run: Run, action: dict[str, Any]) -> ActionResult:
    conv = run.subject.conversation
    contact = run.subject.contact
    ticket = await do_create_ticket(
        run.session,
        run.rule.account_id,
        subject=render(action["subject"], run.subject.context),
        actor=run.actor,
        conversation_id=conv.id if conv is not None else None,
        contact_id=contact.id if contact is not None else None,
        priority=action.get("priority"),
        commit=False,
    )
    return ActionResult(action=action["type"], ok=True, detail=f"ticket {ticket.id}")


async def _supervisors(session: AsyncSession, account_id: int) -> list[int]:
    q = select(User.id).where(
        User.account_id == account_id, User.is_active.is_(True), User.role.in_([Role.SUPERVISOR, Role.ADMIN])
    )
    return sorted(int(i) for i in (await session.execute(q)).scalars())


async def _escalate(run: Run, action: dict[str, Any]) -> ActionResult:
    conv = run.subject.conversation
    if conv is None:
        return _no_conversation(action["type"])
    result = await _change_priority(run, raised(conv.priority), action["type"])
    users = await _supervisors(run.session, conv.account_id)
    text = render(action.get("text") or "", run.subject.context) or f"escalated: {result.detail}"
    await _notice(run, users, text)
    return ActionResult(action=action["type"], ok=True, detail=f"{result.detail}; notified {len(users)} supervisors")


async def _notify(run: Run, action: dict[str, Any]) -> ActionResult:
    users = set(action.get("user_ids") or [])
    if action.get("team_id"):
        q = select(TeamMember.user_id).where(
            TeamMember.team_id == action["team_id"], TeamMember.account_id == run.rule.account_id
        )
        users.update(int(i) for i in (await run.session.execute(q)).scalars())
    text = render(action["text"], run.subject.context)
    await _notice(run, sorted(users), text)
    return ActionResult(action=action["type"], ok=True, detail=f"notified {len(users)} users")


async def _notice(run: Run, user_ids: list[int], text: str) -> None:
    """A realtime message to the users (after the commit) and a note on the conversation, if there is one."""
    conv = run.subject.conversation
    if conv is not None:
        await conversations.do_add_system_note(
            run.session, conv, text, meta={"rule_id": run.rule.id, "notify": user_ids}
        )
    message = {
        "type": NOTIFY_TYPE,
        "id": None,
        "account_id": run.rule.account_id,
        "user_ids": user_ids,
        "conversation_id": conv.id if conv is not None else None,
        "rule_id": run.rule.id,
        "text": text,
    }
    _after_commit(run.session, _publish(account_topic(run.rule.account_id), message))


EXECUTORS: dict[str, Executor] = {
    ActionType.ASSIGN_TEAM: _assign_team,
    ActionType.ASSIGN_AGENT: _assign_agent,
    ActionType.SET_PRIORITY: _set_priority,
    ActionType.ADD_LABEL: _add_label,
    ActionType.SEND_REPLY: _send_reply,
    ActionType.CREATE_TICKET: _create_ticket,
    ActionType.ESCALATE: _escalate,
    ActionType.NOTIFY: _notify,
}


async def run_action(run: Run, action: dict[str, Any]) -> ActionResult:
    executor = EXECUTORS.get(str(action.get("type")))
    if executor is None:
        return ActionResult(action=str(action.get("type")), ok=False, detail="unknown action")
    return await executor(run, action)


# ---- after the commit: realtime notices and reply delivery ------------------------------------------

AfterCommit = Callable[[], Awaitable[None]]


def _publish(topic: str, message: dict[str, Any]) -> AfterCommit:
    ctx = listener_context()

    async def go() -> None:
        if ctx is not None:
            await ctx.bus.publish(topic, message)

    return go


def _deliver(msg: Any) -> AfterCommit:
    ctx = listener_context()

    async def go() -> None:
        await outbound.enqueue_delivery(ctx.runner if ctx is not None else None, msg)

    return go


def pending_steps(session: AsyncSession) -> int:
    return len(session.sync_session.info.get(_PENDING_NOTICES) or [])


def forget_steps_after(session: AsyncSession, count: int) -> None:
    """Drop the steps added after the first `count` (their action's savepoint was rolled back)."""
    pending = session.sync_session.info.get(_PENDING_NOTICES)
    if pending is not None:
        del pending[count:]


def _after_commit(session: AsyncSession, step: AfterCommit) -> None:
    """Run `step` once the session's transaction commits (dropped when it rolls back)."""
    sync = session.sync_session
    pending: list[AfterCommit] | None = sync.info.get(_PENDING_NOTICES)
    if pending is None:
        pending = sync.info[_PENDING_NOTICES] = []
    if not sync.info.get(_HOOKED):
        sync.info[_HOOKED] = True
        loop = asyncio.get_running_loop()

        def committed(_: Any) -> None:
            if sync.in_nested_transaction():
                return  # a savepoint was released: the transaction goes on
            steps = sync.info.pop(_PENDING_NOTICES, [])
            if steps:
                task = loop.create_task(_run_steps(steps))
                _TASKS.add(task)
                task.add_done_callback(_TASKS.discard)

        def rolled_back(_: Any) -> None:
            if not sync.in_nested_transaction():  # a savepoint's steps are dropped by runner._one
                sync.info.pop(_PENDING_NOTICES, None)

        sa_event.listen(sync, "after_commit", committed)
        sa_event.listen(sync, "after_rollback", rolled_back)
    pending.append(step)


async def _run_steps(steps: list[AfterCommit]) -> None:
    for step in steps:
        try:
            await step()
        except Exception:  # a lost notice or a late delivery start must not stop the others
            log.exception("automation: an after-commit step failed")
