"""The bot in live conversations: a `customer_message` hook (installed by `install_bot`).

For each customer message in a conversation whose bot is active (bot-enabled inbox, not handed off), one
turn (`BotRuntime.handle`):
  1. read (one short transaction): conversation, message, inbox and contact tier in one query, then the
     account's bot config and the customer's last messages — then release it (SQLite takes the write
     lock per transaction);
  2. think, outside any transaction: NLP in a worker thread (asyncio.to_thread) while the knowledge
     search runs, then the pure policy, then a flow step (with its HTTP action) when the policy says so;
  3. write: new bot_state, `bot.decided` (+ `bot.handed_off`), the bot's message, the agent's note.

What only makes the turn faster lives in kefu.bot.prefetch (`BotRuntime.prefetch`): the message's
embedding started on arrival or at the start of the read, the per-node caches of the account's bot config
and intent model (checked against a version read with the turn, so an edit or a newly trained model on
any node is loaded by the next message), and the warm-up after a start.
Messages of one conversation are handled one at a time on a node (a per-conversation lock); across nodes
the write re-reads the conversation under a row lock and drops the decision if the bot was switched off
meanwhile. See docs/bot.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.hours import hours_of
from kefu.accounts.models import Account
from kefu.accounts.service import get_outbound_policy
from kefu.bot import flows, nlu, texts
from kefu.bot.knowledge_rule import bot_answer_rule
from kefu.bot.policy import BotConfig, Context, Decision, asks_for_human, decide, handoff, summary_note
from kefu.bot.prefetch import Prefetch, start_embedding
from kefu.bot.service import AccountBot, bot_version, get_flow, get_text_overrides
from kefu.bot.texts import Overrides, Reply, TextKey
from kefu.channels.models import Inbox
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation, Message
from kefu.conversations.service import do_post_bot_message
from kefu.core import clock, metrics
from kefu.core.constants import ActorType, Direction, EventType, MessageKind
from kefu.core.errors import NotFound
from kefu.core.events import Actor, bind_bus, commit, emit
from kefu.core.http import HttpPolicy, OutboundHttp, make_http
from kefu.core.services import ServiceKey
from kefu.knowledge.suggestions import ANSWER_RULE

if TYPE_CHECKING:
    from kefu.core.state import AppState

log = logging.getLogger("kefu.bot")
BOT = Actor(ActorType.BOT)


@dataclass
class Thought:
    """Everything the bot worked out for one message (the try-it console shows all of it)."""

    analysis: nlu.Analysis
    hits: list[Any]
    decision: Decision
    flow: dict[str, Any] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


class BotRuntime:
    def __init__(self, state: AppState, http: OutboundHttp | None = None) -> None:
        self.state = state
        self.http = http or make_http(state.settings)
        self.prefetch = Prefetch(state)  # early embeddings, caches, warm-up (kefu.bot.prefetch)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    # ---- the hooks -------------------------------------------------------------------------------

    def on_arriving(self, inbox_id: int, contact_id: int, text: str) -> None:
        """Before the message is stored: maybe start its embedding (`Prefetch.on_arriving`)."""
        self.prefetch.on_arriving(inbox_id, contact_id, text)

    async def on_customer_message(self, state: AppState, conversation_id: int, message_id: int) -> None:
        if not getattr(state.settings, "bot_enabled", True):
            return
        started = time.perf_counter()
        outcome = "error"
        try:
            decision = await self.handle(conversation_id, message_id)
            outcome = decision.action if decision is not None else "skipped"
        except Exception:  # the customer's message is stored; a bot failure must not fail their request
            log.exception("bot failed on message %s of conversation %s", message_id, conversation_id)
        finally:
            metrics.bot_decided(outcome, time.perf_counter() - started)

    async def handle(self, conversation_id: int, message_id: int) -> Decision | None:
        """One turn: read the message → think (NLU ∥ knowledge search → policy → flow step) → write."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        async with lock:
            started = time.perf_counter()
            turn = await self._read(conversation_id, message_id)
            if turn is None:
                return None
            if turn.bot is None or turn.vector is None:  # handed off: no NLU, acknowledge or stay silent
                return await self._acknowledge(conversation_id, message_id, turn)
            read_ms = _ms(time.perf_counter() - started)
            thought = await self.think(turn.account_id, turn.text, turn.bot_state, turn.ctx, turn.bot, turn.vector)
            thought.timings_ms["read"] = read_ms
            thought.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 2)
            await self._write(conversation_id, message_id, thought, turn.note_language)
            self.prefetch.hint(turn.inbox_id, turn.contact_id, thought.decision.action != "handoff")
            return thought.decision

    async def _acknowledge(self, conversation_id: int, message_id: int, turn: _Turn) -> Decision:
        """A message in a handed-off conversation: the policy's rule 1 (acknowledge while no person has
        replied, at most every waiting.ACK_EVERY) on the message's language alone."""
        signals = nlu.quick_signals(turn.text)
        decision = decide(signals, turn.bot_state, BotConfig(), {}, [], turn.ctx)
        if decision.action != "acknowledge":
            return decision
        traditional = nlu.writes_traditional(turn.text)
        _render(decision, texts.locale_of(signals.language, traditional), turn.texts)
        if traditional:
            decision.text = nlu.to_traditional(decision.text)
        async with self.state.sessionmaker() as session:
            bind_bus(session, self.state.bus)
            conv = await _locked_conversation(session, conversation_id)
            if conv is None or conv.bot_state != turn.bot_state:
                await session.commit()  # changed meanwhile (acknowledged on another node, resolved, …)
                return decision
            conv.bot_state = decision.state
            _emit(session, conv, EventType.BOT_DECIDED, {**decision.to_json(), "message_id": message_id})
            await do_post_bot_message(session, conv, decision.text, meta=_message_meta(decision), jobs=self.state.jobs)
        return decision

    # ---- latency machinery (kefu.bot.prefetch) ---------------------------------------------------

    def warm_up(self, limit: int = 10) -> asyncio.Task[None]:
        """Load the NLU components and the accounts' intent models in the background (`Prefetch.warm_up`)."""
        return self.prefetch.warm_up(limit)

    async def stop(self) -> None:
        await self.prefetch.stop()

    @property
    def early_started(self) -> int:
        return self.prefetch.early_started

    @property
    def early_used(self) -> int:
        return self.prefetch.early_used

    # ---- 1. read ---------------------------------------------------------------------------------

    async def _read(self, conversation_id: int, message_id: int) -> _Turn | None:
        async with self.state.sessionmaker() as session:
            row = (await session.execute(_turn_query(conversation_id, message_id))).one_or_none()
            early = self.prefetch.take(row.content) if row is not None else None
            if row is None or row.direction != Direction.INCOMING:
                await session.commit()
                return None
            handed_off = bool(row.bot_state) and row.bot_state.get("active") is False
            active = bool(row.bot_enabled) and not handed_off
            self.prefetch.saw(row.inbox_id, row.contact_id, inbox_has_bot=bool(row.bot_enabled), active=active)
            if not row.bot_enabled:
                await session.commit()
                return None  # no bot here
            hours = hours_of(row.account_settings, row.account_timezone)
            note_language = "en" if row.account_locale == "en" else row.account_locale or "zh_CN"
            if handed_off:  # the bot only acknowledges until a person replies
                since = int((row.bot_state.get("handoff") or {}).get("message_id") or 0)
                replied = await _agent_replied(session, conversation_id, since)
                overrides = await get_text_overrides(session, row.account_id)
                await session.commit()
                ctx = Context(contact_tier=row.tier or "normal", now=clock.now(), hours=hours, agent_replied=replied)
                return _Turn(
                    row.account_id,
                    row.inbox_id,
                    row.contact_id,
                    row.content,
                    dict(row.bot_state),
                    ctx,
                    None,
                    None,
                    texts=overrides,
                )
            # the bot will think about this message: its embedding runs (unless started on arrival) while
            # the rest is read
            vector = self.prefetch.embedding(row.content, early)
            try:
                version = (row.v_settings, row.v_intents, row.v_intents_at, row.v_model, row.v_texts, row.v_texts_at)
                bot = await self.prefetch.account_bot(session, row.account_id, version)
                recent = await _recent_customer_messages(session, conversation_id)
                await session.commit()
            except BaseException:
                vector.cancel()
                raise
        ctx = Context(contact_tier=row.tier or "normal", recent_messages=recent, now=clock.now(), hours=hours)
        state = live_state(row.bot_state)
        return _Turn(row.account_id, row.inbox_id, row.contact_id, row.content, state, ctx, bot, vector, note_language)

    # ---- 2. think --------------------------------------------------------------------------------

    async def think(
        self,
        account_id: int,
        text: str,
        bot_state: dict[str, Any],
        ctx: Context,
        bot: AccountBot,
        embedding: asyncio.Future[Any] | None = None,
    ) -> Thought:
        t0 = time.perf_counter()
        model = await self.prefetch.intent_model(account_id, bot.model_id)
        # Embed the message once: the memo serves intent and sentiment, the vector serves knowledge search.
        # `embedding`: the same, already started while the turn was read.
        running = bot_state.get("flow") if bot_state.get("active") else None
        loading = asyncio.ensure_future(self._load_flow(account_id, int(running["flow_id"]))) if running else None
        vector = await (embedding or start_embedding(text))
        analysing = asyncio.ensure_future(asyncio.to_thread(nlu.analyse, text, model))
        searching = asyncio.ensure_future(self._search(account_id, text, bot_state, bot, vector))
        analysis, hits = await asyncio.gather(analysing, searching)
        loaded = await loading if loading is not None else None
        if running and loaded is not None and loaded.defn is not None:
            fstate = flows.FlowState.from_json(running)
            fills = flows.fills_slot(loaded.defn, fstate, text, analysis.signals.entities)
            ctx = dataclasses.replace(ctx, fills_slot=fills)
        t1 = time.perf_counter()
        decision = decide(analysis.signals, bot_state, bot.config, bot.intents, hits, ctx)
        flow_info = None
        if decision.action == "flow":
            decision, flow_info = await self._flow(account_id, decision, analysis, ctx, loaded)
        traditional = nlu.writes_traditional(text)
        _render(decision, texts.locale_of(analysis.signals.language, traditional), bot.texts)
        if decision.text and traditional:
            decision.text = nlu.to_traditional(decision.text)
            decision.choices = [{**c, "title": nlu.to_traditional(c["title"])} for c in decision.choices]
        t2 = time.perf_counter()
        timings = {**analysis.timings_ms, "nlu_and_search": _ms(t1 - t0), "policy_and_flow": _ms(t2 - t1)}
        return Thought(analysis, hits, decision, flow_info, timings)

    async def _search(
        self, account_id: int, text: str, bot_state: dict[str, Any], bot: AccountBot, vector: Any = None
    ) -> list[Any]:
        if not bot_state.get("active"):
            return []  # the policy will not look at knowledge
        if asks_for_human(nlu.quick_signals(text), bot.config.handoff.keywords):
            return []
        from kefu.knowledge.search_node import search_knowledge

        language = nlu.detect(text)
        query = nlu.model_text(text)  # as embedded: 繁 and 简 search alike
        return await search_knowledge(
            self.state, account_id, query, k=5, language=language if language in ("zh", "en") else None, vector=vector
        )

    async def _load_flow(self, account_id: int, flow_id: int) -> _LoadedFlow:
        async with self.state.sessionmaker() as session:
            try:
                row = await get_flow(session, account_id, flow_id)
                name, enabled, raw = row.name, row.enabled, row.definition
            except NotFound:
                name, enabled, raw = "", False, {}
            outbound = await get_outbound_policy(session, account_id)
            await session.commit()
        defn = flows.FlowDefinition.model_validate(raw) if enabled else None
        return _LoadedFlow(flow_id, name, defn, outbound)

    async def _flow(
        self, account_id: int, decision: Decision, analysis: nlu.Analysis, ctx: Context, loaded: _LoadedFlow | None
    ) -> tuple[Decision, dict[str, Any] | None]:
        assert decision.flow_id is not None
        signals = analysis.signals
        if loaded is None or loaded.flow_id != decision.flow_id:
            loaded = await self._load_flow(account_id, decision.flow_id)
        state = {k: v for k, v in decision.state.items() if k != "flow"}
        defn, name = loaded.defn, loaded.name
        if defn is None:
            return handoff(signals, state, "flow", ctx, decision.scores), {"error": "flow missing or disabled"}
        running = decision.state.get("flow")  # kept by the policy while the flow continues
        fstate = flows.FlowState.from_json(running) if running else flows.FlowState(decision.flow_id, name)
        step = flows.advance(
            defn, fstate, signals.text, signals.entities, signals.language, off_topic=signals.out_of_scope
        )
        info: dict[str, Any] = {"flow_id": fstate.flow_id, "name": name, "slots": dict(fstate.slots)}
        if isinstance(step, flows.Prompt):
            info.update(step="prompt", slot=step.slot, retry=step.retry)
            flowing = {**state, "flow": fstate.to_json()}
            if step.note is not None:  # a bot text, then the question
                gap = " " if signals.language == "en" else ""
                note = Reply(step.note, after=gap + step.text)
                return _flow_decision(decision, "flow_prompt", "", flowing, note), info
            return _flow_decision(decision, "flow_prompt", step.text, flowing), info
        if isinstance(step, flows.GiveUp):  # the flow ends; the customer is told how to go on
            info.update(step="give_up", slot=step.slot, retries=step.retries)
            text = flows.give_up_text(defn, signals.language)
            gave_up = None if text else Reply(TextKey.FLOW_GAVE_UP)
            return _flow_decision(decision, "flow_gave_up", text, state, gave_up), info
        action = defn.action
        result = await flows.run_action(self.http, action, step.slots, loaded.outbound) if action else None
        if result is not None:
            info["action"] = {
                "ok": result.ok,
                "status": result.status,
                "error": result.error,
                "message": result.message,
            }
        reply = flows.final_reply(defn, result, step.slots, signals.language)
        if reply is None:
            info["step"] = "action_failed"
            return _flow_handoff(signals, state, ctx, decision, info), info
        info["step"] = "done"
        return _flow_decision(decision, "flow_done", reply, {**state, "misses": 0}), info

    # ---- 3. write --------------------------------------------------------------------------------

    async def _write(self, conversation_id: int, message_id: int, thought: Thought, note_language: str) -> None:
        d = thought.decision
        async with self.state.sessionmaker() as session:
            bind_bus(session, self.state.bus)
            conv = await _locked_conversation(session, conversation_id)
            if conv is None or not live_state(conv.bot_state).get("active"):
                await session.commit()
                return  # handed off (or the conversation went away) while the bot was thinking
            conv.bot_state = d.state
            if d.action == "handoff":  # acknowledgements stop once a person replies after this message
                conv.bot_state = {**d.state, "handoff": {**d.state["handoff"], "message_id": message_id}}
            payload = {**d.to_json(), "message_id": message_id, "timings_ms": thought.timings_ms}
            if thought.flow is not None:
                payload["flow"] = thought.flow
            _emit(session, conv, EventType.BOT_DECIDED, payload)
            if d.action == "handoff":
                _emit(session, conv, EventType.BOT_HANDED_OFF, {"reason": d.handoff_reason, "summary": d.summary})
            if d.text:
                await do_post_bot_message(session, conv, d.text, meta=_message_meta(d), jobs=self.state.jobs)
            else:
                await commit(session)
            if d.action == "handoff" and d.summary is not None:
                note = summary_note(d.summary, note_language)
                await do_post_bot_message(session, conv, note, kind=MessageKind.NOTE, meta={"handoff": d.summary})


