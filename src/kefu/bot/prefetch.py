"""What makes the bot's turn fast, kept apart from what the turn does (kefu.bot.runtime):

- an early embedding: the hook `on_arriving` runs before a customer message is stored; when this node
  expects the bot to answer it (hints learnt from the messages it handled: the inbox has the bot, the
  contact's conversation was not handed off), the message's query embedding starts in a worker thread
  and the turn picks it up (`take`, `embedding`) — a wrong hint costs time only;
- per-node caches of each account's bot config (keyed by `service.bot_version`, read with the turn, so an
  edit on any node is seen by the next message) and of its trained intent model (keyed by the model id);
- a warm-up after a start: the NLU components and the intent models of accounts with a bot are loaded in
  the background, before the first customer message would wait for them.

None of it is truth: every cache is checked against what the turn reads from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.bot import nlu
from kefu.bot.service import AccountBot, get_model_blob, load_account_bot
from kefu.channels.models import Inbox

if TYPE_CHECKING:
    from kefu.core.state import AppState

log = logging.getLogger("kefu.bot")
EARLY_MAX = 64  # embeddings started on arrival and not yet used
HINTS_MAX = 10_000


def start_embedding(text: str) -> asyncio.Future[Any]:
    """The message's query embedding (as the bot's NLU and knowledge search read it), in a worker thread."""
    return asyncio.ensure_future(asyncio.to_thread(nlu.queries().vector, nlu.model_text(text)))


class Prefetch:
    def __init__(self, state: AppState) -> None:
        self.state = state  # the app's state: its sessionmaker
        self._models: dict[int, tuple[int, Any]] = {}  # account → (model id, model)
        self._bots: dict[int, tuple[tuple[Any, ...], AccountBot]] = {}  # account → (bot_version, config)
        self._inbox_has_bot: dict[int, bool] = {}
        self._contact_has_bot: OrderedDict[tuple[int, int], bool] = OrderedDict()  # (inbox, contact) → active
        self._early: OrderedDict[str, asyncio.Future[Any]] = OrderedDict()  # text → its embedding, started early
        self.early_started = self.early_used = 0
        self._warming: asyncio.Task[None] | None = None

    # ---- early embeddings ------------------------------------------------------------------------

    def on_arriving(self, inbox_id: int, contact_id: int, text: str) -> None:
        """Before the message is stored: when this node expects the bot to answer it, start its embedding
        now, so it runs while the message is stored and the turn is read."""
        if not self._inbox_has_bot.get(inbox_id) or not self._contact_has_bot.get((inbox_id, contact_id), True):
            return
        if text in self._early or not text.strip():
            return
        self._early[text] = start_embedding(text)
        self.early_started += 1
        while len(self._early) > EARLY_MAX:
            self._early.popitem(last=False)

    def take(self, text: str) -> asyncio.Future[Any] | None:
        """The embedding started on arrival for this text, if any (handed over once)."""
        return self._early.pop(text, None)

    def embedding(self, text: str, early: asyncio.Future[Any] | None) -> asyncio.Future[Any]:
        """The embedding the bot will think with: the early one, else one started now."""
        self.early_used += early is not None
        return early or start_embedding(text)

    def saw(self, inbox_id: int, contact_id: int, *, inbox_has_bot: bool, active: bool) -> None:
        """What a turn read: whether the inbox has the bot and the bot is active in the contact's conversation."""
        self._inbox_has_bot[inbox_id] = inbox_has_bot
        self.hint(inbox_id, contact_id, active)

    def hint(self, inbox_id: int, contact_id: int, active: bool) -> None:
        key = (inbox_id, contact_id)
        self._contact_has_bot[key] = active
        self._contact_has_bot.move_to_end(key)
        while len(self._contact_has_bot) > HINTS_MAX:
            self._contact_has_bot.popitem(last=False)

    # ---- caches ----------------------------------------------------------------------------------

    async def account_bot(self, session: AsyncSession, account_id: int, version: tuple[Any, ...]) -> AccountBot:
        """The account's bot config, loaded again when its `bot_version` changed."""
        cached = self._bots.get(account_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        bot = await load_account_bot(session, account_id)
        self._bots[account_id] = (version, bot)
        return bot

    async def intent_model(self, account_id: int, model_id: int | None) -> Any:
        """The account's trained intent model (None: none trained, or it cannot be loaded)."""
        if model_id is None:
            return None
        cached = self._models.get(account_id)
        if cached is not None and cached[0] == model_id:
            return cached[1]
        async with self.state.sessionmaker() as session:
            blob = await get_model_blob(session, model_id)
            await session.commit()
        if blob is None:
            return None
        try:
            model = await asyncio.to_thread(nlu.load_intent_model, blob)
        except Exception:
            log.exception("intent model %s of account %s cannot be loaded; retrain it", model_id, account_id)
            return None
        self._models[account_id] = (model_id, model)
        return model

    # ---- warm-up ---------------------------------------------------------------------------------

    def warm_up(self, limit: int = 10) -> asyncio.Task[None]:
        """Load, in the background, what the first customer message after a start would otherwise wait
        for: the NLU components (tokeniser, converter, sentiment model, the embedder) and the trained
        intent models of the accounts with bot-enabled inboxes."""
        task = asyncio.ensure_future(self._warm_up(limit))
        self._warming = task
        return task

    async def stop(self) -> None:
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming

    async def _warm_up(self, limit: int) -> None:
        try:
            async with self.state.sessionmaker() as session:
                q = select(Inbox.account_id).where(Inbox.bot_enabled.is_(True)).distinct().limit(limit)
                accounts = list((await session.execute(q)).scalars())
                bots = {a: await load_account_bot(session, a) for a in accounts}
                await session.commit()
            started = time.perf_counter()
            await asyncio.to_thread(nlu.analyse, "你好，我想查一下订单 hello")
            for account_id, bot in bots.items():
                await self.intent_model(account_id, bot.model_id)
            log.info("bot warmed for %d accounts in %.1f s", len(bots), time.perf_counter() - started)
        except Exception:  # a warm-up failure only means the first message pays for the loading
            log.exception("bot warm-up failed")
