"""kefu.bot.prefetch: the early embedding is started only where the bot is expected to answer, handed
over once, and counted; hints and early embeddings stay bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kefu.bot import prefetch
from kefu.bot.prefetch import EARLY_MAX, HINTS_MAX, Prefetch


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts whose embedding was started (the embedder itself is not the subject here)."""
    texts: list[str] = []

    def start(text: str) -> asyncio.Future[Any]:
        texts.append(text)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result([float(len(text))])
        return future

    monkeypatch.setattr(prefetch, "start_embedding", start)
    return texts


async def test_an_arriving_message_is_embedded_early_only_where_the_bot_answers(started: list[str]) -> None:
    p = Prefetch(state=None)
    p.on_arriving(1, 7, "where is my order")  # inbox never seen: no hint
    assert started == [] and p.take("where is my order") is None
    p.saw(1, 7, inbox_has_bot=True, active=False)  # handed off: the bot only acknowledges
    p.on_arriving(1, 7, "where is my order")
    assert started == []
    p.hint(1, 7, True)
    p.on_arriving(1, 7, "where is my order")
    p.on_arriving(1, 7, "where is my order")  # the same text twice: one embedding
    p.on_arriving(1, 7, "   ")  # blank: none
    p.on_arriving(1, 8, "hello")  # another contact of a bot inbox: expected active until seen otherwise
    assert started == ["where is my order", "hello"]
    assert p.early_started == 2
    p.saw(2, 7, inbox_has_bot=False, active=False)
    p.on_arriving(2, 7, "hi")
    assert started == ["where is my order", "hello"]


async def test_the_turn_takes_the_early_embedding_once_and_counts_it(started: list[str]) -> None:
    p = Prefetch(state=None)
    p.saw(1, 7, inbox_has_bot=True, active=True)
    p.on_arriving(1, 7, "refund")
    early = p.take("refund")
    assert early is not None and p.take("refund") is None
    assert await p.embedding("refund", early) == [6.0]
    assert (p.early_started, p.early_used) == (1, 1)
    assert await p.embedding("other", None) == [5.0]  # none early: started now, not counted as used
    assert (p.early_used, started) == (1, ["refund", "other"])


async def test_hints_and_early_embeddings_are_bounded(started: list[str]) -> None:
    p = Prefetch(state=None)
    p.saw(1, 0, inbox_has_bot=True, active=True)
    for i in range(EARLY_MAX + 3):
        p.on_arriving(1, 0, f"message {i}")
    assert p.take("message 0") is None and p.take(f"message {EARLY_MAX + 2}") is not None
    for contact in range(HINTS_MAX + 1):
        p.hint(1, contact, False)
    assert len(p._contact_has_bot) == HINTS_MAX and (1, 0) not in p._contact_has_bot


async def test_no_intent_model_is_loaded_for_an_account_without_one() -> None:
    assert await Prefetch(state=None).intent_model(1, None) is None