def live_state(bot_state: dict[str, Any]) -> dict[str, Any]:
    """The bot state of a conversation in a bot-enabled inbox. Empty means fresh: conversations.service
    clears it when a resolved conversation reopens, and the bot starts over."""
    return dict(bot_state) if bot_state else {"active": True}


@dataclass(frozen=True)
class _LoadedFlow:
    flow_id: int
    name: str
    defn: flows.FlowDefinition | None  # None: the flow is missing or disabled
    outbound: HttpPolicy  # what the account's flow actions may call


@dataclass(frozen=True)
class _Turn:
    account_id: int
    inbox_id: int
    contact_id: int
    text: str
    bot_state: dict[str, Any]
    ctx: Context
    bot: AccountBot | None  # None: handed off (the bot only acknowledges)
    vector: asyncio.Future[Any] | None  # the message's query embedding, started while the turn was read
    note_language: str = "zh_CN"  # the account's language: the plain text of handoff notes
    texts: Overrides = field(default_factory=dict)  # handed off: the account's bot texts (else in `bot`)


def _turn_query(conversation_id: int, message_id: int) -> Any:
    """One row: the conversation, the message, its inbox, the contact's tier, the account's hours and
    language, and the account's `bot_version`."""
    return (
        select(
            Conversation.bot_state,
            Conversation.account_id,
            Conversation.inbox_id,
            Conversation.contact_id,
            Inbox.bot_enabled,
            Message.content,
            Message.direction,
            Contact.tier,
            Account.settings.label("account_settings"),
            Account.timezone.label("account_timezone"),
            Account.locale.label("account_locale"),
            *bot_version(Conversation.account_id),
        )
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .join(Account, Account.id == Conversation.account_id)
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .where(Message.id == message_id, Conversation.id == conversation_id)
    )


