"""Runs the enabled rules of an event's account in order (the durable listener calls `run_rules`).

Loop protection: every event a rule's actions write is recorded in `automation_event_causes` with the chain
of rule ids that led to it. A rule never runs on an event its own actions caused (directly or further down
the chain), and nothing runs on an event at the end of a chain of `MAX_DEPTH` rules. Each action runs in a
savepoint: one that fails is undone and reported, the others stand. Each run is logged (`RuleRun`), noted on
the conversation's timeline, and announced with `automation.rule_ran`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.automation import actions as acts
from kefu.automation.context import Subject, load_subject
from kefu.automation.evaluator import Condition, matches
from kefu.automation.models import AutomationRule, EventCause, RuleRun
from kefu.automation.schemas import ActionResult, RunOutcome
from kefu.automation.service import list_enabled_rules
from kefu.conversations.service import do_add_system_note
from kefu.core.constants import EventType
from kefu.core.events import Actor, emit, forget_events_after, recorded_events
from kefu.core.listeners import ListenedEvent

MAX_DEPTH = 3  # rules in a chain: a rule's action may trigger a rule, whose action may trigger a third
MAX_ERROR = 300


async def run_rules(session: AsyncSession, event: ListenedEvent) -> list[RuleRun]:
    rules = [
        r for r in await list_enabled_rules(session, event.account_id, event.type) if r.created_at <= event.created_at
    ]
    if not rules:
        return []
    cause = await session.get(EventCause, event.id)
    chain = list(cause.rule_ids) if cause is not None else []
    subject = await load_subject(session, event)
    runs = []
    for rule in rules:
        conditions = [Condition(c["field"], c["op"], c.get("value")) for c in rule.conditions]
        if not matches(rule.match, conditions, subject.context):
            continue
        if rule.id in chain or len(chain) >= MAX_DEPTH:
            why = "its own actions caused this event" if rule.id in chain else f"chain of {MAX_DEPTH} rules reached"
            runs.append(_log(session, rule, event, subject, RunOutcome.SKIPPED, [_skip(why)]))
            continue
        runs.append(await _run(session, rule, event, subject, chain))
    return runs


def _skip(why: str) -> ActionResult:
    return ActionResult(action="-", ok=False, detail=f"skipped: {why}")


async def _run(
    session: AsyncSession, rule: AutomationRule, event: ListenedEvent, subject: Subject, chain: list[int]
) -> RuleRun:
    before = len(recorded_events(session))
    run = acts.Run(session, rule, subject, Actor.system())
    results = [await _one(run, action) for action in rule.actions]
    done = [r for r in results if r.ok]
    if subject.conversation is not None:
        summary = "; ".join(f"{r.action}: {r.detail}" for r in results)
        await do_add_system_note(session, subject.conversation, f"⚙ {rule.name} — {summary}", meta={"rule_id": rule.id})
    outcome = RunOutcome.RAN if len(done) == len(results) else RunOutcome.PARTIAL
    log = _log(session, rule, event, subject, outcome, results)
    emit(
        session,
        event.account_id,
        EventType.AUTOMATION_RULE_RAN,
        {"rule_id": rule.id, "event_id": event.id, "actions": [r.action for r in done]},
        actor=run.actor,
        conversation_id=subject.conversation.id if subject.conversation is not None else None,
        contact_id=subject.contact.id if subject.contact is not None else None,
    )
    await session.flush()
    for caused in recorded_events(session)[before:]:
        session.add(EventCause(event_id=caused.id, account_id=event.account_id, rule_ids=[*chain, rule.id]))
    await session.flush()
    return log


async def _one(run: acts.Run, action: dict[str, object]) -> ActionResult:
    """One action in a savepoint: undone, with its events and after-commit steps, when it fails."""
    events = len(recorded_events(run.session))
    steps = acts.pending_steps(run.session)
    try:
        async with run.session.begin_nested():
            return await acts.run_action(run, dict(action))
    except Exception as exc:  # reported in the run log; the rule's other actions stand
        forget_events_after(run.session, events)
        acts.forget_steps_after(run.session, steps)
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return ActionResult(action=str(action.get("type")), ok=False, detail=f"failed: {message}"[:MAX_ERROR])


def _log(
    session: AsyncSession,
    rule: AutomationRule,
    event: ListenedEvent,
    subject: Subject,
    outcome: RunOutcome,
    results: list[ActionResult],
) -> RuleRun:
    run = RuleRun(
        account_id=event.account_id,
        rule_id=rule.id,
        event_id=event.id,
        event_type=event.type,
        conversation_id=subject.conversation.id if subject.conversation is not None else None,
        outcome=str(outcome),
        results=[r.model_dump() for r in results],
    )
    session.add(run)
    return run
