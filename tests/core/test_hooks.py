"""Customer-message hooks: the sender waits at most a bounded time; one failing hook does not stop others."""

from __future__ import annotations

import asyncio
import time

from kefu.core.hooks import Hooks


async def test_a_slow_hook_does_not_hold_the_sender_and_still_finishes() -> None:
    hooks, done = Hooks(), asyncio.Event()

    async def slow(state: object, conversation_id: int, message_id: int) -> None:
        await asyncio.sleep(0.5)
        done.set()

    hooks.customer_message.append(slow)
    started = time.perf_counter()
    await hooks.dispatch_customer_message(None, 1, 2, wait_s=0.05)
    assert time.perf_counter() - started < 0.3 and not done.is_set()
    await hooks.drain()
    assert done.is_set()


async def test_a_fast_hook_has_finished_when_dispatch_returns_and_failures_are_contained() -> None:
    hooks, seen = Hooks(), []

    async def broken(state: object, conversation_id: int, message_id: int) -> None:
        raise RuntimeError("boom")

    async def record(state: object, conversation_id: int, message_id: int) -> None:
        seen.append((conversation_id, message_id))

    hooks.customer_message += [broken, record]
    await hooks.dispatch_customer_message(None, 7, 9)
    assert seen == [(7, 9)]