async def _agent_replied(session: AsyncSession, conversation_id: int, after_message_id: int) -> bool:
    q = select(Message.id).where(
        Message.conversation_id == conversation_id,
        Message.id > after_message_id,
        Message.sender_type == ActorType.USER,
        Message.kind == MessageKind.TEXT,
    )
    return (await session.execute(q.limit(1))).first() is not None


async def _recent_customer_messages(session: AsyncSession, conversation_id: int, n: int = 3) -> list[str]:
    q = (
        select(Message.content)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.INCOMING)
        .order_by(Message.id.desc())
        .limit(n)
    )
    return list(reversed((await session.execute(q)).scalars().all()))


async def _locked_conversation(session: AsyncSession, conversation_id: int) -> Conversation | None:
    q = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


def _emit(session: AsyncSession, conv: Conversation, type_: EventType, payload: dict[str, Any]) -> None:
    emit(session, conv.account_id, type_, payload, actor=BOT, conversation_id=conv.id, contact_id=conv.contact_id)


def _message_meta(d: Decision) -> dict[str, Any]:
    meta: dict[str, Any] = {"bot": {"action": d.action, "reason": d.reason}}
    if d.entry is not None:
        meta["entry_kind"] = d.entry["kind"]
        meta["entry_id"] = d.entry["id"]
        meta["entry_title"] = d.entry.get("title", "")
        meta["score"] = d.score
    if d.choices:
        meta["choices"] = [{k: c[k] for k in ("kind", "id", "title")} for c in d.choices]
    if d.action == "handoff":
        meta["handoff"] = True
    return meta


def _flow_decision(
    base: Decision, reason: str, text: str, state: dict[str, Any], reply: Reply | None = None
) -> Decision:
    return Decision("flow", reason, text=text, reply=reply, flow_id=base.flow_id, scores=base.scores, state=state)


def _render(decision: Decision, locale: str, overrides: Overrides) -> None:
    """The decision's fixed reply (a key of kefu.bot.texts) as text, in the account's wording."""
    if decision.reply is not None:
        decision.text = texts.render(decision.reply, locale, overrides)


def _flow_handoff(signals: Any, state: dict[str, Any], ctx: Context, base: Decision, info: dict[str, Any]) -> Decision:
    d = handoff(signals, state, "flow", ctx, base.scores)
    assert d.summary is not None
    d.summary["flow"] = {k: info.get(k) for k in ("name", "slots", "step")}
    return d


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


BOT_RUNTIME: ServiceKey[BotRuntime] = ServiceKey("the bot runtime", "kefu.bot.runtime.install_bot (create_app)")


def install_bot(state: AppState) -> BotRuntime:
    """Build the bot on the app's one embedder and register it on the customer-message hooks. Called once,
    by create_app (a second call is an error: the hooks would run twice)."""
    nlu.use_embedder(state.embedder, fine_tune=state.settings.finetune)
    runtime = state.services.install(BOT_RUNTIME, BotRuntime(state))
    state.services.install(ANSWER_RULE, bot_answer_rule)
    state.hooks.customer_message.append(runtime.on_customer_message)
    state.hooks.customer_message_arriving.append(runtime.on_arriving)
    return runtime


def get_runtime(state: AppState) -> BotRuntime:
    """The installed bot (ServiceMissing before `install_bot`)."""
    return state.services.get(BOT_RUNTIME)
